// The one table of primitives. Each family of ops lives in its own file under ops/; the type
// `Registry` makes a missing primitive (or a missing rule in an entry) a compile error.
import type { Registry } from "./opdef.js";
import { contractionOps } from "./ops/contraction.js";
import { elementwiseOps } from "./ops/elementwise.js";
import { indexingOps } from "./ops/indexing.js";
import { movementOps } from "./ops/movement.js";
import { reduceOps } from "./ops/reduce.js";
import { sourceOps } from "./ops/source.js";

export const registry: Registry = {
  ...elementwiseOps,
  ...reduceOps,
  ...contractionOps,
  ...movementOps,
  ...indexingOps,
  ...sourceOps,
};

export const OP_NAMES = Object.keys(registry) as (keyof Registry)[];
