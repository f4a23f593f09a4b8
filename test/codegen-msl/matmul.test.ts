// Matmul kernels: the structure recognized in kernel IR, the three schedules (naive, simdgroup
// tiles, register blocks) and their launch facts, and every schedule run on the host (simdgroup
// tiles with their threads resumed first to last and last to first) against the kernel-IR
// interpreter, over shapes around the tile sizes, batches, transposed operands and outputs,
// bias, relu and gelu epilogues, float16 and int32.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitKernel, emitProgram, type EmitOptions, MSL } from "../../src/codegen-msl/index.js";
import { matmulPlan } from "../../src/codegen-msl/matmul.js";
import {
  CompileError,
  type DType,
  interpretProgram,
  isFloat,
  type Kernel,
  parseFunc,
  type Program,
  roundTo,
  SHORT_NAME,
  type Tensor,
  tensor,
} from "../../src/ir/index.js";
import { fuse } from "../../src/passes/fuse.js";
import { buildHostLibrary, findClang, hostAddon, type HostCase, programText, runOnHost, tempDir } from "./support/host.js";

const clang = findClang();
if (!clang) console.log("test/codegen-msl/matmul.test.ts: run tests skipped, clang-19 not found (CI installs it)");

type Epilogue = "none" | "bias" | "relu" | "gelu";

interface Spec {
  readonly batch: readonly number[];
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly dtype: DType;
  /** The operand is stored transposed and transposed back in the graph (a strided view). */
  readonly transA: boolean;
  readonly transB: boolean;
  /** The result is stored transposed: the grid is (batch, n, m). */
  readonly transOut: boolean;
  readonly epilogue: Epilogue;
}

/** Graph IR of one matmul with its operands' layouts and epilogue. */
function matmulText(s: Spec): string {
  const t = SHORT_NAME[s.dtype];
  const ty = (shape: readonly number[]) => `${t}[${shape.join(",")}]`;
  const r = s.batch.length;
  const swapLast = [...s.batch.map((_, i) => i), r + 1, r].join(", ");
  const out = [...s.batch, s.m, s.n];
  const params = [
    `%a: ${ty(s.transA ? [...s.batch, s.k, s.m] : [...s.batch, s.m, s.k])}`,
    `%b: ${ty(s.transB ? [...s.batch, s.n, s.k] : [...s.batch, s.k, s.n])}`,
  ];
  const lines: string[] = [];
  const scalar = (name: string, v: number) =>
    lines.push(
      `  %${name}s = constant {dtype = ${t}, shape = [], data = [${roundTo(s.dtype, v)}]} : ${t}[]`,
      `  %${name} = broadcast %${name}s {shape = [${out.join(", ")}]} : ${ty(out)}`,
    );
  if (s.transA) lines.push(`  %at = transpose %a {perm = [${swapLast}]} : ${ty([...s.batch, s.m, s.k])}`);
  if (s.transB) lines.push(`  %bt = transpose %b {perm = [${swapLast}]} : ${ty([...s.batch, s.k, s.n])}`);
  lines.push(`  %y = matmul ${s.transA ? "%at" : "%a"}, ${s.transB ? "%bt" : "%b"} : ${ty(out)}`);
  let cur = "%y";
  if (s.epilogue !== "none") {
    params.push(`%c: ${ty([s.n])}`);
    lines.push(`  %cb = broadcast %c {shape = [${out.join(", ")}]} : ${ty(out)}`, `  %biased = add %y, %cb : ${ty(out)}`);
    cur = "%biased";
  }
  if (s.epilogue === "relu") {
    scalar("zero", 0);
    lines.push(`  %relu = max ${cur}, %zero : ${ty(out)}`);
    cur = "%relu";
  }
  if (s.epilogue === "gelu") {
    // x/2 (1 + erf(x / sqrt 2)), as nn.gelu writes it.
    scalar("half", 0.5);
    scalar("one", 1);
    scalar("rsqrt2", Math.SQRT1_2);
    lines.push(
      `  %g0 = mul ${cur}, %rsqrt2 : ${ty(out)}`,
      `  %g1 = erf %g0 : ${ty(out)}`,
      `  %g2 = add %g1, %one : ${ty(out)}`,
      `  %g3 = mul ${cur}, %g2 : ${ty(out)}`,
      `  %gelu = mul %g3, %half : ${ty(out)}`,
    );
    cur = "%gelu";
  }
  let result = ty(out);
  if (s.transOut) {
    result = ty([...s.batch, s.n, s.m]);
    lines.push(`  %out = transpose ${cur} {perm = [${swapLast}]} : ${result}`);
    cur = "%out";
  }
  return `func @mm(${params.join(", ")}) -> (${result}) {\n${lines.join("\n")}\n  return ${cur}\n}`;
}

