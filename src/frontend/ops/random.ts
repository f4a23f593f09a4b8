// Counter-based random numbers (Threefry-2x32, the `random_bits` primitive): the same key gives
// the same numbers on every device. Without a key, a draw splits a global key that `seed`
// resets. A draw without a key inside a compiled function is traced once, so every call of the
// compiled function repeats it: pass keys as arguments there.
import type { DType } from "../../ir/dtype.js";
import { DTypeError } from "../../ir/errors.js";
import { isFloat } from "../../ir/dtype.js";
import { type Array, prim } from "../array.js";
import { publicOp } from "../context.js";
import { array } from "../creation.js";
import { realize } from "../eval.js";
import { untracked } from "../scope.js";
import { activeTrace } from "../trace.js";
import { add, astype, cos, less, log, mul, sqrt, sub } from "./elementwise.js";
import { broadcastArray, checkDType, checkInt, checkShape, NONE, type Operand, range, scalar, shapeOf } from "./util.js";

export interface KeyOption {
  /** A u32[2] key (`random.key(n)` or a result of `random.split`). */
  readonly key?: Array;
}

/** A key (u32[2]) from an integer seed: `[high 32 bits, low 32 bits]`. */
export function key(seed: number): Array {
  return publicOp("random.key", () => {
    checkInt(seed, "the seed");
    const bits = BigInt.asUintN(64, BigInt(seed));
    return array([Number(bits >> 32n), Number(bits & 0xffffffffn)], { dtype: "uint32" });
  });
}

let globalKey: Array | undefined;

/** Resets the global key that draws without a `key` split. */
export function seed(n: number): void {
  publicOp("random.seed", () => {
    globalKey = untracked(() => key(n));
  });
}

/** A fresh key from the global one, which moves on (both computed now). */
function nextKey(): Array {
  return untracked(() => {
    const [next, sub] = split(globalKey ?? key(0));
    realize([next!, sub!]);
    globalKey = next!;
    return sub!;
  });
}

function bits(k: Array, shape: readonly number[]): Array {
  return prim("random_bits", [k], { shape: [...shape] });
}

/** `n` new keys (u32[2] each) derived from `key`. */
export function split(key: Array, n = 2): Array[] {
  return publicOp("random.split", () => {
    checkInt(n, "the number of keys");
    const all = bits(key, [n, 2]);
    const keys = range(n).map((i) => prim("reshape", [rowOf(all, i)], { shape: [2] }));
    // Keys are tiny and feed further splits: computed now, a chain of splits never becomes a
    // graph that every later read recomputes from the first key.
    if (!activeTrace()) realize(keys);
    return keys;
  });
}

/** Row `i` (along the first axis) of `a`, keeping the axis. */
function rowOf(a: Array, i: number): Array {
  return prim("slice", [a], {
    start: a.shape.map((_, d) => (d === 0 ? i : 0)),
    stop: a.shape.map((s, d) => (d === 0 ? i + 1 : s)),
    step: a.shape.map(() => 1),
  });
}

/** float32 in [0, 1) with 24 random bits: `(bits >> 8) * 2^-24` (`plusOne`: in (0, 1]). */
function unitFloats(b: Array, plusOne: boolean): Array {
  const shifted = prim("div", [b, broadcastArray(scalar(256, "uint32"), b.shape)], NONE);
  const f = prim("convert", [shifted], { dtype: "float32" });
  return mul(plusOne ? add(f, 1) : f, 2 ** -24);
}

function floatDType(d: DType | undefined): DType {
  const out = checkDType(d ?? "float32");
  if (!isFloat(out)) throw new DTypeError(`needs a float dtype, got ${out}`);
  return out;
}

/**
 * Uniform numbers in `[low, high)` (default `[0, 1)`), computed in float32 (then converted to
 * `dtype`, where rounding can reach `high`).
 */
export function uniform(
  shape: number | readonly number[],
  opts: KeyOption & { readonly low?: Operand; readonly high?: Operand; readonly dtype?: DType } = {},
): Array {
  return publicOp("random.uniform", () => {
    const s = checkShape(shape);
    const d = floatDType(opts.dtype);
    const u = unitFloats(bits(opts.key ?? nextKey(), s), false);
    const { low = 0, high = 1 } = opts;
    return astype(add(mul(u, sub(high, low)), low), d);
  });
}

/** Standard normal numbers (Box–Muller over two uniforms), computed in float32. */
export function normal(shape: number | readonly number[], opts: KeyOption & { readonly dtype?: DType } = {}): Array {
  return publicOp("random.normal", () => {
    const s = checkShape(shape);
    const d = floatDType(opts.dtype);
    const b = bits(opts.key ?? nextKey(), [2, ...s]);
    const half = (i: number) => prim("reshape", [rowOf(b, i)], { shape: s });
    const u1 = unitFloats(half(0), true);
    const u2 = unitFloats(half(1), false);
    const z = mul(sqrt(mul(log(u1), -2)), cos(mul(u2, 2 * Math.PI)));
    return astype(z, d);
  });
}

/** `true` with probability `p` (a number or an array broadcasting to `shape`, by default p's shape). */
export function bernoulli(p: Operand, shape?: number | readonly number[], opts: KeyOption = {}): Array {
  return publicOp("random.bernoulli", () => {
    const s = shape === undefined ? shapeOf(p) : checkShape(shape);
    return less(uniform(s, opts), p);
  });
}
