// PLACEHOLDER: to be replaced by the real family.
import type { Family } from "./family.js";

export type MovementName = "reshape" | "transpose" | "broadcast" | "slice" | "pad" | "concatenate" | "flip";
export const movementOps = {} as Family<MovementName>;