/** Deterministic values: small integers for int32, a spread of signs and magnitudes for floats. */
function values(d: DType, n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const x = Math.sin(seed * 12.9898 + i * 78.233) * 3;
    return roundTo(d, isFloat(d) ? x : Math.round(x * 3));
  });
}

interface Case extends HostCase {
  readonly label: string;
  /** The epilogue has an op whose MSL rendering approximates (erf): compare within a tolerance. */
  readonly approximate: boolean;
}

function matmulCase(s: Spec): Case {
  const program = fuse(parseFunc(matmulText(s)));
  const args = program.params.map((p, i) => {
    const t = program.buffers.find((b) => b.name === p)!.type;
    return tensor(t.dtype, t.shape, values(t.dtype, t.shape.reduce((a, b) => a * b, 1), i + 1));
  });
  const label = `${SHORT_NAME[s.dtype]} [${s.batch.join(",")}] ${s.m}x${s.k}x${s.n}${s.transA ? " aT" : ""}${s.transB ? " bT" : ""}${s.transOut ? " outT" : ""} ${s.epilogue}`;
  return { label, program, args, approximate: s.epilogue === "gelu" };
}

/** Shapes around the tile sizes (8, 16, 32), with k spanning several panels of 128. */
const SHAPES: readonly (readonly [readonly number[], number, number, number])[] = [
  [[], 1, 7, 8],
  [[], 7, 8, 9],
  [[], 8, 9, 33],
  [[], 9, 33, 100],
  [[], 33, 100, 1],
  [[], 100, 1, 7],
  [[], 100, 33, 100],
  [[2], 33, 300, 9],
  [[3], 9, 100, 33],
  [[2], 1, 1, 1],
];

/** For each shape, a random dtype, layout and epilogue (fixed seed: the same programs every run). */
function cases(): Case[] {
  const arb = fc.record({
    dtype: fc.constantFrom<DType>("float32", "float32", "float16", "int32"),
    transA: fc.boolean(),
    transB: fc.boolean(),
    transOut: fc.boolean(),
    epilogue: fc.constantFrom<Epilogue>("none", "bias", "relu", "gelu"),
  });
  const picks = fc.sample(arb, { numRuns: SHAPES.length, seed: 20240611 });
  return SHAPES.map(([batch, m, k, n], i) => {
    const p = picks[i]!;
    const epilogue = p.dtype === "int32" && p.epilogue === "gelu" ? "relu" : p.epilogue;
    return matmulCase({ batch, m, k, n, ...p, epilogue });
  });
}

/** Fixed cases that every run has whatever the sample: each layout, float16, int32, gelu. */
const FIXED: readonly Spec[] = [
  { batch: [], m: 33, k: 9, n: 40, dtype: "float32", transA: true, transB: true, transOut: false, epilogue: "relu" },
  { batch: [2], m: 9, k: 33, n: 7, dtype: "float16", transA: false, transB: true, transOut: true, epilogue: "gelu" },
  { batch: [], m: 64, k: 17, n: 64, dtype: "float16", transA: false, transB: false, transOut: false, epilogue: "bias" },
  { batch: [], m: 40, k: 129, n: 20, dtype: "int32", transA: true, transB: false, transOut: false, epilogue: "bias" },
  { batch: [], m: 7, k: 100, n: 9, dtype: "float32", transA: false, transB: false, transOut: true, epilogue: "gelu" },
  { batch: [], m: 33, k: 300, n: 40, dtype: "float32", transA: false, transB: true, transOut: false, epilogue: "none" },
];

/** NaN equals NaN and zeros of either sign are equal; otherwise equal, or close for `approximate`. */
function difference(want: Tensor, got: Tensor, approximate: boolean): string | undefined {
  const tol = { float32: [1e-5, 1e-5], float16: [4e-3, 1e-3] }[want.type.dtype as "float32" | "float16"] ?? [0, 0];
  for (let i = 0; i < want.data.length; i++) {
    const [a, b] = [want.data[i]!, got.data[i]!];
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (approximate && Math.abs(a - b) <= tol[0]! * Math.abs(a) + tol[1]!) continue;
    return `element ${i}: interpreter ${a}, host ${b}`;
  }
  return undefined;
}

