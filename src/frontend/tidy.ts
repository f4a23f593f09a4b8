// `sm.tidy(fn)`: arrays created in `fn` and not returned are disposed when it returns.
import { SmeltError } from "../ir/errors.js";
import { type Array, isArray } from "./array.js";
import { realize } from "./eval.js";
import { closeScope, openScope } from "./scope.js";
import { activeTrace } from "./trace.js";
import { flatten } from "./tree.js";

/**
 * Runs `fn` and disposes every array it created that is not in its result (a tree). The
 * returned arrays are computed first, since the arrays they were computed from are disposed.
 * Inside a function being traced by `compile`, arrays hold no memory and nothing is disposed.
 * `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  if (activeTrace()) return fn();
  openScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const a of closeScope(new Set())) a.dispose();
    throw e;
  }
  if (result instanceof Promise) {
    for (const a of closeScope(new Set())) a.dispose();
    throw new SmeltError("fn returned a Promise: tidy only takes synchronous functions", { op: "tidy" });
  }
  const kept = flatten(result)[0].filter(isArray) as Array[];
  try {
    realize(kept);
  } finally {
    for (const a of closeScope(new Set(kept))) a.dispose();
  }
  return result;
}
