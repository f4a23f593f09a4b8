// Indexing: gathers and scatter-adds with NumPy's negative indices resolved here (the
// primitives clamp or drop indices out of range, so a GPU never reads out of bounds).
import { isInteger } from "../../ir/dtype.js";
import { DTypeError, ShapeError } from "../../ir/errors.js";
import { broadcastShapes, shapeStr, size, strides } from "../../ir/shape.js";
import { typeStr } from "../../ir/types.js";
import { type Array, isArray, prim } from "../array.js";
import { publicOp } from "../context.js";
import { nestedData } from "../creation.js";
import { add, less, maximum, minimum, mul, where } from "./elementwise.js";
import { reshape } from "./shape.js";
import { broadcastArray, checkAxis, checkInt, constantOf, describe, type Operand, operand, shapeOf } from "./util.js";

/** Nested lists of integers. */
export type NestedIndices = number | readonly NestedIndices[];
/** An integer array (int32 or uint32), a number or nested lists of numbers. */
export type Indices = Array | NestedIndices;

/**
 * Indices into a dim of size `n` as an int32/uint32 array with negative ones wrapped
 * (`i < 0` means `i + n`). Numbers are checked now: out of `[-n, n)` is a ShapeError.
 */
function indexArray(indices: Indices, n: number, what: string): Array {
  if (isArray(indices)) {
    if (!isInteger(indices.dtype)) throw new DTypeError(`indices must be int32 or uint32, got ${typeStr(indices.type)}`);
    return indices.dtype === "uint32" ? indices : where(less(indices, 0), add(indices, n), indices);
  }
  const { shape, values } = nestedData(indices);
  for (const i of values) {
    checkInt(i, "an index");
    if (i < -n || i >= n) throw new ShapeError(`index ${i} is out of bounds for ${what} of size ${n}`);
  }
  return constantOf(
    "int32",
    shape,
    values.map((i) => (i < 0 ? i + n : i)),
  );
}

/**
 * Elements of `a` at `indices` along `axis` (over the flattened array when `axis` is omitted);
 * the result's shape is `a.shape[:axis] + indices.shape + a.shape[axis+1:]`. Negative indices
 * count from the end, as in NumPy: for numbers this is resolved now (out of range is a
 * ShapeError), for an index array by computing `where(i < 0, i + n, i)`; indices of an array
 * still out of range after that are clamped to the dim, never read out of bounds.
 */
export function take(a: Array, indices: Indices, axis?: number): Array {
  return publicOp("take", () => {
    const x = axis === undefined ? reshape(a, [-1]) : a;
    const ax = checkAxis(axis ?? 0, x.ndim, typeStr(a.type));
    const idx = indexArray(indices, x.shape[ax]!, `axis ${ax} of ${typeStr(x.type)}`);
    return prim("gather", [x, idx], { axis: ax });
  });
}

/**
 * NumPy `take_along_axis`: `out[..., j, ...] = a[..., indices[..., j, ...], ...]` along `axis`,
 * the other dims of `a` and `indices` broadcasting. Negative indices count from the end;
 * indices still out of range are clamped to the dim.
 */
export function takeAlongAxis(a: Array, indices: Indices, axis: number): Array {
  return publicOp("takeAlongAxis", () => {
    const ax = checkAxis(axis, a.ndim, typeStr(a.type));
    const n = a.shape[ax]!;
    const what = `axis ${ax} of ${typeStr(a.type)}`;
    let idx = indexArray(indices, n, what);
    if (idx.ndim !== a.ndim) {
      throw new ShapeError(`indices ${typeStr(idx.type)} must have the rank of ${typeStr(a.type)}`);
    }
    const other = broadcastShapes(
      a.shape.map((d, i) => (i === ax ? 1 : d)),
      idx.shape.map((d, i) => (i === ax ? 1 : d)),
    );
    if (!other) throw new ShapeError(`indices ${typeStr(idx.type)} do not broadcast against ${typeStr(a.type)} outside axis ${ax}`);
    const outShape = other.map((d, i) => (i === ax ? idx.shape[ax]! : d));
    const srcShape = other.map((d, i) => (i === ax ? n : d));
    // One gather from the flattened source: flat = sum_d iota_d * stride_d, the index on `axis`.
    idx = minimum(maximum(operand(idx, "int32"), 0), Math.max(n - 1, 0));
    const st = strides(srcShape);
    let flat = mul(broadcastArray(idx, outShape), st[ax]!);
    for (let d = 0; d < outShape.length; d++) {
      if (d === ax || outShape[d] === 1) continue;
      flat = add(flat, mul(prim("iota", [], { dtype: "int32", shape: outShape, axis: d }), st[d]!));
    }
    const src = prim("reshape", [broadcastArray(a, srcShape)], { shape: [size(srcShape)] });
    return prim("gather", [src, flat], { axis: 0 });
  });
}

/**
 * A copy of `a` with `updates` added at `indices` along `axis` (repeated indices add up);
 * `updates` broadcasts to `a.shape[:axis] + indices.shape + a.shape[axis+1:]` and converts to
 * `a`'s dtype. Negative indices count from the end (numbers out of range are a ShapeError);
 * indices of an array still out of range after that are dropped.
 */
export function scatterAdd(a: Array, indices: Indices, updates: Operand, axis = 0): Array {
  return publicOp("scatterAdd", () => {
    const ax = checkAxis(axis, a.ndim, typeStr(a.type));
    const idx = indexArray(indices, a.shape[ax]!, `axis ${ax} of ${typeStr(a.type)}`);
    const updShape = [...a.shape.slice(0, ax), ...idx.shape, ...a.shape.slice(ax + 1)];
    const us = shapeOf(updates);
    if (!broadcastShapes(us, updShape) || us.length > updShape.length) {
      throw new ShapeError(`updates ${describe(updates)} do not broadcast to ${shapeStr(updShape)}`);
    }
    return prim("scatter_add", [a, idx, broadcastArray(operand(updates, a.dtype), updShape)], { axis: ax });
  });
}

/**
 * Sums of the rows of `data` (along its first axis) grouped by `segmentIds` (one id per row):
 * row `s` of the result sums the rows whose id is `s`. Ids outside `[0, numSegments)`, negative
 * ones included, are dropped (as in JAX). Bool data sums in int32.
 */
export function segmentSum(data: Array, segmentIds: Indices, numSegments: number): Array {
  return publicOp("segmentSum", () => {
    checkInt(numSegments, "numSegments");
    if (numSegments < 0) throw new ShapeError(`numSegments must be >= 0, got ${numSegments}`);
    if (data.ndim === 0) throw new ShapeError(`data must have at least one axis, got ${typeStr(data.type)}`);
    const ids = isArray(segmentIds) ? segmentIds : constantIds(segmentIds);
    if (!isInteger(ids.dtype)) throw new DTypeError(`segmentIds must be int32 or uint32, got ${typeStr(ids.type)}`);
    if (ids.ndim !== 1 || ids.shape[0] !== data.shape[0]) {
      throw new ShapeError(`segmentIds ${typeStr(ids.type)} must hold one id per row of ${typeStr(data.type)}`);
    }
    const x = data.dtype === "bool" ? operand(data, "int32") : data;
    const zeros = broadcastArray(constantOf(x.dtype, [], [0]), [numSegments, ...x.shape.slice(1)]);
    return prim("scatter_add", [zeros, ids, x], { axis: 0 });
  });
}

function constantIds(ids: NestedIndices): Array {
  const { shape, values } = nestedData(ids);
  values.forEach((i) => checkInt(i, "a segment id"));
  return constantOf("int32", shape, values);
}
