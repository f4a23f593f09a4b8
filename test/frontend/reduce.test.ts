import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectClose, expectError, vals } from "./support.js";

// 2 x 3 x 2, values 0..11.
const cube = () => sm.arange(12).reshape([2, 3, 2]);

describe("sum and friends: axes, negative axes, keepdims", () => {
  test("sum over everything, one axis, a negative axis, several axes", () => {
    const a = cube();
    expect(a.sum().tolist()).toBe(66);
    expect(sm.sum(a, 0).tolist()).toEqual([
      [6, 8],
      [10, 12],
      [14, 16],
    ]);
    expect(a.sum({ axis: -1 }).tolist()).toEqual([
      [1, 5, 9],
      [13, 17, 21],
    ]);
    // j = 0: 0 + 1 + 6 + 7; j = 1: 2 + 3 + 8 + 9; j = 2: 4 + 5 + 10 + 11.
    expect(a.sum([0, 2]).tolist()).toEqual([14, 22, 30]);
    expect(a.sum([2, -3]).tolist()).toEqual([14, 22, 30]);
    expect(a.sum([]).shape).toEqual([2, 3, 2]);
  });

  test("keepdims keeps size-1 axes", () => {
    const a = cube();
    const s = a.sum({ axis: [0, 2], keepdims: true });
    expect(s.shape).toEqual([1, 3, 1]);
    expect(vals(s)).toEqual([14, 22, 30]);
    expect(a.max({ keepdims: true }).shape).toEqual([1, 1, 1]);
  });

  test("bool sums count in int32; prod, max, min", () => {
    const b = sm.array([true, true, false]);
    expect(b.sum().dtype).toBe("int32");
    expect(b.sum().item()).toBe(2);
    expect(sm.prod(sm.array([[1, 2], [3, 4]]), 1).tolist()).toEqual([2, 12]);
    expect(sm.max(sm.array([[1, 7], [9, 2]]), 0).tolist()).toEqual([9, 7]);
    expect(sm.min(sm.array([[1, 7], [9, 2]]), -1).tolist()).toEqual([1, 2]);
    expect(sm.max(sm.array([1, NaN, 3])).tolist()).toBe(NaN);
    expect(sm.sum(sm.zeros([0])).item()).toBe(0);
  });

  test("mean: integers average in float32; over zero elements NaN", () => {
    const a = sm.array([
      [1, 2],
      [3, 5],
    ]);
    expect(a.mean().dtype).toBe("float32");
    expect(a.mean().item()).toBe(2.75);
    expect(a.mean(1).tolist()).toEqual([1.5, 4]);
    expect(a.mean({ axis: 0, keepdims: true }).tolist()).toEqual([[2, 3.5]]);
    expect(sm.mean(sm.zeros([0])).item()).toBeNaN();
  });

  test("var and std with ddof", () => {
    const a = sm.array([1, 2, 3, 4]);
    // mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5.
    expect(a.var().item()).toBe(1.25);
    expectClose([sm.var(a, { ddof: 1 }).item()], [5 / 3]);
    expectClose([a.std().item()], [Math.sqrt(1.25)]);
    expectClose([sm.std(a, { ddof: 1 }).item()], [Math.sqrt(5 / 3)]);
    const m = sm.array([
      [1, 3],
      [2, 6],
    ]);
    expect(m.var({ axis: 0 }).tolist()).toEqual([0.25, 2.25]);
    expect(m.var({ axis: 1, keepdims: true }).tolist()).toEqual([[1], [4]]);
  });

  test("argmax and argmin: ties give the first index; without axis over the flattened array", () => {
    const a = sm.array([
      [1, 9, 9],
      [7, 0, 7],
    ]);
    expect(a.argmax().item()).toBe(1);
    expect(a.argmax().dtype).toBe("int32");
    expect(sm.argmax(a, 1).tolist()).toEqual([1, 0]);
    expect(sm.argmin(a, 0).tolist()).toEqual([0, 1, 1]);
    expect(sm.argmin(a, { axis: -1, keepdims: true }).tolist()).toEqual([[0], [1]]);
    expect(a.argmin({ keepdims: true }).shape).toEqual([1, 1]);
  });

  test("bad axes: ShapeError naming the op, the array and the axis", () => {
    const a = sm.zeros([2, 3]);
    expectError(() => a.sum(2), sm.ShapeError, "sum", ["axis 2", "f32[2,3]"]);
    expectError(() => sm.mean(a, [0, -2]), sm.ShapeError, "mean", ["repeated axis", "f32[2,3]"]);
    expectError(() => sm.softmax(a, 5), sm.ShapeError, "softmax", ["axis 5", "f32[2,3]"]);
    expectError(() => sm.max(sm.zeros([0])), sm.ShapeError, "max", ["f32[0]"]);
  });
});

describe("logsumexp and softmax", () => {
  test("logsumexp matches log(sum(exp)) and is stable for large values", () => {
    const x = [0.5, 1, -2];
    const want = Math.log(x.reduce((s, v) => s + Math.exp(v), 0));
    expectClose([sm.logsumexp(sm.array(x)).item()], [want], 1e-6);
    expectClose([sm.logsumexp(sm.array([1000, 1000])).item()], [1000 + Math.LN2], 1e-6);
    expect(sm.logsumexp(sm.array([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expect(sm.logsumexp(sm.zeros([2, 3]), { axis: 1, keepdims: true }).shape).toEqual([2, 1]);
  });

  test("softmax rows sum to 1 and equal exp(x - logsumexp(x))", () => {
    const x = sm.array([
      [1, 2, 3],
      [-1, 0, 100],
    ]);
    const s = sm.softmax(x);
    const rows = s.sum(1).tolist() as number[];
    expectClose(rows, [1, 1], 1e-6);
    const ref = sm.exp(x.sub(sm.logsumexp(x, { axis: -1, keepdims: true })));
    expectClose(vals(s), vals(ref), 1e-6);
    // Hand values for [1, 2, 3]: e^k / (e + e^2 + e^3).
    const z = Math.E + Math.E ** 2 + Math.E ** 3;
    expectClose(vals(s).slice(0, 3), [Math.E / z, Math.E ** 2 / z, Math.E ** 3 / z], 1e-6);
  });

  test("softmax over axis 0 and logSoftmax", () => {
    const x = sm.array([
      [0, 0],
      [Math.log(3), 0],
    ]);
    expectClose(vals(x.softmax(0)), [0.25, 0.5, 0.75, 0.5], 1e-6);
    expectClose(vals(sm.logSoftmax(x, 0)), [Math.log(0.25), Math.log(0.5), Math.log(0.75), Math.log(0.5)], 1e-6);
  });

  test("law: softmax sums to 1 along its axis", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 10 }), (xs) => {
        expectClose([sm.softmax(sm.array(xs)).sum().item()], [1], 1e-5);
      }),
      { numRuns: 30 },
    );
  });
});
