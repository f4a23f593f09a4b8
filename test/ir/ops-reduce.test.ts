import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DType, DTypeError, registry, ShapeError, type Tensor } from "../../src/ir/index.js";
import { runOp, t, vals } from "../support/runOp.js";

// [[1, 2, 3], [4, 5, 6]]
const m23 = (dtype: DType = "float32") => t(dtype, [2, 3], [1, 2, 3, 4, 5, 6]);

describe("reduce_sum / reduce_prod / reduce_max / reduce_min", () => {
  it("are reduce-class ops over a list of axes", () => {
    for (const op of ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"] as const) {
      expect(registry[op].fusion).toBe("reduce");
      expect(registry[op].arity).toBe(1);
      expect(registry[op].attrs).toEqual({ axes: "ints" });
    }
  });

  it("remove the reduced axes", () => {
    const cols = runOp("reduce_sum", { axes: [0] }, [m23()]);
    expect(cols.type).toEqual({ dtype: "float32", shape: [3] });
    expect(vals(cols)).toEqual([5, 7, 9]);
    expect(vals(runOp("reduce_sum", { axes: [1] }, [m23()]))).toEqual([6, 15]);
    const all = runOp("reduce_sum", { axes: [0, 1] }, [m23()]);
    expect(all.type.shape).toEqual([]);
    expect(vals(all)).toEqual([21]);
    expect(vals(runOp("reduce_prod", { axes: [1] }, [m23()]))).toEqual([6, 120]);
    expect(vals(runOp("reduce_prod", { axes: [0, 1] }, [m23()]))).toEqual([720]);
    expect(vals(runOp("reduce_max", { axes: [0] }, [t("float32", [2, 3], [1, 9, -3, 4, 2, -5])]))).toEqual([4, 9, -3]);
    expect(vals(runOp("reduce_min", { axes: [0] }, [t("float32", [2, 3], [1, 9, -3, 4, 2, -5])]))).toEqual([1, 2, -5]);
    expect(vals(runOp("reduce_max", { axes: [1] }, [t("int32", [2, 2], [-7, -8, 3, 3])]))).toEqual([-7, 3]);
  });

  it("reduce a middle axis of a rank-3 array", () => {
    // x[i, j, k] = 100 i + 10 j + k for shape [2, 3, 2]; summing j gives 300 i + 30 + 3 k
    const data: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) data.push(100 * i + 10 * j + k);
    const r = runOp("reduce_sum", { axes: [1] }, [t("int32", [2, 3, 2], data)]);
    expect(r.type).toEqual({ dtype: "int32", shape: [2, 2] });
    expect(vals(r)).toEqual([30, 33, 330, 333]);
    expect(vals(runOp("reduce_max", { axes: [0, 2] }, [t("int32", [2, 3, 2], data)]))).toEqual([101, 111, 121]);
  });

  it("treat empty axes as the identity, even on an empty array", () => {
    expect(vals(runOp("reduce_sum", { axes: [] }, [m23()]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runOp("reduce_max", { axes: [] }, [t("float32", [2, 3], [1, 2, 3, 4, 5, 6])]).type.shape).toEqual([2, 3]);
    const empty = runOp("reduce_max", { axes: [] }, [t("float32", [0, 2], [])]);
    expect(empty.type.shape).toEqual([0, 2]);
  });

  it("handle size-1 dims", () => {
    const x = t("float32", [1, 3, 1], [4, 5, 6]);
    expect(vals(runOp("reduce_sum", { axes: [0, 2] }, [x]))).toEqual([4, 5, 6]);
    expect(vals(runOp("reduce_min", { axes: [0] }, [x]))).toEqual([4, 5, 6]);
    expect(vals(runOp("reduce_prod", { axes: [1] }, [x]))).toEqual([120]);
  });

  it("give 0 for an empty sum and 1 for an empty product", () => {
    const x = t("float32", [0, 3], []);
    const s = runOp("reduce_sum", { axes: [0] }, [x]);
    expect(s.type.shape).toEqual([3]);
    expect(vals(s)).toEqual([0, 0, 0]);
    expect(vals(runOp("reduce_prod", { axes: [0] }, [x]))).toEqual([1, 1, 1]);
    expect(vals(runOp("reduce_sum", { axes: [0, 1] }, [x]))).toEqual([0]);
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("int32", [0], [])]))).toEqual([1]);
    // reducing a non-empty axis of an empty array gives an empty result
    expect(runOp("reduce_sum", { axes: [1] }, [x]).type.shape).toEqual([0]);
    expect(runOp("reduce_max", { axes: [1] }, [x]).type.shape).toEqual([0]);
  });

  it("reject max/min over a zero-length axis", () => {
    for (const op of ["reduce_max", "reduce_min"] as const) {
      const f = () => runOp(op, { axes: [0] }, [t("float32", [0, 3], [])]);
      expect(f).toThrow(ShapeError);
      expect(f).toThrow(new RegExp(`^${op}: .*f32\\[0,3\\].*length 0`));
    }
  });

  it("reject axes that are not normalized", () => {
    const bad = [[-1], [2], [1, 0], [0, 0], [0.5]];
    for (const axes of bad) {
      const f = () => runOp("reduce_sum", { axes }, [m23()]);
      expect(f).toThrow(ShapeError);
      expect(f).toThrow(/^reduce_sum: axes/);
    }
    expect(() => runOp("reduce_max", { axes: [2] }, [m23()])).toThrow(/out of range \[0, 2\) for f32\[2,3\]/);
    expect(() => runOp("reduce_min", { axes: [1, 0] }, [m23()])).toThrow(/unique and sorted ascending/);
    expect(() => runOp("reduce_sum", { axes: [0] }, [t("float32", [], [1])])).toThrow(ShapeError);
  });

  it("take numeric sum/prod and numeric-or-bool max/min", () => {
    const b = t("bool", [3], [1, 0, 1]);
    for (const op of ["reduce_sum", "reduce_prod"] as const) {
      const f = () => runOp(op, { axes: [0] }, [b]);
      expect(f).toThrow(DTypeError);
      expect(f).toThrow(new RegExp(`^${op}: operand bool\\[3\\] must be numeric`));
    }
    expect(vals(runOp("reduce_max", { axes: [0] }, [b]))).toEqual([1]);
    expect(vals(runOp("reduce_min", { axes: [0] }, [b]))).toEqual([0]);
    expect(runOp("reduce_max", { axes: [0] }, [b]).type.dtype).toBe("bool");
  });

  it("wrap integer sums and products at 32 bits", () => {
    expect(vals(runOp("reduce_sum", { axes: [0] }, [t("int32", [2], [2147483647, 1])]))).toEqual([-2147483648]);
    expect(vals(runOp("reduce_sum", { axes: [0] }, [t("uint32", [2], [4294967295, 2])]))).toEqual([1]);
    // 2^16 * 2^16 = 2^32 wraps to 0; 2^16 * 2^15 = 2^31 wraps to int32 min
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("int32", [2], [65536, 65536])]))).toEqual([0]);
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("int32", [2], [65536, 32768])]))).toEqual([-2147483648]);
    // 3^21 = 10460353203 = 2 * 2^32 + 1870418611: only exact low bits survive the wrap
    const threes = t("int32", [21], new Array<number>(21).fill(3));
    expect(vals(runOp("reduce_prod", { axes: [0] }, [threes]))).toEqual([1870418611]);
    // 3^21 mod 2^32 as uint32 is the same bit pattern, and 2^32 - 1 squared is 1 mod 2^32
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("uint32", [21], new Array<number>(21).fill(3))]))).toEqual([
      1870418611,
    ]);
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("uint32", [2], [4294967295, 4294967295])]))).toEqual([1]);
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("int32", [3], [-3, 5, -2])]))).toEqual([30]);
  });

  it("accumulate floats in float32, exactly in float64 mode", () => {
    const n = 1000;
    const tinyThenOne = t("float32", [n + 1], [...new Array<number>(n).fill(1e-8), 1]);
    const oneThenTiny = t("float32", [n + 1], [1, ...new Array<number>(n).fill(1e-8)]);
    // 1e-8 is below half an ulp of 1 in float32 (2^-24), so each step rounds back to 1
    expect(vals(runOp("reduce_sum", { axes: [0] }, [oneThenTiny]))).toEqual([1]);
    // summed first, the tiny terms add up to about 1e-5, which float32 can hold beside 1
    expect(vals(runOp("reduce_sum", { axes: [0] }, [tinyThenOne]))[0]).toBeCloseTo(1.00001, 6);
    const exact = vals(runOp("reduce_sum", { axes: [0] }, [oneThenTiny], { mode: "float64" }))[0]!;
    expect(exact).toBeCloseTo(1 + n * Math.fround(1e-8), 12);
    expect(exact).not.toBe(1);
  });

  it("accumulate float16 in float32 and round once at the end", () => {
    // in float16, 2048 + 1 rounds back to 2048 (ties to even); in float32 the sum is 2050,
    // which float16 holds exactly
    expect(vals(runOp("reduce_sum", { axes: [0] }, [t("float16", [3], [2048, 1, 1])]))).toEqual([2050]);
    expect(runOp("reduce_sum", { axes: [0] }, [t("float16", [3], [2048, 1, 1])]).type.dtype).toBe("float16");
  });

  it("round float products after each step", () => {
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: the last term is a tie in float32 and rounds to even
    const x = 1 + 2 ** -12;
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("float32", [2], [x, x])]))).toEqual([1 + 2 ** -11]);
    expect(vals(runOp("reduce_prod", { axes: [0] }, [t("float32", [2], [x, x])], { mode: "float64" }))).toEqual([
      1 + 2 ** -11 + 2 ** -24,
    ]);
  });

  it("propagate NaN", () => {
    const x = t("float32", [2, 3], [1, NaN, 2, -Infinity, 5, Infinity]);
    expect(vals(runOp("reduce_sum", { axes: [1] }, [x]))).toEqual([NaN, NaN]); // -inf + inf is NaN too
    expect(vals(runOp("reduce_prod", { axes: [1] }, [x]))).toEqual([NaN, -Infinity]);
    expect(vals(runOp("reduce_max", { axes: [1] }, [x]))).toEqual([NaN, Infinity]);
    expect(vals(runOp("reduce_min", { axes: [1] }, [x]))).toEqual([NaN, -Infinity]);
    expect(vals(runOp("reduce_max", { axes: [0] }, [t("float32", [3], [NaN, 1, 2])]))).toEqual([NaN]);
    expect(vals(runOp("reduce_min", { axes: [0] }, [t("float32", [3], [1, 2, NaN])]))).toEqual([NaN]);
  });

  it("sum over all axes equals a sum over one axis then the rest (int32, exact)", () => {
    const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    const arb = fc
      .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 })
      .chain((shape) =>
        fc.record({
          shape: fc.constant(shape),
          data: fc.array(int32, { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }),
          axis: fc.integer({ min: 0, max: shape.length - 1 }),
        }),
      );
    fc.assert(
      fc.property(arb, ({ shape, data, axis }) => {
        const x: Tensor = t("int32", shape, data);
        const all = runOp("reduce_sum", { axes: shape.map((_, d) => d) }, [x]);
        const partial = runOp("reduce_sum", { axes: [axis] }, [x]);
        const rest = runOp("reduce_sum", { axes: partial.type.shape.map((_, d) => d) }, [partial]);
        // wrapping addition is associative, so the exact sum mod 2^32 is the oracle
        const oracle = Number(BigInt.asIntN(32, data.reduce((a, v) => a + BigInt(v), 0n)));
        expect(vals(all)).toEqual([oracle]);
        expect(vals(rest)).toEqual([oracle]);
      }),
    );
  });
});

