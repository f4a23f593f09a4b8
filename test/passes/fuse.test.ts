// Fusion rules, one program each: the kernels each strategy makes, and their values against the
// graph interpreter.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Func, interpret, interpretProgram, parseFunc, printProgram, type Tensor, tensor } from "../../src/ir/index.js";
import { fuse, type FusionStrategy } from "../../src/passes/fuse.js";

const program = (name: string): Func =>
  parseFunc(readFileSync(new URL(`./programs/${name}.smir`, import.meta.url), "utf8"));

/** Deterministic inputs: small floats, and integer targets in range for the cross-entropy. */
function inputsFor(f: Func): Tensor[] {
  return f.params.map((p, j) => {
    const n = p.type.shape.reduce((a, b) => a * b, 1);
    const v = Array.from({ length: n }, (_, i) =>
      p.type.dtype === "int32" ? (i * 3 + j) % 5 : Math.fround(Math.sin(i * 1.7 + j) * 2),
    );
    return tensor(p.type.dtype, p.type.shape, v);
  });
}

function kernels(name: string, strategy: FusionStrategy) {
  const f = program(name);
  const p = fuse(f, { strategy });
  const inputs = inputsFor(f);
  const want = interpret(f, inputs);
  const got = interpretProgram(p, inputs);
  want.forEach((w, i) => expect(Array.from(got[i]!.data), printProgram(p)).toEqual(Array.from(w.data)));
  return p;
}

describe("the row pattern: a reduction broadcast back over its rows is one kernel", () => {
  it("softmax: one threadgroup per row, the columns a loop of the row", () => {
    const p = kernels("softmax", "full");
    expect(p.kernels.map((k) => k.kind)).toEqual(["row"]);
    const [k] = p.kernels;
    expect(k!.grid).toEqual([{ v: "p0", extent: 4 }]);
    expect(k!.reductions.map((r) => r.op)).toEqual(["max", "sum"]);
    expect(printProgram(p)).toContain("%out0[(p0 * 8) + c0] = exp(%x[(p0 * 8) + c0] - %red0) / %red1 over c0<8>");
  });

  it("layernorm: mean and variance and the normalized row in one kernel", () => {
    const p = kernels("layernorm", "full");
    expect(p.kernels.map((k) => k.kind)).toEqual(["row"]);
    expect(p.kernels[0]!.reductions).toHaveLength(2);
    // gamma and beta are read along the row loop, not per row
    expect(printProgram(p)).toContain("%g[c0]");
  });

  it("MLX-style elementwise fusion needs a kernel per reduction and one per elementwise chain", () => {
    expect(kernels("softmax", "elementwise").kernels.map((k) => k.kind)).toEqual([
      "reduce",
      "elementwise",
      "reduce",
      "elementwise",
    ]);
    expect(kernels("layernorm", "elementwise").kernels).toHaveLength(4);
  });
});

describe("a small reduction nests inside a larger one", () => {
  it("cross-entropy: per-row log-sum-exp and the mean over rows in one kernel", () => {
    const p = kernels("cross-entropy", "full");
    expect(p.kernels.map((k) => k.kind)).toEqual(["reduce"]);
    const [k] = p.kernels;
    expect(k!.grid).toEqual([]);
    const outer = k!.reductions.at(-1)!;
    expect(outer.scope).toEqual([]);
    expect(k!.reductions.slice(0, -1).every((r) => r.scope.length === 1 && r.scope[0]!.v === outer.loops[0]!.v)).toBe(true);
  });

  it("does not nest a reduction over more than 256 elements", () => {
    const f = parseFunc(`func @f(%x: f32[4,300]) -> (f32[]) {
  %0 = reduce_max %x {axes = [1]} : f32[4]
  %1 = reduce_sum %0 {axes = [0]} : f32[]
  return %1
}`);
    const p = fuse(f);
    expect(p.kernels).toHaveLength(2);
    expect(p.report.map((n) => n.reason).join("\n")).toContain("nesting limit 256");
  });
});

