import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectError, vals } from "./support.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("reshape, transpose, broadcastTo", () => {
  test("reshape with one -1, as a method with rest dims", () => {
    const a = sm.arange(6);
    expect(a.reshape([2, -1]).shape).toEqual([2, 3]);
    expect(a.reshape(3, 2).tolist()).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(sm.reshape(a, [-1]).shape).toEqual([6]);
    expect(sm.reshape(sm.array(5), [1, 1]).shape).toEqual([1, 1]);
  });

  test("bad reshapes: ShapeError naming both shapes", () => {
    const a = sm.arange(6);
    expectError(() => a.reshape([4, -1]), sm.ShapeError, "reshape", ["i32[6]", "[4,-1]"]);
    expectError(() => a.reshape([-1, -1]), sm.ShapeError, "reshape", ["[-1,-1]"]);
    expectError(() => a.reshape([7]), sm.ShapeError, "reshape", ["6 elements", "[7]"]);
  });

  test("transpose reverses by default, takes (negative) axes", () => {
    const a = sm.arange(6).reshape([1, 2, 3]);
    expect(a.transpose().shape).toEqual([3, 2, 1]);
    const t = sm.transpose(a, [1, -1, 0]);
    expect(t.shape).toEqual([2, 3, 1]);
    expect(vals(t)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sm.transpose(sm.arange(6).reshape([2, 3]), [1, 0]).tolist()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expectError(() => a.transpose([0, 0, 1]), sm.ShapeError, "transpose", ["[0,0,1]", "i32[1,2,3]"]);
  });

  test("broadcastTo", () => {
    expect(sm.broadcastTo(sm.array([1, 2]), [2, 2]).tolist()).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(sm.array([[3]]).broadcastTo([2, 1, 2]).shape).toEqual([2, 1, 2]);
    expectError(() => sm.broadcastTo(sm.array([1, 2]), [3]), sm.ShapeError, "broadcastTo", ["i32[2]", "[3]"]);
    expectError(() => sm.broadcastTo(sm.zeros([1, 2]), [2]), sm.ShapeError, "broadcastTo", ["f32[1,2]"]);
  });

  test("law: reshape round trip keeps the values", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 3 }), (shape, k) => {
        const n = shape.reduce((p, d) => p * d, 1);
        const a = sm.arange(n).reshape(shape);
        const flatAgain = a.reshape([n]).reshape(shape.slice(k).concat(shape.slice(0, k))).reshape([-1]);
        expect(vals(flatAgain)).toEqual(range(n));
      }),
      { numRuns: 30 },
    );
  });

  test("law: transposing twice by a permutation and its inverse is the identity", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(fc.constant(shape), fc.shuffledSubarray(range(shape.length), { minLength: shape.length })),
        ),
        ([shape, perm]) => {
          const n = shape.reduce((p, d) => p * d, 1);
          const a = sm.arange(n).reshape(shape);
          const inverse = range(perm.length).map((i) => perm.indexOf(i));
          const t = a.transpose(perm);
          expect(t.shape).toEqual(perm.map((p) => shape[p]));
          expect(vals(t.transpose(inverse))).toEqual(range(n));
          expect(vals(a.T.T)).toEqual(range(n));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("expandDims, squeeze", () => {
  test("expandDims at positions of the result, negative ones too", () => {
    const a = sm.zeros([2, 3]);
    expect(sm.expandDims(a, 0).shape).toEqual([1, 2, 3]);
    expect(a.expandDims(-1).shape).toEqual([2, 3, 1]);
    expect(a.expandDims([0, 3]).shape).toEqual([1, 2, 3, 1]);
    expectError(() => a.expandDims(4), sm.ShapeError, "expandDims", ["axis 4", "f32[2,3]"]);
  });

  test("squeeze every size-1 axis or the given ones", () => {
    const a = sm.zeros([1, 2, 1]);
    expect(sm.squeeze(a).shape).toEqual([2]);
    expect(a.squeeze(0).shape).toEqual([2, 1]);
    expect(a.squeeze([-1]).shape).toEqual([1, 2]);
    expectError(() => a.squeeze(1), sm.ShapeError, "squeeze", ["axis 1", "f32[1,2,1]"]);
  });
});

describe("concatenate, stack, split", () => {
  test("concatenate along an axis, promoting dtypes", () => {
    const a = sm.array([[1, 2]]);
    const b = sm.array([[3.5, 4]]);
    const c = sm.concatenate([a, b]);
    expect(c.dtype).toBe("float32");
    expect(c.tolist()).toEqual([
      [1, 2],
      [3.5, 4],
    ]);
    expect(sm.concatenate([a, a], -1).tolist()).toEqual([[1, 2, 1, 2]]);
    expectError(() => sm.concatenate([a, sm.array([1])]), sm.ShapeError, "concatenate", ["i32[1,2]", "i32[1]"]);
    expectError(() => sm.concatenate([a, sm.zeros([2, 3], "int32")], 0), sm.ShapeError, "concatenate", ["i32[1,2]", "i32[2,3]"]);
  });

  test("stack adds an axis", () => {
    const a = sm.array([1, 2]);
    const b = sm.array([3, 4]);
    expect(sm.stack([a, b]).tolist()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(sm.stack([a, b], -1).tolist()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expectError(() => sm.stack([a, sm.array([1])]), sm.ShapeError, "stack", ["i32[2]", "i32[1]"]);
  });

  test("split into equal sections or at indices", () => {
    const a = sm.arange(6);
    expect(sm.split(a, 3).map((x) => x.tolist())).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(a.split([2, 5]).map((x) => x.tolist())).toEqual([[0, 1], [2, 3, 4], [5]]);
    expect(a.split([-2, 10]).map((x) => x.tolist())).toEqual([[0, 1, 2, 3], [4, 5], []]);
    const m = sm.arange(6).reshape([2, 3]);
    expect(sm.split(m, [1], 1).map((x) => x.tolist())).toEqual([
      [[0], [3]],
      [
        [1, 2],
        [4, 5],
      ],
    ]);
    expectError(() => sm.split(a, 4), sm.ShapeError, "split", ["4 equal parts", "i32[6]"]);
  });
});

describe("slice: NumPy rules", () => {
  const a = () => sm.arange(5);
  // Each case: [start, stop, step] and the elements Python's list(range(5))[start:stop:step] gives.
  const cases: [number | null, number | null, number | null, number[]][] = [
    [1, 4, null, [1, 2, 3]],
    [-2, null, null, [3, 4]],
    [null, -1, null, [0, 1, 2, 3]],
    [-100, 100, null, [0, 1, 2, 3, 4]],
    [null, null, 2, [0, 2, 4]],
    [null, null, -1, [4, 3, 2, 1, 0]],
    [3, 0, -2, [3, 1]],
    [-1, -6, -1, [4, 3, 2, 1, 0]],
    [10, 1, -3, [4]],
    [4, 4, null, []],
    [3, 1, null, []],
    [1, 3, -1, []],
    [null, null, -2, [4, 2, 0]],
    [-6, null, -1, []],
    [null, -6, -1, [4, 3, 2, 1, 0]],
    [1, null, 3, [1, 4]],
    [2, -100, -1, [2, 1, 0]],
  ];
  test.each(cases)("[%s:%s:%s]", (start, stop, step, want) => {
    expect(sm.slice(a(), [start], [stop], [step]).tolist()).toEqual(want);
  });

  test("several dims, missing entries mean the whole dim", () => {
    const m = sm.arange(12).reshape([3, 4]);
    expect(m.slice([1]).tolist()).toEqual([
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(m.slice([null, 1], [null, 3]).tolist()).toEqual([
      [1, 2],
      [5, 6],
      [9, 10],
    ]);
    expect(m.slice([null, null], [null, null], [-1, -2]).tolist()).toEqual([
      [11, 9],
      [7, 5],
      [3, 1],
    ]);
  });

  test("a zero step and too many bounds are ShapeErrors", () => {
    expectError(() => a().slice([0], [5], [0]), sm.ShapeError, "slice", ["zero", "i32[5]"]);
    expectError(() => a().slice([0, 0]), sm.ShapeError, "slice", ["i32[5]"]);
  });
});

describe("pad and flip", () => {
  test("pad with pairs, one pair for all dims, or one width", () => {
    expect(sm.pad(sm.array([1, 2]), [[1, 2]], 9).tolist()).toEqual([9, 1, 2, 9, 9]);
    expect(sm.array([[1]]).pad([1, 0]).tolist()).toEqual([
      [0, 0],
      [0, 1],
    ]);
    expect(sm.array([[1]]).pad(1).shape).toEqual([3, 3]);
    expect(sm.array([[1, 2]]).pad([[0, 1], [1, 0]], -1).tolist()).toEqual([
      [-1, 1, 2],
      [-1, -1, -1],
    ]);
    expectError(() => sm.pad(sm.array([1]), [[-1, 0]]), sm.ShapeError, "pad", ["[[-1,0]]"]);
    expectError(() => sm.pad(sm.array([[1]]), [[1, 1]]), sm.ShapeError, "pad", ["i32[1,1]"]);
  });

  test("flip given axes or all", () => {
    const m = sm.arange(6).reshape([2, 3]);
    expect(sm.flip(m).tolist()).toEqual([
      [5, 4, 3],
      [2, 1, 0],
    ]);
    expect(m.flip(-1).tolist()).toEqual([
      [2, 1, 0],
      [5, 4, 3],
    ]);
    expect(m.flip([0]).tolist()).toEqual([
      [3, 4, 5],
      [0, 1, 2],
    ]);
  });
});