describe("argmax / argmin", () => {
  it("are reduce-class ops over one axis, giving int32", () => {
    for (const op of ["argmax", "argmin"] as const) {
      expect(registry[op].fusion).toBe("reduce");
      expect(registry[op].attrs).toEqual({ axis: "int" });
    }
    const r = runOp("argmax", { axis: 1 }, [m23()]);
    expect(r.type).toEqual({ dtype: "int32", shape: [2] });
  });

  it("give the index of the extreme, the first one on ties", () => {
    const x = t("float32", [2, 3], [1, 3, 3, 5, 2, 5]);
    expect(vals(runOp("argmax", { axis: 1 }, [x]))).toEqual([1, 0]);
    expect(vals(runOp("argmax", { axis: 0 }, [x]))).toEqual([1, 0, 1]);
    expect(vals(runOp("argmin", { axis: 1 }, [x]))).toEqual([0, 1]);
    expect(vals(runOp("argmin", { axis: 0 }, [x]))).toEqual([0, 1, 0]);
    expect(vals(runOp("argmin", { axis: 0 }, [t("int32", [4], [7, 7, 7, 7])]))).toEqual([0]);
    expect(vals(runOp("argmax", { axis: 0 }, [t("bool", [3], [0, 1, 1])]))).toEqual([1]);
    expect(vals(runOp("argmax", { axis: 0 }, [t("float32", [3], [-Infinity, -1, -Infinity])]))).toEqual([1]);
  });

  it("treat the first NaN as both the maximum and the minimum", () => {
    const x = t("float32", [4], [1, NaN, 5, NaN]);
    expect(vals(runOp("argmax", { axis: 0 }, [x]))).toEqual([1]);
    expect(vals(runOp("argmin", { axis: 0 }, [x]))).toEqual([1]);
    expect(vals(runOp("argmax", { axis: 0 }, [t("float32", [2], [NaN, Infinity])]))).toEqual([0]);
    expect(vals(runOp("argmin", { axis: 0 }, [t("float32", [3], [-Infinity, 0, NaN])]))).toEqual([2]);
  });

  it("handle size-1 and empty non-reduced dims", () => {
    expect(vals(runOp("argmax", { axis: 0 }, [t("float32", [1, 2], [4, 5])]))).toEqual([0, 0]);
    const r = runOp("argmin", { axis: 0 }, [t("float32", [3, 0], [])]);
    expect(r.type).toEqual({ dtype: "int32", shape: [0] });
  });

  it("reject a zero-length axis and an axis out of range", () => {
    const f = () => runOp("argmax", { axis: 1 }, [t("float32", [2, 0], [])]);
    expect(f).toThrow(ShapeError);
    expect(f).toThrow(/^argmax: .*f32\[2,0\]/);
    for (const axis of [-1, 2, 0.5]) {
      const g = () => runOp("argmin", { axis }, [m23()]);
      expect(g).toThrow(ShapeError);
      expect(g).toThrow(/^argmin: axis .* out of range \[0, 2\) for f32\[2,3\]/);
    }
    expect(() => runOp("argmax", { axis: 0 }, [t("float32", [], [1])])).toThrow(ShapeError);
  });
});
