// The type of one family's slice of the registry.
import type { OpName } from "../attrs.js";
import type { OpDef } from "../opdef.js";

export type Family<K extends OpName> = { readonly [P in K]: OpDef<P> };
