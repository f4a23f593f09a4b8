// smeltjs/testing: checkGrad passes correct gradients and reports wrong ones precisely; the
// arbitraries respect their options and print arrays as the code that rebuilds them.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { arrays, broadcastableShapes, checkGrad, GradientCheckError, shapes } from "../../src/testing/index.js";
import { expectError } from "../frontend/support.js";

/**
 * A function whose value is sin(x) but whose gradient is 1 (wrong): the correction to the value
 * passes through stopGradient, so autodiff sees only `x`. Built from public ops, for the test only.
 */
const wrongSin = (x: sm.Array): sm.Array => x.add(sm.stopGradient(sm.sin(x).sub(x)));

const f32 = (data: sm.ArrayData) => sm.array(data, { dtype: "float32" });

describe("checkGrad", () => {
  test("passes for correct gradients, over trees and several arguments", () => {
    checkGrad((x: sm.Array) => sm.sum(sm.sin(x)), [f32([0.5, 1, 2])]);
    const f = (p: { w: sm.Array; b: sm.Array }, x: sm.Array, idx: sm.Array) =>
      sm.sum(sm.take(sm.tanh(x.matmul(p.w).add(p.b)), idx, 1).square());
    checkGrad(f, [{ w: f32([[0.5, -1], [0.25, 2]]), b: f32([0.1, -0.3]) }, f32([[1, 2], [-1, 0.5]]), sm.array([1, 1, 0])]);
  });

  test("the wrong gradient is reported with the argument, the index, both values and the tolerance", () => {
    const loss = (x: sm.Array) => sm.sum(wrongSin(x));
    // The value is right: only the gradient is wrong.
    expect(loss(f32([0.5])).item()).toBeCloseTo(Math.sin(0.5), 6);
    const e = expectError(() => checkGrad(loss, [f32([0.5, 1, 2])]), GradientCheckError, "checkGrad", [
      "@loss",
      "argument x (argnum 0, f32[3])",
      "flat index 0:",
      "grad gives 1,",
      `central finite differences ${Number(Math.cos(0.5).toPrecision(7))}`,
      `tolerance ${Number((1e-4 + 1e-3 * Math.cos(0.5)).toPrecision(7))}`,
      "atol 0.0001 + rtol 0.001",
      "(3 of 3 elements differ)",
    ]);
    expect(e).toBeInstanceOf(sm.SmeltError);
  });

  test("a wrong leaf inside a tree argument is named by its path and multi-index", () => {
    const loss = (a: sm.Array, p: { ok: sm.Array; bad: sm.Array }) => sm.sum(a.mul(p.ok)).add(sm.sum(wrongSin(p.bad)));
    // cos(0) = 1 is where the wrong gradient happens to be right: only [1, 0] (x = 1.5) differs
    const bad = f32([[0, 0], [1.5, 0]]);
    expectError(() => checkGrad(loss, [f32([1, 2]), { ok: f32([3, 4]), bad }]), GradientCheckError, "checkGrad", [
      "argument p.bad (argnum 1, f32[2,2]), flat index 2 [1, 0]: grad gives 1,",
      `central finite differences ${Number(Math.cos(1.5).toPrecision(7))}`,
    ]);
    // argnums restricts the check to the other argument, whose gradient is right
    checkGrad(loss, [f32([1, 2]), { ok: f32([3, 4]), bad }], { argnums: 0 });
  });

  test("tolerances and eps are honoured", () => {
    // grad 1 against cos(0.1) = 0.995: a difference of 0.005
    const loss = (x: sm.Array) => sm.sum(wrongSin(x));
    expect(() => checkGrad(loss, [f32([0.1])])).toThrow(GradientCheckError);
    checkGrad(loss, [f32([0.1])], { atol: 0.006 });
    checkGrad(loss, [f32([0.1])], { rtol: 0.006, atol: 0 });
    // a step far too large for x^3 makes the differences wrong by eps^2 = 0.25: the check fails
    const cube = (x: sm.Array) => sm.sum(x.mul(x).mul(x));
    checkGrad(cube, [f32([1])]);
    expectError(() => checkGrad(cube, [f32([1])], { eps: 0.5 }), GradientCheckError, "checkGrad", ["central finite differences 3.25"]);
  });

  test("differences are computed in float64: a float32 step would lose them", () => {
    // at x = 1000, a step of 1e-5 is below float32 resolution (6e-5); in float64 the check passes
    checkGrad((x: sm.Array) => sm.sum(x.square()), [f32([1000])], { eps: 1e-5 });
  });

  test("bad options and non-scalar functions are errors", () => {
    expectError(() => checkGrad((x: sm.Array) => sm.sum(x), [sm.array([1, 2])]), sm.SmeltError, "checkGrad", ["no argument"]);
    expectError(() => checkGrad((x: sm.Array) => sm.sum(x), [f32([1])], { eps: -1 }), sm.SmeltError, "checkGrad", ["eps"]);
    expectError(() => checkGrad((x: sm.Array) => x, [f32([1, 2])]), sm.ShapeError, "grad", ["f32[2]", "scalar"]);
  });
});

