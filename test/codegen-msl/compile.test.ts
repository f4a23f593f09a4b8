// Emitted MSL compiles as C++ under clang-19 with smelt_msl_host.h and Metal's address spaces,
// for every kernel kind (the test programs, random funcs through fusion under every strategy),
// and the header rejects what Metal rejects.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitProgram, type EmitOptions } from "../../src/codegen-msl/index.js";
import { type Kernel, parseFunc, type Program } from "../../src/ir/index.js";
import { fuse, type FusionStrategy } from "../../src/passes/fuse.js";
import { randomFunc } from "../support/randomFunc.js";
import { findClang, programText, syntaxCheck } from "./support/host.js";

const clang = findClang();
if (!clang) console.log("test/codegen-msl/compile.test.ts: skipped, clang-19 not found (CI installs it)");

const PROGRAMS = ["adam", "cross-entropy", "dense-relu", "layernorm", "softmax"];

/** Many programs' kernels as one library, so one compiler run checks them all. */
function batch(programs: readonly Program[], opts: EmitOptions): string {
  const kernels: Kernel[] = programs.flatMap((p, i) => p.kernels.map((k) => ({ ...k, name: `p${i}_${k.name}` })));
  return emitProgram({ name: "batch", buffers: [], params: [], results: [], kernels, report: [] }, opts).source;
}

async function expectCompiles(source: string, extra: readonly string[] = []): Promise<void> {
  const r = await syntaxCheck(clang!, source, extra);
  if (!r.ok) throw new Error(`clang rejected the emitted MSL:\n${r.stderr.slice(0, 4000)}`);
}

describe.skipIf(!clang)("emitted MSL compiles as C++ with the host header", () => {
  for (const cooperative of [true, false]) {
    it(`the test programs (${cooperative ? "threadgroup" : "serial"} reductions)`, async () => {
      const programs = PROGRAMS.map((n) => fuse(parseFunc(programText(n))));
      const kinds = new Set(programs.flatMap((p) => p.kernels.map((k) => k.kind)));
      expect([...kinds].sort()).toEqual(["elementwise", "matmul", "reduce", "row"]);
      await expectCompiles(batch(programs, { cooperative }));
    });
  }

  it("every matmul schedule: tiles at edges, batches, strided operands, float16 and int32", async () => {
    const text = (t: string, [m, k, n]: readonly number[]) => `func @mm(%a: ${t}[2,${k},${m}], %b: ${t}[2,${k},${n}], %c: ${t}[${n}]) -> (${t}[2,${m},${n}]) {
  %at = transpose %a {perm = [0, 2, 1]} : ${t}[2,${m},${k}]
  %0 = matmul %at, %b : ${t}[2,${m},${n}]
  %1 = broadcast %c {shape = [2, ${m}, ${n}]} : ${t}[2,${m},${n}]
  %2 = add %0, %1 : ${t}[2,${m},${n}]
  return %2
}`;
    const programs = ["f32", "f16", "bf16", "i32"].flatMap((t) =>
      [[1, 1, 1], [7, 9, 33], [64, 300, 32]].map((shape) => fuse(parseFunc(text(t, shape)))),
    );
    programs.push(fuse(parseFunc(programText("dense-relu"))));
    for (const matmul of ["naive", "simdgroup", "blocked"] as const) {
      const variants = new Set(emitProgram(programs[0]!, { matmul }).kernels.map((k) => k.variant));
      expect([...variants]).toEqual([`matmul.${matmul}`]);
      await expectCompiles(batch(programs, { matmul }));
    }
  });

  it("a matmul whose operands are constant along k (their staging reads no k index)", async () => {
    const p = fuse(parseFunc(`func @mm(%u: f32[5,1], %v: f32[1,8]) -> (f32[5,8]) {
  %0 = broadcast %u {shape = [5, 16]} : f32[5,16]
  %1 = broadcast %v {shape = [16, 8]} : f32[16,8]
  %2 = matmul %0, %1 : f32[5,8]
  return %2
}`));
    for (const matmul of ["naive", "simdgroup", "blocked"] as const) await expectCompiles(batch([p], { matmul }));
  });

  for (const strategy of ["full", "elementwise", "none"] as FusionStrategy[]) {
    it(`random funcs fused with strategy ${strategy}, both schedules`, async () => {
      const funcs = fc.sample(randomFunc({ maxOps: 10 }), 150);
      const programs = funcs.map(({ func }) => fuse(func, { strategy }));
      for (const cooperative of [true, false]) await expectCompiles(batch(programs, { cooperative }));
    });
  }
});

describe.skipIf(!clang)("smelt_msl_host.h rejects what Metal rejects", () => {
  /** A kernel that compiles, and one line that, replaced, should not. */
  const kernel = (line = "out[gid] = a[gid] * 2.0f;", params = "device const float* a [[buffer(0)]]") => `
using namespace metal;
kernel void k(${params}, device float* out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
  ${line}
}
`;

  const rejected = async (source: string, why: RegExp) => {
    const r = await syntaxCheck(clang!, source);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(why);
  };

  it("the control kernel compiles", async () => {
    await expectCompiles(kernel());
  });

  it("a buffer slot beyond 30", async () => {
    await rejected(kernel(undefined, "device const float* a [[buffer(31)]]"), /buffer slots 0\.\.30/);
  });

  it("a misspelled attribute", async () => {
    await rejected(kernel(undefined, "device const float* a [[buffer(0)]], uint x [[thread_position_in_gird]]"), /unknown attribute/);
  });

  it("a write through a constant pointer, and mixing address spaces", async () => {
    await rejected(kernel("a[gid] = 1.0f;", "constant float* a [[buffer(0)]]"), /read-only|const-qualified/);
    await rejected(kernel("constant float* p = out; out[gid] = p[0];"), /of type .const __attribute__\(\(address_space\(2\)\)\) float \*. with an lvalue of type .device float \*./);
    await expectCompiles(kernel("device float* p = out; out[gid] = p[0];"));
  });

  it("simdgroup_matrix: the element type must match, and memory must be device or threadgroup", async () => {
    const params = "device const float* a [[buffer(0)]], device const half* h [[buffer(2)]]";
    await expectCompiles(kernel("simdgroup_float8x8 m;\n  simdgroup_load(m, a, 8);\n  simdgroup_store(m, out, 8);", params));
    await rejected(kernel("simdgroup_float8x8 m;\n  simdgroup_load(m, h, 8);", params), /no matching function for call to 'simdgroup_load'/);
    await rejected(kernel("float t[64];\n  simdgroup_float8x8 m;\n  simdgroup_load(m, t, 8);", params), /no matching function for call to 'simdgroup_load'/);
    await rejected(kernel("simdgroup_half8x8 m;\n  simdgroup_float8x8 f;\n  simdgroup_multiply_accumulate(f, m, m, f);", params), /no matching function/);
  });

  it("double, and an implicit narrowing to half", async () => {
    await rejected(kernel("double x = a[gid]; out[gid] = float(x);"), /poisoned/);
    await rejected(kernel("half h = a[gid]; out[gid] = float(h);"), /implicit conversion/);
    await expectCompiles(kernel("half h = half(a[gid]); out[gid] = float(h);"));
  });
});
