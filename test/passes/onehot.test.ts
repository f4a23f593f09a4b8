// The one-hot form of take_along_axis gradients: index bounds, the clamps they make no-ops, and
// scatters whose indices enumerate their target, against the interpreter.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as sm from "../../src/index.js";
import { type Func, interpret, interpretProgram, parseFunc, type Tensor, tensor } from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import { fuse } from "../../src/passes/fuse.js";
import { oneHotScatters } from "../../src/passes/onehot.js";
import { firstDifference } from "../support/compare.js";

const ops = (f: Func) => f.body.map((o) => o.op);

describe("int32 bounds make clamps no-ops", () => {
  it("drops the clamp of an index into [0, 11] that is already in [0, 11]", () => {
    // %5 = min(max(y, 0), 3) + iota * 4 lies in [0, 3] + [0, 8] = [0, 11].
    const f = parseFunc(`func @f(%y: i32[3,1]) -> (i32[3,1]) {
  %0 = constant {dtype = i32, shape = [], data = [0]} : i32[]
  %1 = broadcast %0 {shape = [3, 1]} : i32[3,1]
  %2 = max %y, %1 : i32[3,1]
  %3 = constant {dtype = i32, shape = [], data = [3]} : i32[]
  %4 = broadcast %3 {shape = [3, 1]} : i32[3,1]
  %5 = min %2, %4 : i32[3,1]
  %6 = iota {dtype = i32, shape = [3, 1], axis = 0} : i32[3,1]
  %7 = constant {dtype = i32, shape = [], data = [4]} : i32[]
  %8 = broadcast %7 {shape = [3, 1]} : i32[3,1]
  %9 = mul %6, %8 : i32[3,1]
  %10 = add %5, %9 : i32[3,1]
  %11 = constant {dtype = i32, shape = [], data = [11]} : i32[]
  %12 = broadcast %11 {shape = [3, 1]} : i32[3,1]
  %13 = min %10, %12 : i32[3,1]
  %14 = max %13, %1 : i32[3,1]
  return %14
}`);
    const g = oneHotScatters(f);
    // The clamp of y itself stays (y is unknown); the outer one goes.
    expect(ops(g).filter((o) => o === "min" || o === "max")).toEqual(["max", "min"]);
    expect(g.results[0]).toBe(g.body.find((o) => o.op === "add")!.result);
  });

  it("keeps a clamp the bounds do not imply", () => {
    // iota * 4 reaches 8, above the clamp's 7.
    const f = parseFunc(`func @f() -> (i32[3]) {
  %0 = iota {dtype = i32, shape = [3], axis = 0} : i32[3]
  %1 = constant {dtype = i32, shape = [], data = [4]} : i32[]
  %2 = broadcast %1 {shape = [3]} : i32[3]
  %3 = mul %0, %2 : i32[3]
  %4 = constant {dtype = i32, shape = [], data = [7]} : i32[]
  %5 = broadcast %4 {shape = [3]} : i32[3]
  %6 = min %3, %5 : i32[3]
  return %6
}`);
    expect(ops(oneHotScatters(f))).toContain("min");
  });
});

/** The gradient of take_along_axis over the last axis of f32[4,3], as the frontend builds it. */
const gradient = `func @g(%y: i32[4], %u: f32[4,1]) -> (f32[4,3]) {
  %0 = reshape %y {shape = [4, 1]} : i32[4,1]
  %1 = constant {dtype = i32, shape = [], data = [0]} : i32[]
  %2 = broadcast %1 {shape = [4, 1]} : i32[4,1]
  %3 = max %0, %2 : i32[4,1]
  %4 = constant {dtype = i32, shape = [], data = [2]} : i32[]
  %5 = broadcast %4 {shape = [4, 1]} : i32[4,1]
  %6 = min %3, %5 : i32[4,1]
  %7 = iota {dtype = i32, shape = [4, 1], axis = 0} : i32[4,1]
  %8 = constant {dtype = i32, shape = [], data = [3]} : i32[]
  %9 = broadcast %8 {shape = [4, 1]} : i32[4,1]
  %10 = mul %7, %9 : i32[4,1]
  %11 = add %6, %10 : i32[4,1]
  %12 = constant {dtype = i32, shape = [], data = [11]} : i32[]
  %13 = broadcast %12 {shape = [4, 1]} : i32[4,1]
  %14 = min %11, %13 : i32[4,1]
  %15 = max %14, %2 : i32[4,1]
  %16 = constant {dtype = f32, shape = [], data = [0]} : f32[]
  %17 = broadcast %16 {shape = [12]} : f32[12]
  %18 = scatter_add %17, %15, %u {axis = 0} : f32[12]
  %19 = reshape %18 {shape = [4, 3]} : f32[4,3]
  return %19
}`;