describe("arbitraries", () => {
  test("shapes respect dims and sides", () => {
    fc.assert(
      fc.property(shapes({ minDims: 1, maxDims: 2, minSide: 2, maxSide: 3 }), (s) => {
        expect(s.length >= 1 && s.length <= 2).toBe(true);
        for (const d of s) expect(d >= 2 && d <= 3).toBe(true);
      }),
    );
  });

  test("arrays respect shape, dtype and range", () => {
    fc.assert(
      fc.property(arrays({ shape: [2, 3], min: -1, max: 0.5 }), (a) => {
        expect(a.shape).toEqual([2, 3]);
        expect(a.dtype).toBe("float32");
        for (const v of a.dataSync()) expect(v >= -1 && v <= 0.5).toBe(true);
      }),
    );
    fc.assert(
      fc.property(arrays({ dtype: "int32", min: -3, max: 3, minDims: 1, maxDims: 1 }), (a) => {
        expect(a.dtype).toBe("int32");
        expect(a.ndim).toBe(1);
        for (const v of a.dataSync()) expect(Number.isInteger(v) && v >= -3 && v <= 3).toBe(true);
      }),
    );
    fc.assert(
      fc.property(arrays({ dtype: "bool" }), (a) => {
        expect(a.dtype).toBe("bool");
        for (const v of a.dataSync()) expect(v === 0 || v === 1).toBe(true);
      }),
    );
  });

  test("broadcastableShapes broadcast with the shape, and cover 1s, the shape's own dims and new leading dims", () => {
    const base = [3, 1, 2];
    const seen = { one: false, own: false, longer: false, expands: false };
    fc.assert(
      fc.property(broadcastableShapes(base), (s) => {
        expect(s.length).toBeLessThanOrEqual(4);
        // NumPy's rule, aligned from the right: equal, or one of them is 1
        for (let k = 1; k <= Math.min(s.length, base.length); k++) {
          const a = s[s.length - k]!;
          const b = base[base.length - k]!;
          expect(a === b || a === 1 || b === 1, `${JSON.stringify(s)} vs ${JSON.stringify(base)}`).toBe(true);
        }
        if (s.includes(1)) seen.one = true;
        if (s.length === 3 && s[0] === 3) seen.own = true;
        if (s.length === 4) seen.longer = true;
        if (s.length >= 2 && s[s.length - 2]! > 1) seen.expands = true;
        // and the frontend agrees: the arrays broadcast
        expect(() => sm.add(sm.zeros(base), sm.zeros(s))).not.toThrow();
      }),
      { numRuns: 200 },
    );
    expect(seen).toEqual({ one: true, own: true, longer: true, expands: true });
  });

  test("a failing property prints its arrays as the sm.array call that rebuilds them", () => {
    const sample = fc.sample(arrays({ shape: [2], min: 1, max: 1 }), 1)[0]!;
    expect(fc.stringify(sample)).toBe('sm.array([1,1], { dtype: "float32", shape: [2] })');
    const details = fc.check(
      fc.property(arrays({ shape: [3], min: 0, max: 4 }), (a) => sm.sum(a).item() < 2),
      { seed: 7 },
    );
    expect(details.failed).toBe(true);
    const m = /^\[sm\.array\((\[[^\]]*\]), \{ dtype: "float32", shape: \[3\] \}\)\]$/.exec(fc.stringify(details.counterexample));
    expect(m, fc.stringify(details.counterexample)).not.toBeNull();
    // the printed values are the failing ones
    const rebuilt = JSON.parse(m![1]!) as number[];
    expect(rebuilt.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(2);
    expect(Array.from(details.counterexample![0]!.dataSync())).toEqual(rebuilt);
  });
});
