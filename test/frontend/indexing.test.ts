import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectError } from "./support.js";

const m = () =>
  sm.array([
    [10, 11, 12],
    [20, 21, 22],
  ]);

describe("take", () => {
  test("over the flattened array without axis", () => {
    expect(sm.take(m(), [0, 4, 5]).tolist()).toEqual([10, 21, 22]);
    expect(m().take(3).tolist()).toBe(20);
  });

  test("along an axis; the result shape is a.shape[:axis] + idx.shape + a.shape[axis+1:]", () => {
    expect(m().take([2, 0], 1).tolist()).toEqual([
      [12, 10],
      [22, 20],
    ]);
    const r = m().take([[1], [0]], 0);
    expect(r.shape).toEqual([2, 1, 3]);
    expect(r.tolist()).toEqual([[[20, 21, 22]], [[10, 11, 12]]]);
    expect(m().take(1, -1).tolist()).toEqual([11, 21]);
  });

  test("negative number indices wrap; out of range is a ShapeError", () => {
    expect(m().take([-1, -3], 1).tolist()).toEqual([
      [12, 10],
      [22, 20],
    ]);
    expectError(() => m().take([3], 1), sm.ShapeError, "take", ["index 3", "i32[2,3]"]);
    expectError(() => m().take([-4], 1), sm.ShapeError, "take", ["index -4", "i32[2,3]"]);
  });

  test("index arrays: negative entries wrap (int32), uint32 as they are", () => {
    const idx = sm.array([-1, 0, -2]);
    expect(m().take(idx, 1).tolist()).toEqual([
      [12, 10, 11],
      [22, 20, 21],
    ]);
    expect(sm.take(sm.array([5, 6, 7]), sm.array([2, 0], { dtype: "uint32" })).tolist()).toEqual([7, 5]);
  });

  test("float indices are a DTypeError", () => {
    expectError(() => m().take(sm.array([0.5]), 0), sm.DTypeError, "take", ["f32[1]"]);
  });
});

describe("takeAlongAxis", () => {
  test("picks one element per position along the axis (like sorting by indices)", () => {
    const a = sm.array([
      [10, 30, 20],
      [60, 40, 50],
    ]);
    const idx = sm.array([
      [0, 2, 1],
      [1, 2, 0],
    ]);
    expect(sm.takeAlongAxis(a, idx, 1).tolist()).toEqual([
      [10, 20, 30],
      [40, 50, 60],
    ]);
    // argmax with keepdims then takeAlongAxis gives the maxima.
    expect(a.takeAlongAxis(a.argmax({ axis: 1, keepdims: true }), 1).tolist()).toEqual([[30], [60]]);
  });

  test("the other dims broadcast; negative indices wrap", () => {
    const a = sm.array([
      [10, 30, 20],
      [60, 40, 50],
    ]);
    expect(sm.takeAlongAxis(a, sm.array([[1, 0, -1]]), 0).tolist()).toEqual([[60, 30, 50]]);
    expect(sm.takeAlongAxis(a, sm.array([[-1], [0]]), 1).tolist()).toEqual([[20], [60]]);
    const col = sm.array([[5], [7]]);
    expect(sm.takeAlongAxis(col, sm.array([[0, 0, 0]]), 1).tolist()).toEqual([
      [5, 5, 5],
      [7, 7, 7],
    ]);
  });

  test("a rank mismatch is a ShapeError", () => {
    expectError(() => sm.takeAlongAxis(m(), sm.array([0]), 1), sm.ShapeError, "takeAlongAxis", ["i32[1]", "i32[2,3]"]);
  });
});

describe("scatterAdd and segmentSum", () => {
  test("repeated indices add up; negative indices wrap", () => {
    const r = sm.scatterAdd(sm.zeros([5]), [0, 1, 1, -1], sm.array([1, 2, 3, 4], { dtype: "float32" }));
    expect(r.tolist()).toEqual([1, 5, 0, 0, 4]);
  });

  test("along axis 1 with broadcast updates", () => {
    const a = sm.zeros([2, 3], "int32");
    expect(a.scatterAdd([2, 2], 1, 1).tolist()).toEqual([
      [0, 0, 2],
      [0, 0, 2],
    ]);
    expect(sm.scatterAdd(a, sm.array([-3]), sm.array([[5], [6]]), 1).tolist()).toEqual([
      [5, 0, 0],
      [6, 0, 0],
    ]);
    expectError(() => sm.scatterAdd(a, [0], sm.zeros([3, 3]), 1), sm.ShapeError, "scatterAdd", ["f32[3,3]", "[2,1]"]);
  });

  test("segmentSum groups rows by id; ids out of range are dropped", () => {
    const data = sm.array([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    expect(sm.segmentSum(data, [0, 2, 0, 5], 3).tolist()).toEqual([
      [6, 8],
      [0, 0],
      [3, 4],
    ]);
    expect(sm.segmentSum(sm.array([true, true, false]), sm.array([1, 1, -1]), 2).tolist()).toEqual([0, 2]);
    expectError(() => sm.segmentSum(data, [0, 1], 2), sm.ShapeError, "segmentSum", ["i32[2]", "i32[4,2]"]);
  });
});
