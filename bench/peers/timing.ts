// Repeated timing after warm-up: the first runs compile, allocate and grow heaps, so they are
// left out; the table reports the median of the rest.
import type { Cell } from "./types.js";

/** Warm-up runs: the second only when the first was short (JavaScript JITs still warming). */
export const WARMUP = 2;
export const ONE_WARMUP_MS = 1000;
/** Without --reps: at least MIN_REPS, then more until MAX_REPS or BUDGET_MS of measured time. */
export const MIN_REPS = 3;
export const MAX_REPS = 50;
export const BUDGET_MS = 6000;

export async function measure(cell: Cell, reps: number | undefined): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) {
    const t0 = performance.now();
    await cell.run();
    if (performance.now() - t0 > ONE_WARMUP_MS) break;
  }
  const times: number[] = [];
  let total = 0;
  while (reps !== undefined ? times.length < reps : times.length < MIN_REPS || (times.length < MAX_REPS && total < BUDGET_MS)) {
    const t0 = performance.now();
    await cell.run();
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
  }
  return times;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
