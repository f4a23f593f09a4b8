// What every framework column implements: one Cell per workload, which does one timed unit of
// work per `run()` and reduces its result to the check values of bench/workloads/spec.ts.
import type { GcnProblem, MlpProblem } from "../workloads/spec.js";

export const COLUMNS = ["smelt", "jax", "tfjs-wasm", "tfjs-cpu"] as const;
export type Column = (typeof COLUMNS)[number];

export interface Cell {
  /** One unit of work (one op chain, one matmul, one training step), finished on return. */
  run(): Promise<void>;
  /**
   * gelu, matmul: the check values of the last `run()`'s result. mlp, gcn: `lossCheck` of the
   * losses of CHECK_STEPS steps from the initial weights (GCN without dropout, which no two
   * frameworks draw alike), on a state of their own.
   */
  check(): Promise<number[]>;
}

export interface Framework {
  /** What it runs on: backend, threads, SIMD. */
  readonly config: string;
  gelu(x: Float32Array): Cell;
  matmul(a: Float32Array, b: Float32Array, n: number): Cell;
  mlp(p: MlpProblem): Cell;
  gcn(p: GcnProblem): Cell;
}

export interface Job {
  readonly column: Column;
  readonly workload: "gelu" | "matmul" | "mlp" | "gcn";
  readonly small: boolean;
  /** Exact repetitions, or undefined: adaptive (see timing.ts). */
  readonly reps: number | undefined;
  readonly cora: string;
  readonly smeltDevice: string;
}

export type JobResult =
  | { readonly ok: true; readonly config: string; readonly ms: number[]; readonly check: number[] }
  | { readonly ok: false; readonly config: string; readonly error: string };
