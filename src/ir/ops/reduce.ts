// PLACEHOLDER: to be replaced by the real family.
import type { Family } from "./family.js";

export type ReduceName = "reduce_sum" | "reduce_max" | "reduce_min" | "reduce_prod" | "argmax" | "argmin";
export const reduceOps = {} as Family<ReduceName>;
