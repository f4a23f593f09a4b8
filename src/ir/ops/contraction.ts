// PLACEHOLDER: to be replaced by the real family.
import type { Family } from "./family.js";

export type ContractionName = "matmul";
export const contractionOps = {} as Family<ContractionName>;
