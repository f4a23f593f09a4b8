// The shape of an entry's derivative rules, shared by the family rule files.
import type { OpName } from "../attrs.js";
import type { OpDef } from "../opdef.js";

export type Rules<K extends OpName> = Pick<OpDef<K>, "vjp" | "jvp">;

/** For ops whose result carries no derivative: comparisons, logic, indices, integer sources. */
export const NONDIFF = { vjp: "nondiff", jvp: "nondiff" } as const;
