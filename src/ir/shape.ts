// Static shapes: broadcasting, axes, strides.

export type Shape = readonly number[];

export const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);

export const shapeEq = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export const shapeStr = (s: Shape): string => `[${s.join(",")}]`;

/** Row-major strides in elements. */
export function strides(s: Shape): number[] {
  const out = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= s[i]!;
  }
  return out;
}

/** NumPy broadcasting of two shapes (right-aligned); undefined when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Resolve a possibly negative axis; undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  if (!Number.isInteger(axis)) return undefined;
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

export function isValidShape(s: readonly unknown[]): s is number[] {
  return s.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0);
}

export function isPermutation(p: readonly number[], rank: number): boolean {
  if (p.length !== rank) return false;
  const seen = new Set(p);
  return seen.size === rank && p.every((x) => Number.isInteger(x) && x >= 0 && x < rank);
}

/** Multi-index of flat index `i` in a row-major shape. */
export function unravel(i: number, s: Shape): number[] {
  const idx = new Array<number>(s.length);
  for (let d = s.length - 1; d >= 0; d--) {
    const n = s[d]!;
    idx[d] = n === 0 ? 0 : i % n;
    i = n === 0 ? 0 : Math.floor(i / n);
  }
  return idx;
}

export function ravel(idx: readonly number[], st: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < idx.length; d++) f += idx[d]! * st[d]!;
  return f;
}
