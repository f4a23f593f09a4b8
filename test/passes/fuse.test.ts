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

describe("a row kernel takes a later kernel over the same rows", () => {
  it("softmax's exponentials and the log of their row sums: one row kernel, the max computed once", () => {
    const f = parseFunc(`func @f(%x: f32[4,8]) -> (f32[4,8], f32[4]) {
  %0 = reduce_max %x {axes = [1]} : f32[4]
  %1 = reshape %0 {shape = [4, 1]} : f32[4,1]
  %2 = broadcast %1 {shape = [4, 8]} : f32[4,8]
  %3 = sub %x, %2 : f32[4,8]
  %4 = exp %3 : f32[4,8]
  %5 = reduce_sum %4 {axes = [1]} : f32[4]
  %6 = log %5 : f32[4]
  return %4, %6
}`);
    const p = fuse(f);
    expect(p.kernels.map((k) => k.kind)).toEqual(["row"]);
    expect(p.kernels[0]!.reductions.map((r) => r.op)).toEqual(["max", "sum"]);
    expect(p.kernels[0]!.stores.map((s) => s.loops.length)).toEqual([1, 0]);
    const inputs = inputsFor(f);
    interpretProgram(p, inputs).forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(interpret(f, inputs)[i]!.data)));
  });

  it("reads the row it stores inside a later reduction: the stored expression, at the reduction's index", () => {
    // %a (ten ops) is stored for the matmul, which would otherwise compute it twice over; the
    // sum over its rows joins the row kernel that stores it and reads abs(...) at r1, not %t0.
    const f = parseFunc(`func @f(%x: f32[4,8], %w: f32[2,4]) -> (f32[4], f32[2,8]) {
  %0 = reduce_max %x {axes = [1]} : f32[4]
  %1 = reshape %0 {shape = [4, 1]} : f32[4,1]
  %2 = broadcast %1 {shape = [4, 8]} : f32[4,8]
  %3 = sub %x, %2 : f32[4,8]
  %4 = exp %3 : f32[4,8]
  %c = constant {dtype = f32, shape = [], data = [3]} : f32[]
  %b = broadcast %c {shape = [4, 8]} : f32[4,8]
  %5 = mul %4, %b : f32[4,8]
  %6 = add %5, %b : f32[4,8]
  %7 = mul %6, %6 : f32[4,8]
  %8 = sqrt %7 : f32[4,8]
  %n = neg %8 : f32[4,8]
  %a = abs %n : f32[4,8]
  %9 = reduce_sum %a {axes = [1]} : f32[4]
  %10 = matmul %w, %a : f32[2,8]
  return %9, %10
}`);
    const p = fuse(f);
    expect(p.kernels.map((k) => k.kind)).toEqual(["row", "matmul"]);
    expect(p.kernels[0]!.stores.map((s) => s.buf)).toEqual(["t0", "out0"]);
    expect(printProgram(p)).toContain("%red1 = reduce_sum over r1<8>: abs(neg(sqrt($r1_0 * $r1_0)))");
    const inputs = inputsFor(f);
    interpretProgram(p, inputs).forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(interpret(f, inputs)[i]!.data)));
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

describe("a reduction inside another's loop is computed once per element it stands for", () => {
  it("a @ (h @ w): the inner matmul is materialized rather than recomputed for every row of a", () => {
    // Nested, h @ w would be computed 6 times over: once per row p0 of a, which it does not depend on.
    const f = parseFunc(`func @chain(%a: f32[6,6], %h: f32[6,4], %w: f32[4,3]) -> (f32[6,3]) {
  %0 = matmul %h, %w : f32[6,3]
  %1 = matmul %a, %0 : f32[6,3]
  return %1
}`);
    const p = fuse(f);
    expect(p.kernels.map((k) => k.kind)).toEqual(["matmul", "matmul"]);
    expect(p.report[0]).toEqual({
      value: "%0",
      reason: "matmul over 4 elements would be computed 6 times over, once per grid point it does not depend on",
    });
    const inputs = inputsFor(f);
    expect(Array.from(interpretProgram(p, inputs)[0]!.data)).toEqual(Array.from(interpret(f, inputs)[0]!.data));
  });

  it("take(h @ w, src): the matmul is computed once per row of h, not once per gathered row", () => {
    // 10 gathered rows of a 3-row product: nested, each product row would be computed about 3 times.
    const f = parseFunc(`func @gather(%h: f32[3,4], %w: f32[4,2], %src: i32[10]) -> (f32[10,2]) {
  %0 = matmul %h, %w : f32[3,2]
  %1 = gather %0, %src {axis = 0} : f32[10,2]
  return %1
}`);
    const p = fuse(f);
    expect(p.kernels.map((k) => k.kind)).toEqual(["matmul", "elementwise"]);
    expect(p.report[0]).toEqual({ value: "%0", reason: "matmul over 4 elements would be computed at 20 grid points for its 6 values" });
    const inputs = inputsFor(f);
    expect(Array.from(interpretProgram(p, inputs)[0]!.data)).toEqual(Array.from(interpret(f, inputs)[0]!.data));
  });

  it("a small reduction nested at one element per grid point stays nested", () => {
    // Each of the 4 rows' max is needed once, inside the sum over rows: nothing is repeated.
    const f = parseFunc(`func @f(%x: f32[4,3]) -> (f32[]) {
  %0 = reduce_max %x {axes = [1]} : f32[4]
  %1 = reduce_sum %0 {axes = [0]} : f32[]
  return %1
}`);
    expect(fuse(f).kernels.map((k) => k.kind)).toEqual(["reduce"]);
  });
});

