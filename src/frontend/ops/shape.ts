// Shape ops: NumPy rules (negative axes, -1 in reshape, slice bounds) resolved here, so the
// primitives see only normalized, in-range attributes.
import { roundTo } from "../../ir/dtype.js";
import { ShapeError } from "../../ir/errors.js";
import { broadcastShapes, isPermutation, shapeEq, shapeStr, size } from "../../ir/shape.js";
import { typeStr } from "../../ir/types.js";
import { type Array, prim } from "../array.js";
import { publicOp } from "../context.js";
import { broadcastArray, checkAxes, checkAxis, checkInt, checkShape, commonDType, range, toDType } from "./util.js";

/** Per-dim slice bounds; `null`/`undefined` (or a missing entry) means the default. */
export type Bounds = readonly (number | null | undefined)[];
/** `[before, after]` per dim, one pair for every dim, or one width for both sides of every dim. */
export type PadWidths = readonly (readonly [number, number])[] | readonly [number, number] | number;

/** `shape` with at most one -1, resolved against `a`'s size. */
export function reshape(a: Array, shape: number | readonly number[]): Array {
  return publicOp("reshape", () => {
    const want = typeof shape === "number" ? [shape] : [...shape];
    const bad = () => new ShapeError(`cannot reshape ${typeStr(a.type)} (${a.size} elements) into ${shapeStr(want)}`);
    const free = want.filter((d) => d === -1).length;
    if (free > 1 || want.some((d) => !Number.isInteger(d) || d < -1)) throw bad();
    const known = size(want.filter((d) => d !== -1));
    if (free === 1) {
      if (known === 0 || a.size % known !== 0) throw bad();
      want[want.indexOf(-1)] = a.size / known;
    }
    if (size(want) !== a.size) throw bad();
    return shapeEq(want, a.shape) ? a : prim("reshape", [a], { shape: want });
  });
}

/** Permutes the axes (reverses them by default); negative axes count from the end. */
export function transpose(a: Array, axes?: readonly number[]): Array {
  return publicOp("transpose", () => {
    const perm = axes === undefined ? range(a.ndim).reverse() : axes.map((x) => checkAxis(x, a.ndim, typeStr(a.type)));
    if (!isPermutation(perm, a.ndim)) {
      throw new ShapeError(`axes ${shapeStr(axes ?? [])} are not a permutation of the axes of ${typeStr(a.type)}`);
    }
    return perm.every((p, i) => p === i) ? a : prim("transpose", [a], { perm });
  });
}

export function broadcastTo(a: Array, shape: readonly number[]): Array {
  return publicOp("broadcastTo", () => {
    const target = checkShape(shape);
    const b = broadcastShapes(a.shape, target);
    if (a.ndim > target.length || !b || !shapeEq(b, target)) {
      throw new ShapeError(`cannot broadcast ${typeStr(a.type)} to ${shapeStr(target)}`);
    }
    return broadcastArray(a, target);
  });
}

/** Inserts size-1 axes at the given positions of the result. */
export function expandDims(a: Array, axis: number | readonly number[]): Array {
  return publicOp("expandDims", () => {
    const n = typeof axis === "number" ? 1 : axis.length;
    const axes = checkAxes(axis, a.ndim + n, `the result of expanding ${typeStr(a.type)}`);
    const out: number[] = [];
    let src = 0;
    for (let i = 0; i < a.ndim + n; i++) out.push(axes.includes(i) ? 1 : a.shape[src++]!);
    return prim("reshape", [a], { shape: out });
  });
}

/** Removes the given size-1 axes, or every size-1 axis. */
export function squeeze(a: Array, axis?: number | readonly number[]): Array {
  return publicOp("squeeze", () => {
    const axes =
      axis === undefined ? range(a.ndim).filter((i) => a.shape[i] === 1) : checkAxes(axis, a.ndim, typeStr(a.type));
    for (const x of axes) {
      if (a.shape[x] !== 1) throw new ShapeError(`cannot squeeze axis ${x} of ${typeStr(a.type)}: its size is ${a.shape[x]}`);
    }
    if (axes.length === 0) return a;
    return prim("reshape", [a], { shape: a.shape.filter((_, i) => !axes.includes(i)) });
  });
}

/** Joins arrays along an existing axis (dtypes promote). */
export function concatenate(arrays: readonly Array[], axis = 0): Array {
  return publicOp("concatenate", () => {
    if (arrays.length === 0) throw new ShapeError("needs at least one array");
    const first = arrays[0]!;
    const all = arrays.map((a) => typeStr(a.type)).join(", ");
    if (first.ndim === 0) throw new ShapeError(`cannot join 0-d arrays (${all}); use stack`);
    if (arrays.some((a) => a.ndim !== first.ndim)) throw new ShapeError(`arrays ${all} differ in rank`);
    const ax = checkAxis(axis, first.ndim, all);
    const d = commonDType(arrays);
    return prim(
      "concatenate",
      arrays.map((a) => toDType(a, d)),
      { axis: ax },
    );
  });
}

/** Joins arrays of one shape along a new axis. */
export function stack(arrays: readonly Array[], axis = 0): Array {
  return publicOp("stack", () => {
    if (arrays.length === 0) throw new ShapeError("needs at least one array");
    const first = arrays[0]!;
    if (arrays.some((a) => !shapeEq(a.shape, first.shape))) {
      throw new ShapeError(`arrays ${arrays.map((a) => typeStr(a.type)).join(", ")} differ in shape`);
    }
    return concatenate(
      arrays.map((a) => expandDims(a, axis)),
      checkAxis(axis, first.ndim + 1, `the stack of ${typeStr(first.type)}`),
    );
  });
}

