import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectClose, expectError, vals } from "./support.js";

const f32 = (x: number) => Math.fround(x);

describe("binary arithmetic: promotion and broadcasting", () => {
  test("[2,3] + [3] and [2,1] * [3] broadcast as in NumPy", () => {
    const a = sm.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.add(sm.array([10, 20, 30])).tolist()).toEqual([
      [11, 22, 33],
      [14, 25, 36],
    ]);
    expect(sm.mul(sm.array([[1], [2]]), sm.array([1, 2, 3])).tolist()).toEqual([
      [1, 2, 3],
      [2, 4, 6],
    ]);
    expect(sm.sub(sm.array([[5]]), sm.array([1, 2])).shape).toEqual([1, 2]);
  });

  test("numbers are weakly typed", () => {
    const i = sm.array([1, 2]);
    expect(i.add(2).dtype).toBe("int32");
    expect(i.add(2.5).dtype).toBe("float32");
    expect(i.add(2.5).tolist()).toEqual([3.5, 4.5]);
    const h = sm.array([1], { dtype: "float16" });
    expect(h.mul(3).dtype).toBe("float16");
    expect(sm.add(1, 2).dtype).toBe("int32");
    expect(sm.add(1, 0.5).tolist()).toBe(1.5);
    const u = sm.array([1], { dtype: "uint32" });
    expect(u.add(i.slice([0], [1])).dtype).toBe("int32");
  });

  test("strong types promote: int32 + float16 is float16, float16 + bfloat16 is float32", () => {
    const i = sm.array([1]);
    const h = sm.array([1], { dtype: "float16" });
    const b = sm.array([1], { dtype: "bfloat16" });
    expect(i.add(h).dtype).toBe("float16");
    expect(h.add(b).dtype).toBe("float32");
  });

  test("bool arithmetic counts in int32", () => {
    const t = sm.array([true, false]);
    expect(t.add(t).dtype).toBe("int32");
    expect(t.add(t).tolist()).toEqual([2, 0]);
  });

  test("integer overflow wraps", () => {
    expect(sm.array([2147483647]).add(1).tolist()).toEqual([-2147483648]);
  });

  test("div is true division, also for integers", () => {
    const r = sm.div(sm.array([7, -7, 1]), sm.array([2, 2, 0]));
    expect(r.dtype).toBe("float32");
    expect(r.tolist()).toEqual([3.5, -3.5, Infinity]);
    expect(sm.div(1, 4).tolist()).toBe(0.25);
    expect(sm.array([1.5]).div(0.5).tolist()).toEqual([3]);
  });

  test("pow", () => {
    expect(sm.array([2, 3]).pow(2).tolist()).toEqual([4, 9]);
    expect(sm.pow(2, sm.array([0, 1, 10])).tolist()).toEqual([1, 2, 1024]);
    expect(sm.array([4]).pow(0.5).tolist()).toEqual([2]);
  });

  test("maximum and minimum propagate NaN", () => {
    const a = sm.array([1, NaN, 5]);
    expect(sm.maximum(a, 3).tolist()).toEqual([3, NaN, 5]);
    expect(sm.minimum(a, 3).tolist()).toEqual([1, NaN, 3]);
  });

  test("shapes that do not broadcast: ShapeError naming both", () => {
    const a = sm.zeros([2, 3]);
    expectError(() => a.add(sm.zeros([4])), sm.ShapeError, "add", ["f32[2,3]", "f32[4]"]);
    expectError(() => sm.where(sm.zeros([2], "bool"), a, 1), sm.ShapeError, "where", ["bool[2]", "f32[2,3]"]);
  });
});

