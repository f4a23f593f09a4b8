import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DTypeError,
  inferType,
  ravel,
  ShapeError,
  size,
  strides,
  type Tensor,
  tensorType,
  unravel,
} from "../../src/ir/index.js";
import { runOp, t, vals } from "../support/runOp.js";

const gather = (a: Tensor, idx: Tensor, axis: number) => runOp("gather", { axis }, [a, idx]);
const scatterAdd = (a: Tensor, idx: Tensor, upd: Tensor, axis: number, mode: "dtype" | "float64" = "dtype") =>
  runOp("scatter_add", { axis }, [a, idx, upd], { mode });

describe("gather", () => {
  const x5 = t("float32", [5], [10, 11, 12, 13, 14]);
  const a23 = t("int32", [2, 3], [1, 2, 3, 4, 5, 6]);
  const a32 = t("int32", [3, 2], [1, 2, 3, 4, 5, 6]);

  it("picks elements of a 1-D array", () => {
    const r = gather(x5, t("int32", [4], [3, 0, 3, 1]), 0);
    expect(r.type).toEqual(tensorType("float32", [4]));
    expect(vals(r)).toEqual([13, 10, 13, 11]);
  });

  it("picks rows along axis 0", () => {
    const r = gather(a32, t("int32", [2], [2, 0]), 0);
    expect(r.type).toEqual(tensorType("int32", [2, 2]));
    expect(vals(r)).toEqual([5, 6, 1, 2]);
  });

  it("picks columns along axis 1", () => {
    const r = gather(a23, t("uint32", [3], [2, 2, 0]), 1);
    expect(r.type).toEqual(tensorType("int32", [2, 3]));
    expect(vals(r)).toEqual([3, 3, 1, 6, 6, 4]);
  });

  it("puts a multi-dimensional index array in place of the axis", () => {
    const idx = t("int32", [2, 2], [0, 2, 1, 1]);
    const r1 = gather(a23, idx, 1);
    expect(r1.type).toEqual(tensorType("int32", [2, 2, 2]));
    expect(vals(r1)).toEqual([1, 3, 2, 2, 4, 6, 5, 5]);

    const r0 = gather(a32, t("int32", [2, 2], [2, 0, 1, 1]), 0);
    expect(r0.type).toEqual(tensorType("int32", [2, 2, 2]));
    expect(vals(r0)).toEqual([5, 6, 1, 2, 3, 4, 3, 4]);
  });

  it("gathers along a middle axis of a 3-D array", () => {
    const a = t("float32", [2, 3, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const r = gather(a, t("int32", [2], [2, 0]), 1);
    expect(r.type).toEqual(tensorType("float32", [2, 2, 2]));
    expect(vals(r)).toEqual([4, 5, 0, 1, 10, 11, 6, 7]);
  });

  it("removes the axis for a scalar index", () => {
    expect(vals(gather(x5, t("int32", [], [2]), 0))).toEqual([12]);
    const r = gather(a23, t("int32", [], [1]), 1);
    expect(r.type).toEqual(tensorType("int32", [2]));
    expect(vals(r)).toEqual([2, 5]);
  });

  it("clamps out-of-range indices, negative ones included", () => {
    expect(vals(gather(x5, t("int32", [5], [-1, 5, 100, -2147483648, 2]), 0))).toEqual([10, 14, 14, 10, 12]);
    expect(vals(gather(x5, t("uint32", [2], [4294967295, 0]), 0))).toEqual([14, 10]);
    expect(vals(gather(a32, t("int32", [2], [-3, 7]), 0))).toEqual([1, 2, 5, 6]);
  });

  it("gathers bool arrays", () => {
    const r = gather(t("bool", [2], [1, 0]), t("int32", [3], [1, 1, 0]), 0);
    expect(r.type).toEqual(tensorType("bool", [3]));
    expect(vals(r)).toEqual([0, 0, 1]);
  });

  it("gives an empty result for an empty index array", () => {
    const r = gather(x5, t("int32", [0], []), 0);
    expect(r.type).toEqual(tensorType("float32", [0]));
    expect(vals(r)).toEqual([]);
    expect(gather(a23, t("int32", [0], []), 1).type).toEqual(tensorType("int32", [2, 0]));
    expect(gather(t("float32", [0], []), t("int32", [0], []), 0).type).toEqual(tensorType("float32", [0]));
  });

  it("rejects gathering from a zero-length axis", () => {
    const f0 = tensorType("float32", [0]);
    const f20 = tensorType("float32", [2, 0]);
    const one = tensorType("int32", [1]);
    expect(() => inferType("gather", [f0, one], { axis: 0 })).toThrow(ShapeError);
    expect(() => inferType("gather", [f0, one], { axis: 0 })).toThrow(/gather: .*i32\[1\].*f32\[0\]/);
    expect(() => inferType("gather", [f20, one], { axis: 1 })).toThrow(ShapeError);
    // Along the non-empty axis the result is simply empty.
    expect(inferType("gather", [f20, one], { axis: 0 })).toEqual(tensorType("float32", [1, 0]));
  });

  it("rejects non-integer indices and bad axes", () => {
    const a = tensorType("float32", [3]);
    expect(() => inferType("gather", [a, tensorType("float32", [2])], { axis: 0 })).toThrow(DTypeError);
    expect(() => inferType("gather", [a, tensorType("bool", [2])], { axis: 0 })).toThrow(/gather: .*bool\[2\]/);
    expect(() => inferType("gather", [a, tensorType("int32", [2])], { axis: 1 })).toThrow(ShapeError);
    expect(() => inferType("gather", [a, tensorType("int32", [2])], { axis: 1 })).toThrow(/gather: .*f32\[3\]/);
    expect(() => inferType("gather", [a, tensorType("int32", [2])], { axis: -1 })).toThrow(ShapeError);
    expect(() => inferType("gather", [tensorType("float32", []), tensorType("int32", [])], { axis: 0 })).toThrow(
      ShapeError,
    );
  });

  it("matches a direct multi-index formula, with clamping", () => {
    const arb = fc
      .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })
      .chain((shape) =>
        fc.record({
          shape: fc.constant(shape),
          axis: fc.integer({ min: 0, max: shape.length - 1 }),
          values: fc.array(fc.integer({ min: -1000, max: 1000 }), {
            minLength: size(shape),
            maxLength: size(shape),
          }),
          idxShape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
        }),
      )
      .chain((c) =>
        fc.record({
          c: fc.constant(c),
          idx: fc.array(fc.integer({ min: -3, max: 7 }), {
            minLength: size(c.idxShape),
            maxLength: size(c.idxShape),
          }),
        }),
      );
    fc.assert(
      fc.property(arb, ({ c, idx }) => {
        const r = gather(t("int32", c.shape, c.values), t("int32", c.idxShape, idx), c.axis);
        const n = c.shape[c.axis]!;
        const q = c.idxShape.length;
        const expected = vals(r).map((_, i) => {
          const m = unravel(i, r.type.shape);
          const j = ravel(m.slice(c.axis, c.axis + q), strides(c.idxShape));
          const k = Math.min(Math.max(idx[j]!, 0), n - 1);
          const src = [...m.slice(0, c.axis), k, ...m.slice(c.axis + q)];
          return c.values[ravel(src, strides(c.shape))]!;
        });
        expect(vals(r)).toEqual(expected);
      }),
    );
  });
});

