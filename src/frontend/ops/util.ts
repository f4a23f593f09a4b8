// What every op needs: operands that may be numbers, dtype promotion, broadcasting, axes.
import { type DType, isDType, promoteTypes, promoteWithScalar, roundTo } from "../../ir/dtype.js";
import { DTypeError, ShapeError } from "../../ir/errors.js";
import { broadcastShapes, isValidShape, normalizeAxis, type Shape, shapeEq, shapeStr } from "../../ir/shape.js";
import { typeStr } from "../../ir/types.js";
import { type Array, isArray, prim } from "../array.js";

/** An array or a JavaScript number/boolean (a weakly typed scalar, as in NumPy and MLX). */
export type Operand = Array | number | boolean;

export interface ReduceOptions {
  readonly axis?: number | readonly number[];
  readonly keepdims?: boolean;
}
/** `sum(a)`, `sum(a, 1)`, `sum(a, [0, 2])` or `sum(a, { axis, keepdims })`. */
export type ReduceArg = number | readonly number[] | ReduceOptions;

export interface VarOptions extends ReduceOptions {
  /** Delta degrees of freedom: the divisor is `n - ddof`. */
  readonly ddof?: number;
}
export type VarArg = number | readonly number[] | VarOptions;

export const NONE: Record<string, never> = {};

export function range(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i);
  return out;
}

/** `f32[2,3]`, or the number itself for a scalar operand. */
export function describe(x: Operand): string {
  return isArray(x) ? typeStr(x.type) : `number ${String(x)}`;
}

export function shapeOf(x: Operand): readonly number[] {
  return isArray(x) ? x.shape : [];
}

/** The dtype a JavaScript number or boolean takes on its own. */
export function weakDType(x: number | boolean): DType {
  if (typeof x === "boolean") return "bool";
  return Number.isInteger(x) ? "int32" : "float32";
}

/** NumPy promotion of arrays (strong) and numbers (weak). */
export function commonDType(xs: readonly Operand[]): DType {
  let d: DType | undefined;
  for (const x of xs) if (isArray(x)) d = d === undefined ? x.dtype : promoteTypes(d, x.dtype);
  const scalars = xs.filter((x): x is number | boolean => !isArray(x));
  if (d === undefined) {
    return scalars.map(weakDType).reduce((a, b) => promoteTypes(a, b), "bool" as DType);
  }
  // promoteWithScalar tells a boolean from a number at run time.
  for (const s of scalars) d = promoteWithScalar(d, s as number);
  return d;
}

export function checkDType(d: unknown): DType {
  if (!isDType(d)) {
    throw new DTypeError(`unknown dtype ${JSON.stringify(d)}; dtypes are float32, float16, bfloat16, int32, uint32, bool`);
  }
  return d;
}

/** A validated shape argument (a number is a 1-D shape). */
export function checkShape(s: number | readonly number[]): number[] {
  const shape = typeof s === "number" ? [s] : [...s];
  if (!isValidShape(shape)) throw new ShapeError(`invalid shape ${JSON.stringify(shape)}: dims are integers >= 0`);
  return shape;
}

export function constantOf(dtype: DType, shape: readonly number[], values: readonly number[]): Array {
  const data = Float64Array.from(values, (v) => roundTo(dtype, v));
  return prim("constant", [], { dtype, shape: [...shape], data });
}

export function scalar(x: number | boolean, dtype: DType): Array {
  return constantOf(dtype, [], [Number(x)]);
}

export function toDType(a: Array, dtype: DType): Array {
  return a.dtype === dtype ? a : prim("convert", [a], { dtype });
}

/** The operand as an array of `dtype`. */
export function operand(x: Operand, dtype: DType): Array {
  return isArray(x) ? toDType(x, dtype) : scalar(x, dtype);
}

export function broadcastArray(a: Array, shape: Shape): Array {
  return shapeEq(a.shape, shape) ? a : prim("broadcast", [a], { shape: [...shape] });
}

/** The NumPy broadcast shape of the operands, or a ShapeError naming them all. */
export function broadcastShape(xs: readonly Operand[]): number[] {
  let out: number[] | undefined = [];
  for (const x of xs) {
    out = broadcastShapes(out, shapeOf(x));
    if (!out) throw new ShapeError(`shapes of ${xs.map(describe).join(", ")} do not broadcast`);
  }
  return out;
}

/** The operands converted to `dtype` and broadcast to their common shape. */
export function broadcastOperands(xs: readonly Operand[], dtype: DType): Array[] {
  const shape = broadcastShape(xs);
  return xs.map((x) => broadcastArray(operand(x, dtype), shape));
}

export function checkAxis(axis: number, rank: number, what: string): number {
  const a = normalizeAxis(axis, rank);
  if (a === undefined) throw new ShapeError(`axis ${axis} is out of range for ${what} (rank ${rank})`);
  return a;
}

/** Axes as the IR wants them: non-negative, unique, sorted. `undefined` means every axis. */
export function checkAxes(axis: number | readonly number[] | undefined, rank: number, what: string): number[] {
  if (axis === undefined) return range(rank);
  const list = typeof axis === "number" ? [axis] : axis;
  const out = list.map((a) => checkAxis(a, rank, what));
  if (new Set(out).size !== out.length) throw new ShapeError(`repeated axis in ${shapeStr(list)} for ${what}`);
  return out.sort((a, b) => a - b);
}

export function reduceOptions(arg: ReduceArg | VarArg | undefined): VarOptions {
  if (arg === undefined) return {};
  if (typeof arg === "number" || globalThis.Array.isArray(arg)) return { axis: arg as number | readonly number[] };
  return arg as VarOptions;
}

export function checkInt(x: number, what: string): number {
  if (!Number.isInteger(x)) throw new ShapeError(`${what} must be an integer, got ${x}`);
  return x;
}
