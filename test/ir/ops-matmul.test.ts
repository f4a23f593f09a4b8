import { describe, expect, it } from "vitest";
import { DTypeError, registry, ShapeError } from "../../src/ir/index.js";
import { runOp, t, vals } from "../support/runOp.js";

describe("matmul", () => {
  it("is a two-operand contraction without attributes", () => {
    expect(registry.matmul.fusion).toBe("contraction");
    expect(registry.matmul.arity).toBe(2);
    expect(registry.matmul.attrs).toEqual({});
  });

  it("multiplies matrices", () => {
    const r = runOp("matmul", {}, [t("float32", [2, 2], [1, 2, 3, 4]), t("float32", [2, 2], [5, 6, 7, 8])]);
    expect(r.type).toEqual({ dtype: "float32", shape: [2, 2] });
    expect(vals(r)).toEqual([19, 22, 43, 50]);
    // [[1, 2, 3], [4, 5, 6]] x [[1], [0], [-1]]
    const c = runOp("matmul", {}, [t("int32", [2, 3], [1, 2, 3, 4, 5, 6]), t("int32", [3, 1], [1, 0, -1])]);
    expect(c.type).toEqual({ dtype: "int32", shape: [2, 1] });
    expect(vals(c)).toEqual([-2, -2]);
    // a row times a column, and a column times a row
    expect(vals(runOp("matmul", {}, [t("float32", [1, 3], [1, 2, 3]), t("float32", [3, 1], [4, 5, 6])]))).toEqual([32]);
    expect(vals(runOp("matmul", {}, [t("float32", [2, 1], [2, 3]), t("float32", [1, 3], [1, 10, 100])]))).toEqual([
      2, 20, 200, 3, 30, 300,
    ]);
  });

  it("multiplies each batch separately", () => {
    // batch 0: [1, 2] . [3, 4] = 11; batch 1: [5, 6] . [7, 8] = 83
    const r = runOp("matmul", {}, [t("float32", [2, 1, 2], [1, 2, 5, 6]), t("float32", [2, 2, 1], [3, 4, 7, 8])]);
    expect(r.type.shape).toEqual([2, 1, 1]);
    expect(vals(r)).toEqual([11, 83]);
    // two batch dims [2, 1]: batch (0, 0) is the identity times b, batch (1, 0) is 2 I times b
    const a = t("int32", [2, 1, 2, 2], [1, 0, 0, 1, 2, 0, 0, 2]);
    const b = t("int32", [2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const r2 = runOp("matmul", {}, [a, b]);
    expect(r2.type.shape).toEqual([2, 1, 2, 2]);
    expect(vals(r2)).toEqual([1, 2, 3, 4, 10, 12, 14, 16]);
  });

  it("handles empty dims: k = 0 gives zeros, m = 0 or a zero batch gives an empty result", () => {
    const z = runOp("matmul", {}, [t("float32", [2, 0], []), t("float32", [0, 3], [])]);
    expect(z.type.shape).toEqual([2, 3]);
    expect(vals(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(runOp("matmul", {}, [t("float32", [0, 2], []), t("float32", [2, 3], [1, 2, 3, 4, 5, 6])]).type.shape).toEqual([
      0, 3,
    ]);
    expect(runOp("matmul", {}, [t("int32", [0, 1, 2], []), t("int32", [0, 2, 1], [])]).type.shape).toEqual([0, 1, 1]);
  });

  it("wraps int32 and uint32 products and sums at each step", () => {
    // 46341^2 = 2147488281, which is 2^31 + 4633 and wraps to -2147479015
    expect(vals(runOp("matmul", {}, [t("int32", [1, 1], [46341]), t("int32", [1, 1], [46341])]))).toEqual([
      -2147479015,
    ]);
    // 65536 * 65536 = 2^32 wraps to 0; plus 65536 * 1
    expect(vals(runOp("matmul", {}, [t("int32", [1, 2], [65536, 65536]), t("int32", [2, 1], [65536, 1])]))).toEqual([
      65536,
    ]);
    expect(vals(runOp("matmul", {}, [t("int32", [1, 2], [2147483647, 1]), t("int32", [2, 1], [1, 1])]))).toEqual([
      -2147483648,
    ]);
    // (2^32 - 1) * 2 = 2^33 - 2, which is 2^32 - 2 mod 2^32
    expect(vals(runOp("matmul", {}, [t("uint32", [1, 1], [4294967295]), t("uint32", [1, 1], [2])]))).toEqual([
      4294967294,
    ]);
    // (2^32 - 1) * 1 + 1 * 1 = 2^32 wraps to 0
    expect(vals(runOp("matmul", {}, [t("uint32", [1, 2], [4294967295, 1]), t("uint32", [2, 1], [1, 1])]))).toEqual([0]);
  });

  it("accumulates floats in float32, exactly in float64 mode", () => {
    const n = 1000;
    const a = t("float32", [1, n + 1], [1, ...new Array<number>(n).fill(1e-8)]);
    const ones = t("float32", [n + 1, 1], new Array<number>(n + 1).fill(1));
    // each 1e-8 is below half an ulp of 1 in float32, so the accumulator stays at 1
    expect(vals(runOp("matmul", {}, [a, ones]))).toEqual([1]);
    const exact = vals(runOp("matmul", {}, [a, ones], { mode: "float64" }))[0]!;
    expect(exact).toBeCloseTo(1 + n * Math.fround(1e-8), 12);
  });

  it("rounds the float16 result once, after a float32 accumulation", () => {
    // 2048 + 1 + 1: a float16 accumulator would stay at 2048 (ties to even)
    const r = runOp("matmul", {}, [t("float16", [1, 3], [2048, 1, 1]), t("float16", [3, 1], [1, 1, 1])]);
    expect(r.type.dtype).toBe("float16");
    expect(vals(r)).toEqual([2050]);
  });

  it("propagates NaN, including 0 * inf", () => {
    expect(vals(runOp("matmul", {}, [t("float32", [1, 2], [1, NaN]), t("float32", [2, 2], [1, 2, 3, 4])]))).toEqual([
      NaN,
      NaN,
    ]);
    expect(vals(runOp("matmul", {}, [t("float32", [1, 2], [NaN, 1]), t("float32", [2, 1], [0, 1])]))).toEqual([NaN]);
    expect(vals(runOp("matmul", {}, [t("float32", [1, 2], [Infinity, 1]), t("float32", [2, 1], [0, 1])]))).toEqual([
      NaN,
    ]);
    // a NaN in one row leaves the other rows alone
    expect(vals(runOp("matmul", {}, [t("float32", [2, 1], [NaN, 2]), t("float32", [1, 1], [3])]))).toEqual([NaN, 6]);
  });

  it("rejects mismatched operands, naming both types", () => {
    const f32 = (shape: number[]) => t("float32", shape, new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0));
    const k = () => runOp("matmul", {}, [f32([2, 3]), f32([4, 5])]);
    expect(k).toThrow(ShapeError);
    expect(k).toThrow("matmul: contracting dims differ: f32[2,3] and f32[4,5]");
    const batch = () => runOp("matmul", {}, [f32([2, 2, 3]), f32([3, 3, 1])]);
    expect(batch).toThrow(ShapeError);
    expect(batch).toThrow("matmul: batch dims differ: f32[2,2,3] and f32[3,3,1]");
    // the frontend broadcasts batch dims; the primitive does not
    expect(() => runOp("matmul", {}, [f32([1, 2, 3]), f32([2, 3, 1])])).toThrow(ShapeError);
    expect(() => runOp("matmul", {}, [f32([2, 2, 3]), f32([3, 1])])).toThrow(/^matmul: .*f32\[2,2,3\] and f32\[3,1\]/);
    const vec = () => runOp("matmul", {}, [f32([3]), f32([3, 1])]);
    expect(vec).toThrow(ShapeError);
    expect(vec).toThrow("matmul: operands f32[3] and f32[3,1] must have rank at least 2");
    const dt = () => runOp("matmul", {}, [f32([2, 3]), t("int32", [3, 1], [1, 2, 3])]);
    expect(dt).toThrow(DTypeError);
    expect(dt).toThrow("matmul: operands f32[2,3] and i32[3,1] differ in dtype");
    const bool = () => runOp("matmul", {}, [t("bool", [1, 1], [1]), t("bool", [1, 1], [1])]);
    expect(bool).toThrow(DTypeError);
    expect(bool).toThrow("matmul: operands bool[1,1] and bool[1,1] must be numeric");
  });
});