/**
 * Splits `a` along `axis` into `n` equal parts (`n` must divide the dim), or at the given
 * indices (NumPy `split`: `[2, 5]` gives `a[:2]`, `a[2:5]`, `a[5:]`; bounds clip as slices do).
 */
export function split(a: Array, sectionsOrIndices: number | readonly number[], axis = 0): Array[] {
  return publicOp("split", () => {
    const ax = checkAxis(axis, a.ndim, typeStr(a.type));
    const n = a.shape[ax]!;
    let cuts: number[];
    if (typeof sectionsOrIndices === "number") {
      const k = checkInt(sectionsOrIndices, "the number of sections");
      if (k < 1 || n % k !== 0) throw new ShapeError(`axis ${ax} of ${typeStr(a.type)} does not split into ${k} equal parts`);
      cuts = range(k - 1).map((i) => ((i + 1) * n) / k);
    } else {
      cuts = sectionsOrIndices.map((i) => checkInt(i, "a split index"));
    }
    const bounds = [0, ...cuts, n];
    return range(bounds.length - 1).map((i) => {
      const starts: (number | undefined)[] = [];
      const stops: (number | undefined)[] = [];
      starts[ax] = bounds[i]!;
      stops[ax] = bounds[i + 1]!;
      return slice(a, starts, stops);
    });
  });
}

interface DimSlice {
  readonly flip: boolean;
  readonly start: number;
  readonly stop: number;
  readonly step: number;
}

/**
 * Python's `slice(start, stop, step).indices(n)`, as a range of the dim (flipped first when the
 * step is negative) that the `slice` primitive can take.
 */
export function sliceDim(n: number, start: number | null | undefined, stop: number | null | undefined, step: number): DimSlice {
  if (step > 0) {
    const s = start == null ? 0 : start < 0 ? Math.max(0, start + n) : Math.min(start, n);
    const e = stop == null ? n : stop < 0 ? Math.max(0, stop + n) : Math.min(stop, n);
    return { flip: false, start: s, stop: Math.max(s, e), step };
  }
  const s = start == null ? n - 1 : start < 0 ? Math.max(-1, start + n) : Math.min(start, n - 1);
  const e = stop == null ? -1 : stop < 0 ? Math.max(-1, stop + n) : Math.min(stop, n - 1);
  const count = s > e ? Math.ceil((s - e) / -step) : 0;
  if (count === 0) return { flip: false, start: 0, stop: 0, step: 1 };
  // In the flipped dim, element i of the original is element n-1-i.
  const fs = n - 1 - s;
  return { flip: true, start: fs, stop: fs + (count - 1) * -step + 1, step: -step };
}

/**
 * `a[start:stop:step, ...]` with NumPy rules: negative bounds count from the end, out-of-range
 * bounds clip, negative steps walk backwards. Missing entries mean the whole dim.
 */
export function slice(a: Array, starts: Bounds, stops: Bounds = [], steps: Bounds = []): Array {
  return publicOp("slice", () => {
    const longest = Math.max(starts.length, stops.length, steps.length);
    if (longest > a.ndim) throw new ShapeError(`${longest} bounds for ${typeStr(a.type)}`);
    const check = (x: number | null | undefined, what: string) => (x == null ? x : checkInt(x, what));
    const dims = range(a.ndim).map((i) => {
      const step = check(steps[i], "a slice step") ?? 1;
      if (step === 0) throw new ShapeError(`slice step cannot be zero (dim ${i} of ${typeStr(a.type)})`);
      return sliceDim(a.shape[i]!, check(starts[i], "a slice start"), check(stops[i], "a slice stop"), step);
    });
    const flips = range(a.ndim).filter((i) => dims[i]!.flip);
    const src = flips.length > 0 ? prim("flip", [a], { axes: flips }) : a;
    return prim("slice", [src], {
      start: dims.map((d) => d.start),
      stop: dims.map((d) => d.stop),
      step: dims.map((d) => d.step),
    });
  });
}

function padPairs(widths: PadWidths, rank: number): [number, number][] {
  if (typeof widths === "number") return range(rank).map(() => [widths, widths]);
  if (widths.length === 2 && typeof widths[0] === "number") {
    const [lo, hi] = widths as readonly [number, number];
    return range(rank).map(() => [lo, hi]);
  }
  return (widths as readonly (readonly [number, number])[]).map(([lo, hi]) => [lo, hi]);
}

/** Pads each dim with `[before, after]` cells holding `value` (converted to `a`'s dtype). */
export function pad(a: Array, widths: PadWidths, value = 0): Array {
  return publicOp("pad", () => {
    const pairs = padPairs(widths, a.ndim);
    const text = JSON.stringify(widths);
    if (pairs.length !== a.ndim) throw new ShapeError(`widths ${text} do not match ${typeStr(a.type)}: one pair per dim`);
    if (pairs.some(([lo, hi]) => !Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < 0)) {
      throw new ShapeError(`widths ${text} must be integers >= 0`);
    }
    return prim("pad", [a], {
      low: pairs.map((p) => p[0]),
      high: pairs.map((p) => p[1]),
      value: roundTo(a.dtype, value),
    });
  });
}

/** Reverses the given axes, or every axis. */
export function flip(a: Array, axis?: number | readonly number[]): Array {
  return publicOp("flip", () => prim("flip", [a], { axes: checkAxes(axis, a.ndim, typeStr(a.type)) }));
}
