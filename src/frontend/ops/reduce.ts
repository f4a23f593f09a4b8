// Reductions and the composites built on them (mean, var, std, logsumexp, softmax).
import { type DType, isFloat } from "../../ir/dtype.js";
import { ShapeError } from "../../ir/errors.js";
import { typeStr } from "../../ir/types.js";
import { type Array, prim } from "../array.js";
import { publicOp } from "../context.js";
import { abs, div, exp, less, log, mul, stopGradient, sub, where } from "./elementwise.js";
import {
  checkAxes,
  checkAxis,
  commonDType,
  NONE,
  type Operand,
  operand,
  type ReduceArg,
  reduceOptions,
  type VarArg,
} from "./util.js";

type ReducePrim = "reduce_sum" | "reduce_prod" | "reduce_max" | "reduce_min";

export interface ArgReduceOptions {
  readonly axis?: number;
  readonly keepdims?: boolean;
}

/** Reduces `axes` (normalized) of `x`; with `keepdims` they stay as size-1 dims. */
function reduceAxes(op: ReducePrim, x: Array, axes: readonly number[], keepdims: boolean): Array {
  const r = prim(op, [x], { axes: [...axes] });
  return keepdims ? prim("reshape", [r], { shape: keptShape(x.shape, axes) }) : r;
}

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduction(name: string, op: ReducePrim, a: Operand, arg: ReduceArg | undefined, rule: (d: DType) => DType): Array {
  return publicOp(name, () => {
    const x = operand(a, rule(commonDType([a])));
    const { axis, keepdims = false } = reduceOptions(arg);
    return reduceAxes(op, x, checkAxes(axis, x.ndim, typeStr(x.type)), keepdims);
  });
}

// Sums and products of bools count in int32, as NumPy's do in its default integer.
const countBools = (d: DType): DType => (d === "bool" ? "int32" : d);
const same = (d: DType): DType => d;
const toFloat = (d: DType): DType => (isFloat(d) ? d : "float32");

/** Sum over `axis` (all axes by default); bools count as 0 and 1 in int32. */
export const sum = (a: Operand, arg?: ReduceArg): Array => reduction("sum", "reduce_sum", a, arg, countBools);
export const prod = (a: Operand, arg?: ReduceArg): Array => reduction("prod", "reduce_prod", a, arg, countBools);
/** Largest value over `axis`; NaN if any is NaN; a zero-length axis is a ShapeError. */
export const max = (a: Operand, arg?: ReduceArg): Array => reduction("max", "reduce_max", a, arg, same);
export const min = (a: Operand, arg?: ReduceArg): Array => reduction("min", "reduce_min", a, arg, same);

/** The number of elements each output of a reduction over `axes` of `shape` combines. */
function countOf(shape: readonly number[], axes: readonly number[]): number {
  return axes.reduce((n, i) => n * shape[i]!, 1);
}

/** Mean over `axis` (integers average in float32). Over zero elements it is NaN. */
export function mean(a: Operand, arg?: ReduceArg): Array {
  return publicOp("mean", () => {
    const x = operand(a, toFloat(commonDType([a])));
    const { axis, keepdims = false } = reduceOptions(arg);
    const axes = checkAxes(axis, x.ndim, typeStr(x.type));
    return div(reduceAxes("reduce_sum", x, axes, keepdims), countOf(x.shape, axes));
  });
}

/** Variance over `axis`: the mean squared deviation, divided by `n - ddof` (default ddof 0). */
export function variance(a: Operand, arg?: VarArg): Array {
  return publicOp("var", () => {
    const x = operand(a, toFloat(commonDType([a])));
    const { axis, keepdims = false, ddof = 0 } = reduceOptions(arg);
    const axes = checkAxes(axis, x.ndim, typeStr(x.type));
    const d = sub(x, mean(x, { axis: axes, keepdims: true }));
    const divisor = Math.max(countOf(x.shape, axes) - ddof, 0);
    return div(reduceAxes("reduce_sum", mul(d, d), axes, keepdims), divisor);
  });
}

export function std(a: Operand, arg?: VarArg): Array {
  return publicOp("std", () => prim("sqrt", [variance(a, arg)], NONE));
}

function argReduction(name: string, op: "argmax" | "argmin", a: Operand, arg: number | ArgReduceOptions | undefined): Array {
  return publicOp(name, () => {
    const opts = typeof arg === "number" ? { axis: arg } : (arg ?? {});
    let x = operand(a, commonDType([a]));
    const shape = x.shape;
    if (opts.axis === undefined) x = prim("reshape", [x], { shape: [x.size] });
    const axis = checkAxis(opts.axis ?? 0, x.ndim, typeStr(x.type));
    const r = prim(op, [x], { axis });
    if (!opts.keepdims) return r;
    const kept = opts.axis === undefined ? shape.map(() => 1) : keptShape(shape, [axis]);
    return prim("reshape", [r], { shape: kept });
  });
}

/** Index (int32) of the largest value along `axis` (of the flattened array by default); ties give the first. */
export const argmax = (a: Operand, arg?: number | ArgReduceOptions): Array => argReduction("argmax", "argmax", a, arg);
export const argmin = (a: Operand, arg?: number | ArgReduceOptions): Array => argReduction("argmin", "argmin", a, arg);

/**
 * `log(sum(exp(x)))` over `axis`, computed stably: the maximum is subtracted first (and treated
 * as 0 where it is infinite, so rows of -inf give -inf, not NaN).
 */
export function logsumexp(a: Operand, arg?: ReduceArg): Array {
  return publicOp("logsumexp", () => {
    const x = operand(a, toFloat(commonDType([a])));
    const { axis, keepdims = false } = reduceOptions(arg);
    const axes = checkAxes(axis, x.ndim, typeStr(x.type));
    const m = stopGradient(finiteOrZero(reduceAxes("reduce_max", x, axes, true)));
    const s = log(reduceAxes("reduce_sum", exp(sub(x, m)), axes, true));
    const r = prim("add", [s, m], NONE);
    return keepdims ? r : prim("reshape", [r], { shape: x.shape.filter((_, i) => !axes.includes(i)) });
  });
}

function finiteOrZero(m: Array): Array {
  return where(less(abs(m), Infinity), m, 0);
}

function softmaxAxes(x: Array, axis: number | readonly number[]): number[] {
  if (x.ndim === 0) throw new ShapeError(`needs at least one axis, got ${typeStr(x.type)}`);
  return checkAxes(axis, x.ndim, typeStr(x.type));
}

/** `exp(x) / sum(exp(x))` along `axis` (the last by default), with the maximum subtracted first. */
export function softmax(a: Operand, axis: number | readonly number[] = -1): Array {
  return publicOp("softmax", () => {
    const x = operand(a, toFloat(commonDType([a])));
    const axes = softmaxAxes(x, axis);
    const m = stopGradient(reduceAxes("reduce_max", x, axes, true));
    const e = exp(sub(x, m));
    return div(e, reduceAxes("reduce_sum", e, axes, true));
  });
}

/** `x - logsumexp(x)` along `axis` (the last by default). */
export function logSoftmax(a: Operand, axis: number | readonly number[] = -1): Array {
  return publicOp("logSoftmax", () => {
    const x = operand(a, toFloat(commonDType([a])));
    return sub(x, logsumexp(x, { axis: softmaxAxes(x, axis), keepdims: true }));
  });
}