async function expectInterpreted(all: readonly Case[], opts: Parameters<typeof runOnHost>[2]): Promise<void> {
  const got = await runOnHost(clang!, all, opts);
  const bad: string[] = [];
  all.forEach((c, i) => {
    interpretProgram(c.program, c.args).forEach((want, j) => {
      const d = difference(want, got[i]![j]!, c.approximate);
      if (d) bad.push(`${c.label}: ${d}`);
    });
  });
  expect(bad).toEqual([]);
}

const dense = (): Program => fuse(parseFunc(programText("dense-relu")));
const only = (p: Program): Kernel => p.kernels.find((k) => k.kind === "matmul")!;

describe("matmulPlan", () => {
  it("finds m, n, k and the factors of a dense layer", () => {
    const k = only(dense());
    const plan = matmulPlan(k);
    if (typeof plan === "string") throw new Error(plan);
    expect([plan.m.v, plan.n.v, plan.k.v, plan.batch.length]).toEqual(["p0", "p1", "r0", 0]);
    expect(plan.a.k === "load" && plan.a.buf).toBe("x");
    expect(plan.b.k === "load" && plan.b.buf).toBe("w");
  });

  it("takes operands at any strides, batches, and an output stored transposed", () => {
    // a and b are both stored transposed, and so is the result.
    const spec = { batch: [3], m: 5, k: 4, n: 6, dtype: "float32", transA: true, transB: true, transOut: true, epilogue: "none" } as const;
    const plan = matmulPlan(only(matmulCase(spec).program));
    if (typeof plan === "string") throw new Error(plan);
    // The stored result is C^T = B^T A^T: its rows (the grid's p1) run along b's rows.
    expect([plan.batch.map((l) => l.v), plan.m.v, plan.n.v]).toEqual([["p0"], "p1", "p2"]);
    expect([plan.m.extent, plan.n.extent, plan.k.extent]).toEqual([6, 5, 4]);
    expect([plan.a.k === "load" && plan.a.buf, plan.b.k === "load" && plan.b.buf]).toEqual(["b", "a"]);
  });

  it("says why a kernel is not a tiled matmul", () => {
    const k = only(dense());
    const r = k.reductions[0]!;
    expect(matmulPlan({ ...k, kind: "elementwise" })).toBe("a elementwise kernel is not a matmul");
    expect(matmulPlan({ ...k, reductions: [r, { ...r, name: "red1" }] })).toBe("2 reductions, not one dot");
    expect(matmulPlan({ ...k, reductions: [{ ...r, op: "sum" }] })).toBe("reduction %red0 is not a dot over one loop at grid level");
    expect(matmulPlan({ ...k, grid: [k.grid[0]!] })).toBe("the grid has no m and n loops");
    expect(matmulPlan({ ...k, grid: [k.grid[0]!, { ...k.grid[1]!, extent: 0 }] })).toBe("the grid is empty");
    // x indexed by the column: neither factor is indexed by (m, k) alone.
    const body = r.body.k === "op" ? r.body : undefined;
    const [x] = body!.args;
    const mixed = x!.k === "load" ? { ...x!, index: { k: "idx", v: "p1", dtype: "int32" } as const } : x!;
    const crossed: Kernel = { ...k, reductions: [{ ...r, body: { ...body!, args: [mixed, mixed] } }] };
    expect(matmulPlan(crossed)).toBe("the factors are not indexed by (batch, m, k) and (batch, k, n)");
  });
});

