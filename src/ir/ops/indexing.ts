// PLACEHOLDER: to be replaced by the real family.
import type { Family } from "./family.js";

export type IndexingName = "gather" | "scatter_add";
export const indexingOps = {} as Family<IndexingName>;
