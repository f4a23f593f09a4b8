// Emitted kernels run on the CPU (MSL compiled as C++, threads of a threadgroup as fibers in
// the test driver) and compute what the kernel-IR interpreter computes: every scalar op on
// every dtype it takes, at the special values of docs/ir.md, every reduction (NaN and ties
// across simdgroups), row, matmul, scatter-add and random kernels, and random funcs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cvt,
  type DType,
  DTYPES,
  type Expr,
  idx,
  interpretProgram,
  isFloat,
  load,
  parseFunc,
  type Program,
  roundTo,
  type ScalarOp,
  SHORT_NAME,
  sop,
  type Tensor,
  tensor,
} from "../../src/ir/index.js";
import { fuse } from "../../src/passes/fuse.js";
import { ProgramBuilder, ty } from "../passes/programs.js";
import { randomFunc } from "../support/randomFunc.js";
import { mismatch, ONE_OP, PROGRAM, type Tolerance } from "../support/tolerance.js";
import { findClang, type HostCase, programText, runOnHost } from "./support/host.js";

const clang = findClang();
if (!clang) console.log("test/codegen-msl/run.test.ts: skipped, clang-19 not found (CI installs it)");

/** Runs the cases and compares every result with the interpreter's. */
async function check(
  cases: readonly (HostCase & { label: string; exact?: boolean })[],
  opts: Parameters<typeof runOnHost>[2] = {},
  tolerance: Tolerance = PROGRAM,
) {
  const got = await runOnHost(clang!, cases, opts);
  const bad: string[] = [];
  cases.forEach((c, i) => {
    interpretProgram(c.program, c.args).forEach((want, j) => {
      const m = mismatch(want, got[i]![j]!, c.exact ?? false, tolerance, "host");
      if (m) bad.push(`${c.label}, result ${j} (${want.type.dtype}): ${m}`);
    });
  });
  expect(bad).toEqual([]);
}

const SCHEDULES = [
  { name: "threadgroups", opts: { cooperative: true } },
  { name: "threadgroups, fibers resumed last to first", opts: { cooperative: true, reverse: true } },
  { name: "one thread per grid point", opts: { cooperative: false } },
];

/** Deterministic values in [-3, 3] with a few exact ties, rounded to `d`. */
function values(d: DType, n: number, seed = 1): number[] {
  return Array.from({ length: n }, (_, i) => {
    const x = Math.sin(seed * 12.9898 + i * 78.233) * 3;
    const v = d === "bool" ? (x > 0 ? 1 : 0) : d === "uint32" ? Math.abs(Math.round(x * 3)) : isFloat(d) ? x : Math.round(x * 3);
    return roundTo(d, v);
  });
}

const graphCase = (label: string, text: string, args: Tensor[]) => ({ label, program: fuse(parseFunc(text)), args });

// ---------------------------------------------------------------- scalar ops

const SPECIAL: { readonly [D in DType]: readonly number[] } = {
  float32: [0, -0, 1, -1, 0.5, -1.5, 2.5, 3, -7, 0.1, 1e-5, -3e-6, 0.7, 100, -1000, 1e-30, 3e9, -3e9, Infinity, -Infinity, NaN],
  float16: [0, -0, 1, -1, 0.5, -1.5, 2.5, 3, -7, 0.1, 1e-3, -3e-4, 0.7, 100, -1000, 1e-5, 65504, Infinity, -Infinity, NaN],
  bfloat16: [0, -0, 1, -1, 0.5, -1.5, 2.5, 3, -7, 0.1, 1e-3, -3e-4, 0.7, 100, -1000, 1e-30, 3e9, -3e9, Infinity, -Infinity, NaN],
  int32: [0, 1, -1, 2, -2, 7, -7, 31, 65536, 46341, 2147483647, -2147483648],
  uint32: [0, 1, 2, 7, 31, 65536, 2147483648, 4294967295],
  bool: [0, 1],
};

