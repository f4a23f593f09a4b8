// Index arithmetic shared by the reference rules of reductions and movement ops: which input
// elements feed which output element, written as plain loops over multi-indices.
import { type Shape, ravel, size, strides, unravel } from "../shape.js";
import type { Tensor } from "../types.js";

/**
 * For each element of the result of reducing `shape` over `axes` (row-major), the flat input
 * indices folded into it, in row-major order of the reduced axes (the accumulation order).
 */
export function reductionGroups(shape: Shape, axes: readonly number[]): number[][] {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptShape = kept.map((d) => shape[d]!);
  const reducedShape = axes.map((d) => shape[d]!);
  const st = strides(shape);
  const groups: number[][] = [];
  for (let o = 0; o < size(keptShape); o++) {
    const idx = new Array<number>(shape.length).fill(0);
    unravel(o, keptShape).forEach((v, i) => (idx[kept[i]!] = v));
    const group: number[] = [];
    for (let r = 0; r < size(reducedShape); r++) {
      unravel(r, reducedShape).forEach((v, i) => (idx[axes[i]!] = v));
      group.push(ravel(idx, st));
    }
    groups.push(group);
  }
  return groups;
}

/**
 * A result of shape `outShape` whose element at multi-index `idx` is `src` at `source(idx)`, or
 * `fill` where `source` gives undefined (padding).
 */
export function pullElements(
  src: Tensor,
  outShape: Shape,
  source: (outIdx: readonly number[]) => number[] | undefined,
  fill = 0,
): Float64Array {
  const st = strides(src.type.shape);
  const out = new Float64Array(size(outShape));
  for (let i = 0; i < out.length; i++) {
    const from = source(unravel(i, outShape));
    out[i] = from === undefined ? fill : src.data[ravel(from, st)]!;
  }
  return out;
}