describe("unary ops", () => {
  const x = sm.array([-1.5, -0.5, 0, 0.5, 1.5, 2.5]);

  test("rounding family", () => {
    expect(sm.floor(x).tolist()).toEqual([-2, -1, 0, 0, 1, 2]);
    expect(sm.ceil(x).tolist()).toEqual([-1, -0, 0, 1, 2, 3]);
    // Half to even.
    expect(sm.round(x).tolist()).toEqual([-2, -0, 0, 0, 2, 2]);
    expect(sm.abs(x).tolist()).toEqual([1.5, 0.5, 0, 0.5, 1.5, 2.5]);
    expect(sm.sign(x).tolist()).toEqual([-1, -1, 0, 1, 1, 1]);
    expect(sm.neg(x).tolist()).toEqual([1.5, 0.5, -0, -0.5, -1.5, -2.5]);
    expect(sm.floor(sm.array([3])).dtype).toBe("int32");
  });

  test("transcendental functions against Math", () => {
    const v = [0.25, 1, 2];
    const a = sm.array(v);
    const check = (r: sm.Array, f: (x: number) => number) => expectClose(vals(r), v.map((t) => f32(f(t))), 1e-6);
    check(a.exp(), Math.exp);
    check(a.log(), Math.log);
    check(a.log1p(), Math.log1p);
    check(a.expm1(), Math.expm1);
    check(a.sin(), Math.sin);
    check(a.cos(), Math.cos);
    check(a.tanh(), Math.tanh);
    check(a.sqrt(), Math.sqrt);
    check(a.rsqrt(), (t) => 1 / Math.sqrt(t));
    check(a.sigmoid(), (t) => 1 / (1 + Math.exp(-t)));
    check(a.square(), (t) => t * t);
    check(a.reciprocal(), (t) => 1 / t);
    // erf(1) = 0.8427007929497149, erf(2) = 0.9953222650189527 (published values).
    expectClose(vals(sm.erf(sm.array([1, 2]))), [0.8427007929497149, 0.9953222650189527], 1e-6);
  });

  test("float functions of integers compute in float32", () => {
    const r = sm.exp(sm.array([0, 1]));
    expect(r.dtype).toBe("float32");
    expect(r.tolist()).toEqual([1, f32(Math.E)]);
    expect(sm.sqrt(4).tolist()).toBe(2);
    expect(sm.reciprocal(sm.array([4])).tolist()).toEqual([0.25]);
  });

  test("IEEE edge cases", () => {
    expect(sm.log(sm.array([0, -1])).tolist()).toEqual([-Infinity, NaN]);
    expect(sm.rsqrt(sm.array([0])).tolist()).toEqual([Infinity]);
  });

  test("a float function of a bool array computes in float32; sign of bool is a DTypeError", () => {
    expect(sm.exp(sm.array([true])).dtype).toBe("float32");
    expectError(() => sm.sign(sm.array([true])), sm.DTypeError, "sign", ["bool[1]"]);
  });
});