describe("the gradient of take_along_axis is a one-hot, not a scatter", () => {
  it("cross-entropy and its gradient: the loss in one kernel, the gradient in one row kernel", () => {
    const p = kernels("cross-entropy-grad", "full");
    expect(p.kernels.map((k) => k.kind)).toEqual(["reduce", "row"]);
    // The label's cell compared with the class index, in the row kernel's store.
    expect(printProgram(p)).toContain("== ($s0_0 % 5), 0f + neg($s0_2), 0f) +");
  });

  it("without fusion the scatter stays: a zero fill, the adds, and what reads them", () => {
    const p = kernels("cross-entropy-grad", "elementwise");
    expect(p.kernels.filter((k) => k.kind === "scatter")).toHaveLength(1);
  });
});

describe("sharing decisions are revisited one value at a time", () => {
  // %4 = exp(x * 2 + 1) * 3 - 4: five ops and four scalar constants, over the recompute limit
  // of 8 as the rules count (constants included), cheap once literals are free.
  const shared = (consumer: string) =>
    parseFunc(`func @f(%x: f32[4,3], %w: f32[2,4]) -> (f32[], ${consumer.includes("matmul") ? "f32[2,3]" : "f32[4,3]"}) {
  %c2 = constant {dtype = f32, shape = [], data = [2]} : f32[]
  %c1 = constant {dtype = f32, shape = [], data = [1]} : f32[]
  %c3 = constant {dtype = f32, shape = [], data = [3]} : f32[]
  %c4 = constant {dtype = f32, shape = [], data = [4]} : f32[]
  %b2 = broadcast %c2 {shape = [4, 3]} : f32[4,3]
  %b1 = broadcast %c1 {shape = [4, 3]} : f32[4,3]
  %b3 = broadcast %c3 {shape = [4, 3]} : f32[4,3]
  %b4 = broadcast %c4 {shape = [4, 3]} : f32[4,3]
  %0 = mul %x, %b2 : f32[4,3]
  %1 = add %0, %b1 : f32[4,3]
  %2 = exp %1 : f32[4,3]
  %3 = mul %2, %b3 : f32[4,3]
  %4 = sub %3, %b4 : f32[4,3]
  %5 = reduce_sum %4 {axes = [0, 1]} : f32[]
  ${consumer}
  return %5, %6
}`);

  it("a value stored because two kernels use it goes back inline when that saves a kernel", () => {
    const f = shared("%6 = mul %4, %b2 : f32[4,3]");
    const p = fuse(f);
    // The sum and the product each compute %4: two kernels, not three.
    expect(p.kernels.map((k) => k.kind)).toEqual(["reduce", "elementwise"]);
    expect(p.report.map((n) => n.value)).toEqual(["%13", "%14"]);
    const inputs = inputsFor(f);
    interpretProgram(p, inputs).forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(interpret(f, inputs)[i]!.data)));
  });

  it("but stays stored when a kernel would compute it again for grid points it does not depend on", () => {
    // As a matmul operand, %4[r0, p1] would be computed for each of the 2 rows p0 of the result.
    const f = shared("%6 = matmul %w, %4 : f32[2,3]");
    const p = fuse(f);
    expect(p.kernels.map((k) => k.kind)).toEqual(["elementwise", "reduce", "matmul"]);
    expect(p.report[0]).toEqual({ value: "%12", reason: "used by 2 kernels; recomputing costs 9 ops over 1 buffers" });
    const inputs = inputsFor(f);
    interpretProgram(p, inputs).forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(interpret(f, inputs)[i]!.data)));
  });
});

describe("training steps", () => {
  it("an MLP step (dense, relu, dense, cross-entropy, Adam) in nine kernels, none a scatter", () => {
    const p = kernels("mlp-step", "full");
    expect(p.kernels.map((k) => k.kind)).toEqual(["matmul", "matmul", "reduce", "row", "matmul", "matmul", "reduce", "matmul", "reduce"]);
    expect(kernels("mlp-step", "elementwise").kernels).toHaveLength(23);
  });

  it("a GCN step computes what the graph computes under every strategy", () => {
    const full = kernels("gcn-step", "full");
    expect(full.kernels.some((k) => k.kind === "scatter")).toBe(false);
    expect(full.kernels.length * 2).toBeLessThanOrEqual(kernels("gcn-step", "elementwise").kernels.length);
    kernels("gcn-step", "none");
  });
});
