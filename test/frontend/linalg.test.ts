import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectError, vals } from "./support.js";

describe("matmul", () => {
  test("2-D x 2-D", () => {
    const a = sm.array([
      [1, 2],
      [3, 4],
    ]);
    const b = sm.array([
      [5, 6],
      [7, 8],
    ]);
    expect(sm.matmul(a, b).tolist()).toEqual([
      [19, 22],
      [43, 50],
    ]);
  });

  test("1-D operands as in NumPy", () => {
    const v = sm.array([1, 2]);
    const m = sm.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(v.matmul(m).tolist()).toEqual([9, 12, 15]);
    expect(m.T.matmul(v).tolist()).toEqual([9, 12, 15]);
    const dot = sm.matmul(v, v);
    expect(dot.shape).toEqual([]);
    expect(dot.item()).toBe(5);
    // A stack of matrices times a vector.
    expect(sm.matmul(sm.stack([m, m]), sm.array([1, 0, 1])).tolist()).toEqual([
      [4, 10],
      [4, 10],
    ]);
  });

  test("batch dims broadcast", () => {
    const a = sm.arange(12).reshape([2, 1, 2, 3]);
    const b = sm.ones([3, 3, 1], "int32");
    const r = sm.matmul(a, b);
    expect(r.shape).toEqual([2, 3, 2, 1]);
    // Row sums of each 2x3 block, repeated over the broadcast batch dim.
    expect(vals(r)).toEqual([3, 12, 3, 12, 3, 12, 21, 30, 21, 30, 21, 30]);
  });

  test("mismatched contraction dims and 0-d operands are ShapeErrors", () => {
    expectError(() => sm.matmul(sm.zeros([2, 3]), sm.zeros([4, 5])), sm.ShapeError, "matmul", ["f32[2,3]", "f32[4,5]", "3 and 4"]);
    expectError(() => sm.matmul(sm.zeros([2]), sm.array(1)), sm.ShapeError, "matmul", ["i32[]"]);
    expectError(() => sm.matmul(sm.zeros([2, 2, 2]), sm.zeros([3, 2, 2])), sm.ShapeError, "matmul", ["batch"]);
  });

  test("law: matmul matches a triple loop", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), (m, k, n) => {
        const av = Array.from({ length: m * k }, (_, i) => (i % 7) - 3);
        const bv = Array.from({ length: k * n }, (_, i) => (i % 5) - 2);
        const want: number[] = [];
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += av[i * k + p]! * bv[p * n + j]!;
            want.push(s);
          }
        }
        const r = sm.matmul(sm.array(av, { shape: [m, k] }), sm.array(bv, { shape: [k, n] }));
        expect(vals(r)).toEqual(want);
      }),
      { numRuns: 30 },
    );
  });
});