describe("matmul schedules in MSL", () => {
  const spec = (over: Partial<Spec>): Spec => ({
    batch: [2],
    m: 100,
    k: 33,
    n: 40,
    dtype: "float32",
    transA: false,
    transB: false,
    transOut: false,
    epilogue: "relu",
    ...over,
  });
  const emit = (s: Spec, opts: EmitOptions = {}) => emitProgram(matmulCase(s).program, opts);

  it("simdgroup (the default): 32x32 tiles of C, 4 simdgroups, fragments, barriers, MSL 2.3", () => {
    const lib = emit(spec({}));
    const [k] = lib.kernels;
    // 2 batches x ceil(100 / 32) x ceil(40 / 32) tiles; A and B tiles of 32x16 and C of 32x32 floats.
    expect([k!.variant, k!.cooperative, k!.grid, k!.threadsPerGroup, k!.threadgroupBytes]).toEqual([
      "matmul.simdgroup",
      true,
      [16, 1, 1],
      128,
      4 * (512 + 512 + 1024),
    ]);
    expect(k!.mslVersion).toBe("2.3");
    expect(lib.source.match(/simdgroup_multiply_accumulate\(/g)).toHaveLength(4);
    expect(lib.source.match(/threadgroup_barrier\(mem_flags::mem_threadgroup\)/g)).toHaveLength(3);
    // The host trampoline gives the fragments their lane before the kernel constructs them.
    expect(lib.source).toMatch(/smelt_lane = t->lane;\n {2}smelt_mm_[0-9a-f]+\(/);
    expect(k!.hostRangeEntry).toBeUndefined();
  });

  it("blocked (the default without cooperation): one block of C per thread, no barriers", () => {
    const lib = emit(spec({}), { cooperative: false });
    const [k] = lib.kernels;
    // Blocks of 64 rows (m = 100 needs 2) by 32 columns (n = 40 needs 2), per batch: 8 threads,
    // each its own group so that a host's workers share them.
    expect([k!.variant, k!.cooperative, k!.grid, k!.threadsPerGroup, k!.threadgroupBytes]).toEqual([
      "matmul.blocked",
      false,
      [8, 1, 1],
      1,
      0,
    ]);
    expect(lib.source).toContain("if (gid >= 8u) return;");
    expect(lib.source).not.toMatch(/threadgroup_barrier|simdgroup_/);
    expect(k!.hostRangeEntry).toBe(`smelt_host_range_${k!.entry}`);
    // A small matrix gets a small block: 8 rows (7 rounded up to 4s) by 8 columns.
    const small = emit(spec({ batch: [], m: 7, n: 5 }), { matmul: "blocked" });
    expect(small.source).toContain("float mm_acc[8][8];");
    const given = emit(spec({}), { matmul: "blocked", matmulBlock: { rows: 4, cols: 8 } });
    // 2 x 25 x 5 blocks of 4x8.
    expect(given.source).toContain("if (gid >= 250u) return;");
    expect(given.kernels[0]!.grid).toEqual([250, 1, 1]);
    expect(() => emit(spec({}), { matmul: "blocked", matmulBlock: { rows: 0, cols: 8 } })).toThrow(CompileError);
  });

  it("naive on request: one thread per element, and the same for both settings of cooperative", () => {
    for (const cooperative of [true, false]) {
      const lib = emit(spec({}), { matmul: "naive", cooperative });
      expect(lib.kernels.map((k) => [k.variant, k.cooperative, k.grid[0]])).toEqual([["matmul.naive", false, 32]]);
      expect(lib.source).not.toContain("does not apply");
    }
  });

  it("falls back to naive with the reason in a comment where a tiled schedule does not apply", () => {
    const ints = emit(spec({ dtype: "int32" }));
    expect(ints.kernels[0]!.variant).toBe("matmul.naive");
    expect(ints.source).toContain("// matmul.simdgroup does not apply (simdgroup_matrix multiplies floats, not int32): one thread per element");
    // Integer matmuls block well enough.
    expect(emit(spec({ dtype: "int32" }), { matmul: "blocked" }).kernels[0]!.variant).toBe("matmul.blocked");
    const k = only(dense());
    const r = k.reductions[0]!;
    const two = emitKernel({ ...k, reductions: [r, { ...r, name: "red1" }] }, { matmul: "blocked" });
    expect(two.info.variant).toBe("matmul.naive");
    expect(two.text).toContain("// matmul.blocked does not apply (2 reductions, not one dot): one thread per element");
  });

  it("each schedule is its own kernel name", () => {
    const p = matmulCase(spec({})).program;
    const entries = (["naive", "simdgroup", "blocked"] as const).map((m) => emitProgram(p, { matmul: m }).kernels[0]!.entry);
    expect(new Set(entries).size).toBe(3);
  });
});

describe.skipIf(!clang)("matmul schedules run on the host as the interpreter says", () => {
  const all = [...cases(), ...FIXED.map(matmulCase)];

  it("the test cases cover every schedule's edges and every variation", () => {
    const specs = all.map((c) => c.label);
    for (const d of [1, 7, 8, 9, 33, 100]) expect(specs.some((l) => l.includes(`x${d}`) || l.includes(` ${d}x`))).toBe(true);
    for (const w of [" aT", " bT", " outT", " relu", " gelu", " bias", "f16 ", "i32 ", "[2]"]) {
      expect(specs.some((l) => l.includes(w)), w).toBe(true);
    }
  });

  for (const [name, opts] of [
    ["naive", { matmul: "naive" }],
    ["blocked", { matmul: "blocked", cooperative: false }],
    ["simdgroup, threads resumed first to last", { matmul: "simdgroup" }],
    ["simdgroup, threads resumed last to first", { matmul: "simdgroup", reverse: true }],
  ] as const) {
    it(name, async () => {
      await expectInterpreted(all, opts);
    });
  }

  it("a fragment lays out its elements as Apple GPUs do: lane l holds (row, col) and (row, col + 1)", async () => {
    // Each lane writes the two elements it holds of the matrix a[r][c] = 8r + c, loaded as is
    // and transposed, and of the product of that matrix with the identity.
    const source = `using namespace metal;
kernel void lanes(device const float* a [[buffer(0)]], device float* out [[buffer(1)]], uint lane [[thread_index_in_simdgroup]]) {
  simdgroup_float8x8 m, t, p;
  const simdgroup_float8x8 one = simdgroup_float8x8(1.0f);
  simdgroup_load(m, a, 8);
  simdgroup_load(t, a, 8, 0, true);
  simdgroup_multiply(p, m, one);
  out[2 * lane] = m.thread_elements()[0];
  out[2 * lane + 1] = m.thread_elements()[1];
  out[64 + 2 * lane] = t.thread_elements()[0];
  out[64 + 2 * lane + 1] = t.thread_elements()[1];
  out[128 + 2 * lane] = p.thread_elements()[0];
  out[128 + 2 * lane + 1] = p.thread_elements()[1];
}
#ifdef SMELT_HOST
extern "C" void smelt_host_lanes(void* const* buffers, const smelt_thread* t) {
  smelt_lane = t->lane;
  lanes((device const float*)buffers[0], (device float*)buffers[1], t->lane);
}
#endif
`;
    const addon = hostAddon();
    const t = tempDir();
    const a = addon.alloc(64 * 4);
    const out = addon.alloc(3 * 64 * 4);
    try {
      const lib = addon.loadLibrary(await buildHostLibrary(clang!, source, t.dir));
      new Float32Array(a).set(Array.from({ length: 64 }, (_, i) => i));
      addon.dispatch(addon.kernel(lib, "lanes"), [a, out], 1, 32, { cooperative: true, debug: true });
      addon.unloadLibrary(lib);
      const got = new Float32Array(out);
      // (row, col) of lane l, worked out by hand from the layout: qid = l / 4,
      // row = (qid & 4) + (l / 2) % 4, col = (qid & 2) * 2 + (l % 2) * 2.
      const held: Record<number, [number, number]> = { 0: [0, 0], 1: [0, 2], 2: [1, 0], 7: [3, 2], 8: [0, 4], 13: [2, 6], 16: [4, 0], 31: [7, 6] };
      for (const [lane, [r, c]] of Object.entries(held).map(([l, rc]) => [Number(l), rc] as const)) {
        const at = (base: number) => [got[base + 2 * lane], got[base + 2 * lane + 1]];
        expect(at(0), `lane ${lane}`).toEqual([8 * r + c, 8 * r + c + 1]);
        expect(at(64), `lane ${lane}, transposed`).toEqual([8 * c + r, 8 * (c + 1) + r]);
        expect(at(128), `lane ${lane}, times the identity`).toEqual([8 * r + c, 8 * r + c + 1]);
      }
    } finally {
      addon.free(a);
      addon.free(out);
      t.done();
    }
  });

  it("without its barriers, the simdgroup schedule computes wrong results (the orders have teeth)", async () => {
    // A barrier the validator still sees but that never runs.
    const dialect = { ...MSL, barrier: "if (false) threadgroup_barrier(mem_flags::mem_threadgroup)" };
    const c = matmulCase({ batch: [], m: 40, k: 20, n: 36, dtype: "float32", transA: false, transB: false, transOut: false, epilogue: "none" });
    const want = interpretProgram(c.program, c.args)[0]!;
    const intact = await runOnHost(clang!, [c], { matmul: "simdgroup", reverse: true });
    expect(difference(want, intact[0]![0]!, false)).toBeUndefined();
    const broken = await runOnHost(clang!, [c], { matmul: "simdgroup", reverse: true, dialect });
    expect(difference(want, broken[0]![0]!, false)).toBeDefined();
  });
});