describe("comparisons and logic", () => {
  test("comparisons give bool, after promotion", () => {
    const a = sm.array([1, 2, 3]);
    const r = a.less(2.5);
    expect(r.dtype).toBe("bool");
    expect(r.tolist()).toEqual([1, 1, 0]);
    expect(a.equal(2).tolist()).toEqual([0, 1, 0]);
    expect(a.notEqual(2).tolist()).toEqual([1, 0, 1]);
    expect(a.lessEqual(2).tolist()).toEqual([1, 1, 0]);
    expect(a.greater(sm.array([[0], [3]])).tolist()).toEqual([
      [1, 1, 1],
      [0, 0, 0],
    ]);
    expect(a.greaterEqual(2).tolist()).toEqual([0, 1, 1]);
    expect(sm.equal(sm.array([NaN]), NaN).tolist()).toEqual([0]);
    expect(sm.notEqual(sm.array([NaN]), NaN).tolist()).toEqual([1]);
  });

  test("logical ops take truth values", () => {
    const a = sm.array([0, 1, 2, 0]);
    const b = sm.array([0, 0, 5, 3]);
    expect(sm.logicalAnd(a, b).tolist()).toEqual([0, 0, 1, 0]);
    expect(sm.logicalOr(a, b).tolist()).toEqual([0, 1, 1, 1]);
    expect(sm.logicalNot(a).tolist()).toEqual([1, 0, 0, 1]);
    expect(sm.logicalNot(a).dtype).toBe("bool");
    expect(a.logicalAnd(true).tolist()).toEqual([0, 1, 1, 0]);
  });

  test("where broadcasts cond and both branches and promotes the branches", () => {
    const c = sm.array([[true], [false]]);
    const r = sm.where(c, sm.array([1, 2, 3]), 0.5);
    expect(r.dtype).toBe("float32");
    expect(r.tolist()).toEqual([
      [1, 2, 3],
      [0.5, 0.5, 0.5],
    ]);
    expect(sm.where(sm.array([0, 3]), 1, 2).tolist()).toEqual([2, 1]);
    expect(sm.where(sm.array([0, 3]), 1, 2).dtype).toBe("int32");
  });

  test("clip with either or both bounds", () => {
    const a = sm.array([-2, 0, 5, 9]);
    expect(a.clip(0, 5).tolist()).toEqual([0, 0, 5, 5]);
    expect(sm.clip(a, undefined, 1).tolist()).toEqual([-2, 0, 1, 1]);
    expect(sm.clip(a, 0.5).tolist()).toEqual([0.5, 0.5, 5, 9]);
    expect(sm.clip(a, sm.array([1, 1, 6, 6])).tolist()).toEqual([1, 1, 6, 9]);
  });
});

describe("astype and stopGradient", () => {
  test("float to int truncates toward zero and saturates; NaN gives 0", () => {
    const r = sm.array([1.9, -1.9, 3e10, NaN]).astype("int32");
    expect(r.tolist()).toEqual([1, -1, 2147483647, 0]);
    expect(sm.array([0, 2]).astype("bool").tolist()).toEqual([0, 1]);
  });

  test("astype to the same dtype is the array itself", () => {
    const a = sm.array([1]);
    expect(a.astype("int32")).toBe(a);
    expectError(() => a.astype("int64" as sm.DType), sm.DTypeError, "astype", ["int64"]);
  });

  test("stopGradient is the identity on values", () => {
    expect(sm.stopGradient(sm.array([1, 2])).tolist()).toEqual([1, 2]);
  });
});

describe("laws", () => {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 });

  test("broadcasting add matches a loop over the broadcast index", () => {
    fc.assert(
      fc.property(shapeArb, fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), (shape, ones, drop) => {
        // b: a shape broadcastable to `shape` (some dims 1, some leading dims dropped).
        const bShape = shape.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, shape.length));
        const n = shape.reduce((p, d) => p * d, 1);
        const m = bShape.reduce((p, d) => p * d, 1);
        const av = Array.from({ length: n }, (_, i) => i);
        const bv = Array.from({ length: m }, (_, i) => 100 * i);
        const r = sm.array(av, { shape }).add(sm.array(bv, { shape: bShape }));
        const expected = av.map((x, flat) => {
          // Multi-index of `flat` in `shape`, then the b index with broadcast dims at 0.
          const idx: number[] = [];
          let rest = flat;
          for (let d = shape.length - 1; d >= 0; d--) {
            idx.unshift(rest % shape[d]!);
            rest = Math.floor(rest / shape[d]!);
          }
          const off = shape.length - bShape.length;
          let bi = 0;
          for (let d = 0; d < bShape.length; d++) bi = bi * bShape[d]! + (bShape[d] === 1 ? 0 : idx[d + off]!);
          return x + bv[bi]!;
        });
        expect(r.shape).toEqual(shape);
        expect(vals(r)).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });

  test("a - b + b == a for small integers", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: -1000, max: 1000 }), (xs, k) => {
        expect(sm.array(xs).sub(k).add(k).tolist()).toEqual(xs);
      }),
      { numRuns: 30 },
    );
  });
});
