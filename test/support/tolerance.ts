// How close a device's results must be to the interpreter's, which rounds exact values once.
import type { DType, Tensor } from "../../src/ir/index.js";

export type Tolerance = Partial<Record<DType, { rel: number; abs: number }>>;

/** One op: a few units in the last place. */
export const ONE_OP: Tolerance = {
  float32: { rel: 1e-6, abs: 1e-38 },
  float16: { rel: 2e-3, abs: 6e-8 },
  bfloat16: { rel: 1.6e-2, abs: 1e-38 },
};

/** A program: sums in another order, and errors carried through several ops. */
export const PROGRAM: Tolerance = {
  float32: { rel: 1e-5, abs: 1e-5 },
  float16: { rel: 4e-3, abs: 1e-3 },
  bfloat16: { rel: 3e-2, abs: 1e-2 },
};

/**
 * The first element where `got` is not `want` (NaN equals NaN; without `exact`, zeros of either
 * sign are equal, and floats may differ within `tolerance`), or undefined.
 */
export function mismatch(want: Tensor, got: Tensor, exact: boolean, tolerance: Tolerance, who = "device"): string | undefined {
  if (want.data.length !== got.data.length) return `${got.data.length} elements, not ${want.data.length}`;
  const tol = tolerance[want.type.dtype];
  for (let i = 0; i < want.data.length; i++) {
    const a = want.data[i]!;
    const b = got.data[i]!;
    if (Object.is(a, b)) continue;
    if (!exact && a === b) continue;
    const close = !exact && tol !== undefined && Math.abs(a - b) <= tol.rel * Math.abs(a) + tol.abs;
    if (!close) return `element ${i}: interpreter ${a}, ${who} ${b}`;
  }
  return undefined;
}