describe("a matmul takes its elementwise epilogue", () => {
  it("relu(x @ w + b) is one matmul kernel, with the operands marked for the tiled variants", () => {
    const p = kernels("dense-relu", "full");
    expect(p.kernels.map((k) => k.kind)).toEqual(["matmul"]);
    expect(p.kernels[0]!.hints.matmul).toEqual({ a: "x", b: "w", batch: 1, m: 4, n: 5, k: 3 });
  });

  it("a matmul feeding a row pattern is computed once, then the rows in one kernel", () => {
    const f = parseFunc(`func @attn(%q: f32[4,3], %k: f32[3,6]) -> (f32[4,6]) {
  %0 = matmul %q, %k : f32[4,6]
  %1 = reduce_max %0 {axes = [1]} : f32[4]
  %2 = reshape %1 {shape = [4, 1]} : f32[4,1]
  %3 = broadcast %2 {shape = [4, 6]} : f32[4,6]
  %4 = sub %0, %3 : f32[4,6]
  return %4
}`);
    const p = fuse(f);
    expect(p.kernels.map((k) => k.kind)).toEqual(["matmul", "row"]);
    expect(p.report[0]).toEqual({
      value: "%0",
      reason: "a per-element reduction feeding a row pattern is computed once, not once per row element",
    });
    const inputs = inputsFor(f);
    expect(Array.from(interpretProgram(p, inputs)[0]!.data)).toEqual(Array.from(interpret(f, inputs)[0]!.data));
  });

  it("a row reduction feeding a matmul is computed once, not once per output element", () => {
    const f = parseFunc(`func @mm(%x: f32[4,3], %w: f32[3,5]) -> (f32[4,5]) {
  %0 = reduce_sum %x {axes = [1]} : f32[4]
  %1 = reshape %0 {shape = [4, 1]} : f32[4,1]
  %2 = broadcast %1 {shape = [4, 3]} : f32[4,3]
  %3 = div %x, %2 : f32[4,3]
  %4 = matmul %3, %w : f32[4,5]
  return %4
}`);
    const p = fuse(f);
    expect(p.kernels.map((k) => k.kind)).toEqual(["reduce", "matmul"]);
    const inputs = inputsFor(f);
    expect(Array.from(interpretProgram(p, inputs)[0]!.data)).toEqual(Array.from(interpret(f, inputs)[0]!.data));
  });

  it("under the elementwise strategy the epilogue is a kernel of its own", () => {
    expect(kernels("dense-relu", "elementwise").kernels.map((k) => k.kind)).toEqual(["matmul", "elementwise"]);
  });
});

describe("kernels over the same grid merge", () => {
  it("an Adam update writes the parameter and both moments from one kernel", () => {
    const p = kernels("adam", "full");
    expect(p.kernels).toHaveLength(1);
    expect(p.kernels[0]!.stores.map((s) => s.buf).sort()).toEqual(["out0", "out1", "out2"]);
    // the new moments are recomputed for the parameter update, not read back
    expect(p.kernels[0]!.buffers.filter((b) => b.access === "read").map((b) => b.name).sort()).toEqual(["g", "m", "p", "v"]);
  });

  it("strategy none makes one kernel per primitive", () => {
    const f = program("adam");
    const computed = f.body.filter((o) => o.op !== "constant").length;
    expect(kernels("adam", "none").kernels).toHaveLength(computed);
  });
});

describe("the fusion report says why each value was materialized", () => {
  it("names the value and the reason", () => {
    const p = fuse(program("softmax"), { strategy: "elementwise" });
    expect(p.report).toEqual([
      { value: "%0", reason: "strategy elementwise: reduce ops are kernels of their own" },
      { value: "%4", reason: "strategy elementwise: operand of reduce_sum is not fused into it" },
      { value: "%5", reason: "strategy elementwise: reduce ops are kernels of their own" },
      { value: "%8", reason: "returned by @softmax" },
    ]);
  });

  it("keeps a kernel within Metal's 31 buffer slots", () => {
    const n = 40;
    const params = Array.from({ length: n }, (_, i) => `%a${i}: f32[4]`).join(", ");
    const adds = Array.from({ length: n - 1 }, (_, i) => `  %${i} = add ${i === 0 ? "%a0" : `%${i - 1}`}, %a${i + 1} : f32[4]`).join("\n");
    const f = parseFunc(`func @wide(${params}) -> (f32[4]) {\n${adds}\n  return %${n - 2}\n}`);
    const p = fuse(f);
    expect(p.kernels.length).toBeGreaterThan(1);
    for (const k of p.kernels) expect(k.buffers.length).toBeLessThanOrEqual(30);
    const inputs = inputsFor(f);
    expect(Array.from(interpretProgram(p, inputs)[0]!.data)).toEqual(Array.from(interpret(f, inputs)[0]!.data));
  });
});
