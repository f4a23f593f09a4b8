// Which elements a row kernel's store loop writes, seen from another loop: fusion substitutes a
// stored row into a later reduction over the same row, and planning lets a row be written over
// the row its reductions read.
import type { Expr } from "../ir/index.js";

/**
 * The renaming of `pattern`'s row-loop variables (each to a loop variable of no greater extent,
 * the same one wherever it occurs) that makes it `e`, if there is one: `e` then indexes an
 * element the row store wrote. `extents` gives the extents of the loops `e` may use.
 */
export function rowRenaming(
  pattern: Expr,
  e: Expr,
  rowLoops: ReadonlyMap<string, number>,
  extents: ReadonlyMap<string, number>,
): Map<string, string> | undefined {
  const bound = new Map<string, string>();
  return match(pattern, e, rowLoops, extents, bound) ? bound : undefined;
}

function match(
  pattern: Expr,
  e: Expr,
  rowLoops: ReadonlyMap<string, number>,
  extents: ReadonlyMap<string, number>,
  bound: Map<string, string>,
): boolean {
  const rec = (p: Expr, x: Expr) => match(p, x, rowLoops, extents, bound);
  if (pattern.k === "idx" && rowLoops.has(pattern.v)) {
    if (e.k !== "idx") return false;
    const was = bound.get(pattern.v);
    if (was !== undefined) return was === e.v;
    const extent = extents.get(e.v);
    if (extent === undefined || extent > rowLoops.get(pattern.v)!) return false;
    bound.set(pattern.v, e.v);
    return true;
  }
  if (pattern.k !== e.k || pattern.dtype !== e.dtype) return false;
  switch (pattern.k) {
    case "idx":
      return e.k === "idx" && e.v === pattern.v;
    case "const":
      return e.k === "const" && Object.is(e.value, pattern.value);
    case "reduced":
      return e.k === "reduced" && e.name === pattern.name;
    case "load":
      return e.k === "load" && e.buf === pattern.buf && rec(pattern.index, e.index);
    case "op":
      return (
        e.k === "op" &&
        e.op === pattern.op &&
        e.attrs?.dtype === pattern.attrs?.dtype &&
        e.args.length === pattern.args.length &&
        pattern.args.every((a, i) => rec(a, e.args[i]!))
      );
    case "random":
      return false;
    default:
      return pattern satisfies never;
  }
}