const FLOAT_UNARY: ScalarOp[] = ["neg", "exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "logistic", "sqrt", "rsqrt", "abs", "sign", "floor", "ceil", "round", "erf"];
const INT_UNARY: ScalarOp[] = ["neg", "abs", "sign", "floor", "ceil", "round", "not"];
const NUMERIC_BINARY: ScalarOp[] = ["add", "sub", "mul", "div", "pow", "max", "min", "mod"];
const COMPARE: ScalarOp[] = ["eq", "ne", "lt", "le", "gt", "ge"];
/** Ops that libm or a float32 algorithm computes within a few ulps rather than exactly. */
const APPROXIMATE = new Set<ScalarOp>(["exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "logistic", "rsqrt", "erf", "pow"]);

function opsFor(d: DType): { unary: ScalarOp[]; binary: ScalarOp[] } {
  if (isFloat(d)) return { unary: FLOAT_UNARY, binary: [...NUMERIC_BINARY, ...COMPARE] };
  if (d === "bool") return { unary: ["not"], binary: ["and", "or", "max", "min", ...COMPARE] };
  return { unary: INT_UNARY, binary: [...NUMERIC_BINARY, "and", "or", ...COMPARE] };
}

/** One elementwise kernel per (op, dtype): unary ops over the special values, binary over all pairs. */
function scalarCases(): (HostCase & { label: string; exact: boolean })[] {
  const out: (HostCase & { label: string; exact: boolean })[] = [];
  const add = (label: string, exact: boolean, ins: [string, DType, number[]][], value: (at: (n: string) => Expr) => Expr) => {
    const n = ins[0]![2].length;
    const b = new ProgramBuilder(label);
    for (const [name, d] of ins) b.param(name, ty(d, n));
    const at = (name: string) => b.at(name);
    const v = value(at);
    b.result("out", ty(v.dtype, n)).kernel([{ out: "out", value: v }]);
    out.push({ label, exact, program: b.build(), args: ins.map(([, d, xs]) => tensor(d, [n], xs)) });
  };
  for (const d of DTYPES) {
    const xs = SPECIAL[d].map((x) => roundTo(d, x));
    const pairs = xs.flatMap((a) => xs.map((b) => [a, b] as const));
    const { unary, binary } = opsFor(d);
    // Float32 rounds exactly as the interpreter does for all but the approximate ops; the
    // half-width floats compute in float and round again, which may differ in the last place.
    const exact = (op: ScalarOp) => d !== "float16" && d !== "bfloat16" && !APPROXIMATE.has(op);
    for (const op of unary) {
      add(`${op} ${d}`, exact(op), [["a", d, xs]], (at) => sop(op, [at("a")], d));
    }
    for (const op of binary) {
      const r: DType = COMPARE.includes(op) ? "bool" : d;
      const ins: [string, DType, number[]][] = [
        ["a", d, pairs.map((p) => p[0])],
        ["b", d, pairs.map((p) => p[1])],
      ];
      add(`${op} ${d}`, exact(op), ins, (at) => sop(op, [at("a"), at("b")], r));
    }
    for (const to of DTYPES) {
      if (to === d) continue;
      const fine = !(isFloat(d) && isFloat(to)) || to === "float32" || d === "float32";
      add(`convert ${d} to ${to}`, fine, [["a", d, xs]], (at) => cvt(at("a"), to));
    }
    const conds = pairs.map((_, i) => i % 3 === 0 ? 1 : 0);
    add(`select ${d}`, true, [["c", "bool", conds], ["a", d, pairs.map((p) => p[0])], ["b", d, pairs.map((p) => p[1])]], (at) =>
      sop("select", [at("c"), at("a"), at("b")], d),
    );
  }
  // Threefry words, bit for bit.
  for (const word of [0, 1] as const) {
    const b = new ProgramBuilder(`random word ${word}`);
    b.param("key", ty("uint32", 2)).result("out", ty("uint32", 64));
    const key = (i: number) => load("key", { k: "const", value: i, dtype: "int32" }, "uint32");
    const value: Expr = { k: "random", key0: key(0), key1: key(1), counter: cvt(idx("p0"), "uint32"), word, dtype: "uint32" };
    b.kernel([{ out: "out", value }]);
    out.push({ label: `random word ${word}`, exact: true, program: b.build(), args: [tensor("uint32", [2], [0x12345678, 0xdeadbeef])] });
  }
  return out;
}

// ---------------------------------------------------------------- kernels from graph IR

/** Every reduction over 100 elements a row (four simdgroups), with ties and NaNs placed across them. */
function reductionCases(): (HostCase & { label: string })[] {
  const out: (HostCase & { label: string })[] = [];
  const n = 100;
  for (const d of DTYPES) {
    const t = SHORT_NAME[d];
    const ops = d === "bool" ? ["reduce_max", "reduce_min"] : ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"];
    const lines = ops.map((op, i) => `  %${i} = ${op} %x {axes = [1]} : ${t}[4]`);
    const k = ops.length;
    lines.push(`  %${k} = argmax %x {axis = 1} : i32[4]`, `  %${k + 1} = argmin %x {axis = 1} : i32[4]`);
    const results = [...ops.map(() => `${t}[4]`), "i32[4]", "i32[4]"];
    const text = `func @r(%x: ${t}[4,${n}]) -> (${results.join(", ")}) {\n${lines.join("\n")}\n  return ${results.map((_, i) => `%${i}`).join(", ")}\n}`;
    // Products of 100 values overflow floats: keep them near 1 in rows 2 and 3.
    const data = values(d, 4 * n, 7);
    const row = (r: number, i: number) => r * n + i;
    const hi = d === "bool" ? 1 : roundTo(d, d === "uint32" ? 1000 : 50);
    const lo = d === "bool" ? 0 : roundTo(d, d === "uint32" ? 0 : -50);
    // Row 0: the maximum and the minimum tie at two places in different simdgroups.
    [[5, hi], [70, hi], [9, lo], [90, lo]].forEach(([i, v]) => (data[row(0, i!)] = v!));
    if (isFloat(d)) {
      // Row 1: NaNs in two simdgroups; the first one wins argmax and argmin, and max/min are NaN.
      data[row(1, 40)] = NaN;
      data[row(1, 75)] = NaN;
      for (let i = 0; i < n; i++) data[row(2, i)] = roundTo(d, 1 + values(d, 1, i)[0]! / 300);
      data[row(3, 3)] = -Infinity;
    } else if (d !== "bool") {
      for (let i = 0; i < n; i++) data[row(2, i)] = i % 7 === 0 ? roundTo(d, -1) : 1;
    }
    out.push(graphCase(`reductions ${d}`, text, [tensor(d, [4, n], data)]));
  }
  const big = 1000;
  out.push(
    graphCase(
      "a sum over 1000 elements",
      `func @s(%x: f32[3,${big}]) -> (f32[3]) {\n  %0 = reduce_sum %x {axes = [1]} : f32[3]\n  return %0\n}`,
      [tensor("float32", [3, big], values("float32", 3 * big, 3))],
    ),
  );
  return out;
}

const ROW_TEXT = `func @softmax(%x: f32[3,300]) -> (f32[3,300]) {
  %0 = reduce_max %x {axes = [1]} : f32[3]
  %1 = reshape %0 {shape = [3, 1]} : f32[3,1]
  %2 = broadcast %1 {shape = [3, 300]} : f32[3,300]
  %3 = sub %x, %2 : f32[3,300]
  %4 = exp %3 : f32[3,300]
  %5 = reduce_sum %4 {axes = [1]} : f32[3]
  %6 = reshape %5 {shape = [3, 1]} : f32[3,1]
  %7 = broadcast %6 {shape = [3, 300]} : f32[3,300]
  %8 = div %4, %7 : f32[3,300]
  return %8
}`;

function matmulText(t: string, m: number, k: number, n: number): string {
  return `func @mm(%a: ${t}[2,${m},${k}], %b: ${t}[2,${k},${n}], %c: ${t}[${n}]) -> (${t}[2,${m},${n}]) {
  %0 = matmul %a, %b : ${t}[2,${m},${n}]
  %1 = broadcast %c {shape = [2, ${m}, ${n}]} : ${t}[2,${m},${n}]
  %2 = add %0, %1 : ${t}[2,${m},${n}]
  return %2
}`;
}

function scatterText(t: string): string {
  return `func @s(%a: ${t}[5,3], %i: i32[7], %u: ${t}[7,3]) -> (${t}[5,3]) {
  %0 = scatter_add %a, %i, %u {axis = 0} : ${t}[5,3]
  return %0
}`;
}

function kernelCases(): (HostCase & { label: string })[] {
  const out: (HostCase & { label: string })[] = [];
  for (const name of ["adam", "cross-entropy", "dense-relu", "layernorm", "softmax"]) {
    const program: Program = fuse(parseFunc(programText(name)));
    const params = program.params.map((p) => program.buffers.find((b) => b.name === p)!.type);
    const args = params.map((t, i) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      // Labels for cross-entropy are class indices.
      const data = t.dtype === "int32" ? Array.from({ length: n }, (_, j) => (j * 3) % 5) : values(t.dtype, n, i + 2);
      return tensor(t.dtype, t.shape, data);
    });
    out.push({ label: name, program, args });
  }
  out.push(graphCase("softmax over 300", ROW_TEXT, [tensor("float32", [3, 300], values("float32", 900, 5))]));
  for (const d of ["float32", "float16", "int32", "uint32"] as DType[]) {
    const [m, k, n] = [5, 33, 7];
    const args = [
      tensor(d, [2, m, k], values(d, 2 * m * k, 1)),
      tensor(d, [2, k, n], values(d, 2 * k * n, 2)),
      tensor(d, [n], values(d, n, 3)),
    ];
    out.push(graphCase(`matmul ${d}`, matmulText(SHORT_NAME[d], m, k, n), args));
  }
  // Duplicate indices add in turn; out-of-range ones (-1, 5) are dropped.
  const indices = tensor("int32", [7], [0, 4, 0, -1, 2, 5, 0]);
  for (const d of ["float32", "float16", "bfloat16", "int32", "uint32"] as DType[]) {
    const args = [tensor(d, [5, 3], values(d, 15, 4)), indices, tensor(d, [7, 3], values(d, 21, 5))];
    out.push(graphCase(`scatter_add ${d}`, scatterText(SHORT_NAME[d]), args));
  }
  out.push(
    graphCase(
      "random_bits",
      `func @r(%k: u32[2]) -> (u32[5,7]) {\n  %0 = random_bits %k {shape = [5, 7]} : u32[5,7]\n  return %0\n}`,
      [tensor("uint32", [2], [42, 7])],
    ),
  );
  return out;
}

describe.skipIf(!clang)("emitted kernels run on the host as the interpreter says", () => {
  it("every scalar op on every dtype it takes, at the special values", async () => {
    await check(scalarCases(), {}, ONE_OP);
  });

  for (const s of SCHEDULES) {
    it(`reductions: every op and dtype, NaNs and ties across simdgroups (${s.name})`, async () => {
      await check(reductionCases(), s.opts);
    });

    it(`row, matmul, scatter-add, random and the test programs (${s.name})`, async () => {
      await check(kernelCases(), s.opts);
    });
  }

  it("random funcs through fusion, both schedules", async () => {
    const cases = fc
      .sample(randomFunc({ maxOps: 10 }), 120)
      .map(({ func, inputs }, i) => ({ label: `random func ${i}`, program: fuse(func), args: inputs }));
    await check(cases, { cooperative: true });
    await check(cases, { cooperative: false });
  });
});
