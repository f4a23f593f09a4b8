// Validation of the integer-list attributes that reductions and movement ops share. The IR takes
// only normalized attributes (the frontend resolves negative axes), so anything else is an error.
import type { OpName } from "../attrs.js";
import { ShapeError } from "../errors.js";
import { type TensorType, typeStr } from "../types.js";

const listStr = (v: unknown): string => (Array.isArray(v) ? `[${v.join(", ")}]` : String(v));

export function checkIntList(op: OpName, attr: string, v: readonly number[]): void {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) {
    throw new ShapeError(`${attr} must be a list of integers, got ${listStr(v)}`, { op });
  }
}

/** A list with one integer per dimension of `x`. */
export function checkPerDim(op: OpName, attr: string, v: readonly number[], x: TensorType): void {
  checkIntList(op, attr, v);
  if (v.length !== x.shape.length) {
    throw new ShapeError(
      `${attr} ${listStr(v)} has ${v.length} entries but ${typeStr(x)} has rank ${x.shape.length}`,
      { op },
    );
  }
}

export function checkShapeAttr(op: OpName, attr: string, v: readonly number[]): void {
  checkIntList(op, attr, v);
  if (v.some((d) => d < 0)) {
    throw new ShapeError(`${attr} ${listStr(v)} has a negative dimension`, { op });
  }
}

export function checkAxis(op: OpName, axis: number, x: TensorType): void {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    throw new ShapeError(`axis ${String(axis)} is out of range [0, ${rank}) for ${typeStr(x)}`, { op });
  }
}

/** Axes that are in range, unique and sorted ascending. */
export function checkAxes(op: OpName, attr: string, axes: readonly number[], x: TensorType): void {
  checkIntList(op, attr, axes);
  const rank = x.shape.length;
  for (const a of axes) {
    if (a < 0 || a >= rank) {
      throw new ShapeError(`${attr} ${listStr(axes)}: axis ${a} is out of range [0, ${rank}) for ${typeStr(x)}`, {
        op,
      });
    }
  }
  for (let i = 1; i < axes.length; i++) {
    if (axes[i]! <= axes[i - 1]!) {
      throw new ShapeError(`${attr} ${listStr(axes)} must be unique and sorted ascending`, { op });
    }
  }
}
