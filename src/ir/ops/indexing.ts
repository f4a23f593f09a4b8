// gather and scatter_add along one axis. Both see their operands as [outer, n, inner] blocks
// around `axis`, with the index array's elements in place of the middle dimension of the result
// (gather) or of the updates (scatter_add).
import { type DType, isBool, roundTo } from "../dtype.js";
import { DTypeError, ShapeError } from "../errors.js";
import { type Shape, shapeEq, size } from "../shape.js";
import { type TensorType, typeStr } from "../types.js";
import type { Family } from "./family.js";
import { indexingRules } from "./indexing-rules.js";

export type IndexingName = "gather" | "scatter_add";

/** `a.shape[:axis] + idx.shape + a.shape[axis+1:]`: the gathered shape, and the shape of updates. */
const indexedShape = (a: Shape, idx: Shape, axis: number): number[] => [
  ...a.slice(0, axis),
  ...idx,
  ...a.slice(axis + 1),
];

function checkAxis(op: IndexingName, a: TensorType, axis: number): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= a.shape.length) {
    throw new ShapeError(`axis ${axis} is not an axis of ${typeStr(a)}`, { op });
  }
}

function checkIndex(op: IndexingName, idx: TensorType): void {
  if (idx.dtype !== "int32" && idx.dtype !== "uint32") {
    throw new DTypeError(`index ${typeStr(idx)} must be int32 or uint32`, { op });
  }
}

/** Sizes of the dims before `axis`, of `axis`, and after it. */
function blocks(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  return { outer: size(shape.slice(0, axis)), n: shape[axis]!, inner: size(shape.slice(axis + 1)) };
}

/**
 * Each add rounds to the result's own dtype: that is what an atomic add into the buffer does
 * (float16 and bfloat16 included, which a GPU updates with a compare-and-swap on the word).
 */
const accDType = (d: DType): DType => d;

export const indexingOps: Family<IndexingName> = {
  gather: {
    name: "gather",
    arity: 2,
    attrs: { axis: "int" },
    fusion: "gather",
    infer([a, idx], { axis }) {
      checkAxis("gather", a!, axis);
      checkIndex("gather", idx!);
      if (a!.shape[axis] === 0 && size(idx!.shape) > 0) {
        throw new ShapeError(
          `cannot gather ${typeStr(idx!)} indices from ${typeStr(a!)}: axis ${axis} has length 0`,
          { op: "gather" },
        );
      }
      return { dtype: a!.dtype, shape: indexedShape(a!.shape, idx!.shape, axis) };
    },
    interp([a, idx], { axis }, out) {
      const { outer, n, inner } = blocks(a!.type.shape, axis);
      const m = idx!.data.length;
      const res = new Float64Array(size(out.shape));
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < m; j++) {
          // A GPU must never read out of bounds, so the IR clamps instead of failing.
          const k = Math.min(Math.max(idx!.data[j]!, 0), n - 1);
          for (let i = 0; i < inner; i++) {
            res[(o * m + j) * inner + i] = a!.data[(o * n + k) * inner + i]!;
          }
        }
      }
      return res;
    },
    ...indexingRules.gather,
  },

  scatter_add: {
    name: "scatter_add",
    arity: 3,
    attrs: { axis: "int" },
    fusion: "scatter",
    infer([a, idx, upd], { axis }) {
      checkAxis("scatter_add", a!, axis);
      checkIndex("scatter_add", idx!);
      if (isBool(a!.dtype)) {
        throw new DTypeError(`operand ${typeStr(a!)} must be numeric`, { op: "scatter_add" });
      }
      if (upd!.dtype !== a!.dtype) {
        throw new DTypeError(`updates ${typeStr(upd!)} must have the dtype of operand ${typeStr(a!)}`, {
          op: "scatter_add",
        });
      }
      const want = indexedShape(a!.shape, idx!.shape, axis);
      if (!shapeEq(upd!.shape, want)) {
        throw new ShapeError(
          `updates ${typeStr(upd!)} do not match operand ${typeStr(a!)} indexed by ${typeStr(idx!)} ` +
            `along axis ${axis}: expected shape [${want.join(",")}]`,
          { op: "scatter_add" },
        );
      }
      return { dtype: a!.dtype, shape: [...a!.shape] };
    },
    interp([a, idx, upd], { axis }, _out, ctx) {
      const { outer, n, inner } = blocks(a!.type.shape, axis);
      const m = idx!.data.length;
      const acc = accDType(a!.type.dtype);
      const res = Float64Array.from(a!.data);
      // j runs in order inside each (o, i), so updates to one cell are summed in index order.
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < m; j++) {
          const k = idx!.data[j]!;
          if (k < 0 || k >= n) continue;
          for (let i = 0; i < inner; i++) {
            const cell = (o * n + k) * inner + i;
            res[cell] = roundTo(acc, res[cell]! + upd!.data[(o * m + j) * inner + i]!, ctx.mode);
          }
        }
      }
      return res;
    },
    ...indexingRules.scatter_add,
  },
};
