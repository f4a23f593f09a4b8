// PLACEHOLDER: to be replaced by the real family.
import type { Family } from "./family.js";

export type SourceName = "iota" | "constant" | "random_bits";
export const sourceOps = {} as Family<SourceName>;