describe("scatter_add", () => {
  it("adds updates into a 1-D array", () => {
    const r = scatterAdd(t("float32", [4], [1, 1, 1, 1]), t("int32", [2], [2, 0]), t("float32", [2], [10, 20]), 0);
    expect(r.type).toEqual(tensorType("float32", [4]));
    expect(vals(r)).toEqual([21, 1, 11, 1]);
  });

  it("sums duplicate indices", () => {
    const r = scatterAdd(t("int32", [3], [0, 0, 0]), t("int32", [4], [1, 1, 1, 2]), t("int32", [4], [1, 2, 3, 4]), 0);
    expect(vals(r)).toEqual([0, 6, 4]);
  });

  it("drops out-of-range indices, negative ones included", () => {
    const zeros = t("int32", [3], [0, 0, 0]);
    expect(vals(scatterAdd(zeros, t("int32", [4], [-1, 3, 1, 100]), t("int32", [4], [5, 6, 7, 8]), 0))).toEqual([
      0, 7, 0,
    ]);
    expect(vals(scatterAdd(zeros, t("uint32", [2], [4294967295, 0]), t("int32", [2], [5, 6]), 0))).toEqual([6, 0, 0]);
  });

  it("adds rows along axis 0", () => {
    const r = scatterAdd(
      t("int32", [3, 2], [0, 0, 0, 0, 0, 0]),
      t("int32", [3], [2, 0, 2]),
      t("int32", [3, 2], [1, 2, 3, 4, 5, 6]),
      0,
    );
    expect(vals(r)).toEqual([3, 4, 0, 0, 6, 8]);
  });

  it("adds columns along axis 1", () => {
    const r = scatterAdd(
      t("int32", [2, 3], [1, 1, 1, 2, 2, 2]),
      t("int32", [3], [0, 2, 0]),
      t("int32", [2, 3], [1, 2, 3, 4, 5, 6]),
      1,
    );
    expect(vals(r)).toEqual([5, 1, 3, 12, 2, 7]);
  });

  it("takes updates shaped by a multi-dimensional index array", () => {
    const r0 = scatterAdd(
      t("int32", [3], [0, 0, 0]),
      t("int32", [2, 2], [0, 2, 2, -1]),
      t("int32", [2, 2], [1, 2, 3, 4]),
      0,
    );
    expect(vals(r0)).toEqual([1, 0, 5]);
    const r1 = scatterAdd(
      t("int32", [2, 3], [0, 0, 0, 0, 0, 0]),
      t("int32", [1, 2], [2, 0]),
      t("int32", [2, 1, 2], [1, 2, 3, 4]),
      1,
    );
    expect(r1.type).toEqual(tensorType("int32", [2, 3]));
    expect(vals(r1)).toEqual([2, 0, 1, 4, 0, 3]);
  });

  it("takes a scalar index with an update lacking the axis", () => {
    const r = scatterAdd(t("float32", [3], [0, 0, 0]), t("int32", [], [1]), t("float32", [], [7]), 0);
    expect(vals(r)).toEqual([0, 7, 0]);
  });

  it("returns the operand unchanged for an empty index array", () => {
    const r = scatterAdd(t("float32", [3], [1, 2, 3]), t("int32", [0], []), t("float32", [0], []), 0);
    expect(vals(r)).toEqual([1, 2, 3]);
    const r2 = scatterAdd(t("float32", [0], []), t("int32", [0], []), t("float32", [0], []), 0);
    expect(vals(r2)).toEqual([]);
  });

  it("rounds each add to the result dtype, or keeps it exact in float64 mode", () => {
    const a = t("float32", [1], [1]);
    const idx = t("int32", [2], [0, 0]);
    const upd = t("float32", [2], [2 ** -24, 2 ** -24]);
    // 1 + 2^-24 is a tie in float32 and rounds back to 1, twice.
    expect(vals(scatterAdd(a, idx, upd, 0))).toEqual([1]);
    expect(vals(scatterAdd(a, idx, upd, 0, "float64"))).toEqual([1 + 2 ** -23]);
    // In float16 each add of 1 to 2048 is a tie (2049) and rounds back to even, 2048.
    const h = scatterAdd(t("float16", [1], [0]), t("int32", [3], [0, 0, 0]), t("float16", [3], [2048, 1, 1]), 0);
    expect(vals(h)).toEqual([2048]);
  });

  it("wraps integer sums in either mode", () => {
    for (const mode of ["dtype", "float64"] as const) {
      const i = scatterAdd(t("int32", [1], [2147483647]), t("int32", [1], [0]), t("int32", [1], [1]), 0, mode);
      expect(vals(i)).toEqual([-2147483648]);
      const u = scatterAdd(t("uint32", [1], [0]), t("int32", [2], [0, 0]), t("uint32", [2], [4294967295, 2]), 0, mode);
      expect(vals(u)).toEqual([1]);
    }
  });

  it("rejects bad dtypes, shapes and axes", () => {
    const f3 = tensorType("float32", [3]);
    const i2 = tensorType("int32", [2]);
    const f2 = tensorType("float32", [2]);
    const b3 = tensorType("bool", [3]);
    expect(() => inferType("scatter_add", [b3, i2, tensorType("bool", [2])], { axis: 0 })).toThrow(DTypeError);
    expect(() => inferType("scatter_add", [b3, i2, tensorType("bool", [2])], { axis: 0 })).toThrow(
      /scatter_add: .*bool\[3\]/,
    );
    expect(() => inferType("scatter_add", [f3, i2, tensorType("int32", [2])], { axis: 0 })).toThrow(DTypeError);
    expect(() => inferType("scatter_add", [f3, i2, tensorType("int32", [2])], { axis: 0 })).toThrow(
      /i32\[2\].*f32\[3\]/,
    );
    expect(() => inferType("scatter_add", [f3, tensorType("float32", [2]), f2], { axis: 0 })).toThrow(DTypeError);
    expect(() => inferType("scatter_add", [f3, i2, tensorType("float32", [3])], { axis: 0 })).toThrow(ShapeError);
    expect(() => inferType("scatter_add", [f3, i2, tensorType("float32", [3])], { axis: 0 })).toThrow(
      /scatter_add: .*f32\[3\].*i32\[2\].*\[2\]/,
    );
    expect(() =>
      inferType("scatter_add", [tensorType("float32", [2, 3]), i2, tensorType("float32", [2, 2])], { axis: 0 }),
    ).toThrow(ShapeError);
    expect(() => inferType("scatter_add", [f3, i2, f2], { axis: 1 })).toThrow(ShapeError);
    expect(() => inferType("scatter_add", [f3, i2, f2], { axis: -1 })).toThrow(ShapeError);
    expect(inferType("scatter_add", [tensorType("float32", [2, 3]), i2, tensorType("float32", [2, 2])], { axis: 1 }))
      .toEqual(tensorType("float32", [2, 3]));
  });

  it("undoes a gather through a permutation exactly (integers)", () => {
    const arb = fc
      .record({
        rows: fc.integer({ min: 1, max: 5 }),
        cols: fc.integer({ min: 1, max: 5 }),
        axis: fc.integer({ min: 0, max: 1 }),
      })
      .chain((c) => {
        const n = c.axis === 0 ? c.rows : c.cols;
        const all = Array.from({ length: n }, (_, i) => i);
        return fc.record({
          c: fc.constant(c),
          perm: fc.shuffledSubarray(all, { minLength: n, maxLength: n }),
          values: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), {
            minLength: c.rows * c.cols,
            maxLength: c.rows * c.cols,
          }),
        });
      });
    fc.assert(
      fc.property(arb, ({ c, perm, values }) => {
        const x = t("int32", [c.rows, c.cols], values);
        const p = t("int32", [perm.length], perm);
        const zeros = t("int32", [c.rows, c.cols], new Array<number>(values.length).fill(0));
        expect(vals(scatterAdd(zeros, p, gather(x, p, c.axis), c.axis))).toEqual(values);
      }),
    );
  });

  it("matches a direct sum over matching indices (1-D)", () => {
    const arb = fc.integer({ min: 0, max: 5 }).chain((n) =>
      fc.integer({ min: 0, max: 8 }).chain((m) =>
        fc.record({
          a: fc.array(fc.integer({ min: -100, max: 100 }), { minLength: n, maxLength: n }),
          idx: fc.array(fc.integer({ min: -2, max: n + 2 }), { minLength: m, maxLength: m }),
          upd: fc.array(fc.integer({ min: -100, max: 100 }), { minLength: m, maxLength: m }),
        }),
      ),
    );
    fc.assert(
      fc.property(arb, ({ a, idx, upd }) => {
        const r = scatterAdd(
          t("int32", [a.length], a),
          t("int32", [idx.length], idx),
          t("int32", [upd.length], upd),
          0,
        );
        const expected = a.map((v, k) => v + upd.filter((_, j) => idx[j] === k).reduce((s, u) => s + u, 0));
        expect(vals(r)).toEqual(expected);
      }),
    );
  });
});