describe("a scatter over indices that enumerate its target", () => {
  it("becomes select(class == iota, a + update, a) over the target as [rows, classes]", () => {
    const f = parseFunc(gradient);
    const g = oneHotScatters(f);
    expect(ops(g)).not.toContain("scatter_add");
    const text = printFunc(g);
    expect(text).toContain("iota {dtype = i32, shape = [4, 3], axis = 1} : i32[4,3]");
    expect(text).toMatch(/eq %\d+, %\d+ : bool\[4,3\]/);
    expect(text).toMatch(/select %\d+, %\d+, %\d+ : f32\[4,3\]/);
    // Labels out of range and negative are clamped into the row, as the gather clamped them.
    const inputs = [tensor("int32", [4], [2, -1, 7, 0]), tensor("float32", [4, 1], [0.5, -1.5, 2, 3])];
    const want = [0, 0, 0.5, -1.5, 0, 0, 0, 0, 2, 3, 0, 0];
    expect(Array.from(interpret(g, inputs)[0]!.data)).toEqual(want);
    expect(Array.from(interpret(f, inputs)[0]!.data)).toEqual(want);
  });

  it("fuses into one elementwise kernel with what reads it", () => {
    const p = fuse(parseFunc(gradient));
    expect(p.kernels.map((k) => k.kind)).toEqual(["elementwise"]);
  });

  it("leaves a scatter whose indices can hit one cell twice", () => {
    // Without the row offset, two rows' labels can name the same cell.
    const f = parseFunc(`func @g(%y: i32[4], %u: f32[4]) -> (f32[3]) {
  %0 = constant {dtype = i32, shape = [], data = [0]} : i32[]
  %1 = broadcast %0 {shape = [4]} : i32[4]
  %2 = max %y, %1 : i32[4]
  %3 = constant {dtype = i32, shape = [], data = [2]} : i32[]
  %4 = broadcast %3 {shape = [4]} : i32[4]
  %5 = min %2, %4 : i32[4]
  %6 = constant {dtype = f32, shape = [], data = [0]} : f32[]
  %7 = broadcast %6 {shape = [3]} : f32[3]
  %8 = scatter_add %7, %5, %u {axis = 0} : f32[3]
  return %8
}`);
    expect(ops(oneHotScatters(f))).toContain("scatter_add");
  });
});

describe("take_along_axis gradients from the frontend", () => {
  /** The func computing take_along_axis(a, idx, axis) and its gradient with respect to `a` (weights w). */
  function traced(shape: number[], axis: number, idxShape: number[]): Func {
    const fn = (a: sm.Array, idx: sm.Array, w: sm.Array) =>
      sm.valueAndGrad((x: sm.Array) => sm.sum(sm.takeAlongAxis(x, idx, axis).mul(w)))(a);
    const low = sm.compile(fn, { name: "taa" }).lower(sm.zeros(shape), sm.zeros(idxShape, "int32"), sm.zeros(idxShape));
    return parseFunc(low.ir("traced"));
  }

  it("computes what the scatter computes, for any shape, axis and indices (clamped into range)", () => {
    const cases = fc
      .record({ shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), axisSeed: fc.nat(), k: fc.integer({ min: 1, max: 3 }) })
      .chain(({ shape, axisSeed, k }) => {
        const axis = axisSeed % shape.length;
        const idxShape = shape.map((d, i) => (i === axis ? k : d));
        const count = idxShape.reduce((a, b) => a * b, 1);
        return fc.record({
          shape: fc.constant(shape),
          axis: fc.constant(axis),
          idxShape: fc.constant(idxShape),
          idx: fc.array(fc.integer({ min: -shape[axis]! - 1, max: shape[axis]! }), { minLength: count, maxLength: count }),
          w: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: count, maxLength: count }),
          a: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: shape.reduce((x, y) => x * y, 1), maxLength: shape.reduce((x, y) => x * y, 1) }),
        });
      });
    fc.assert(
      fc.property(cases, ({ shape, axis, idxShape, idx, w, a }) => {
        const f = traced(shape, axis, idxShape);
        const inputs: Tensor[] = [tensor("float32", shape, a), tensor("int32", idxShape, idx), tensor("float32", idxShape, w)];
        const want = interpret(f, inputs);
        const g = oneHotScatters(f);
        // One index per row along the axis enumerates the target; several may not.
        if (idxShape[axis] === 1) expect(ops(g)).not.toContain("scatter_add");
        expect(firstDifference(interpret(g, inputs), want)).toBeUndefined();
        expect(firstDifference(interpretProgram(fuse(f), inputs), want)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });
});
