// `tidy` scopes: every array created inside one is disposed when it ends, unless returned.
import type { Array } from "./array.js";

const scopes: Set<Array>[] = [];
let paused = 0;

export function track(a: Array): void {
  if (paused === 0) scopes[scopes.length - 1]?.add(a);
}

/** Runs `body` without registering the arrays it creates in any scope (smelt's own state). */
export function untracked<T>(body: () => T): T {
  paused++;
  try {
    return body();
  } finally {
    paused--;
  }
}

export function openScope(): void {
  scopes.push(new Set());
}

/** Ends the innermost scope; `kept` arrays created in it move to the enclosing scope. */
export function closeScope(kept: ReadonlySet<Array>): Array[] {
  const scope = scopes.pop() ?? new Set<Array>();
  const outer = scopes[scopes.length - 1];
  const dead: Array[] = [];
  for (const a of scope) {
    if (kept.has(a)) outer?.add(a);
    else dead.push(a);
  }
  return dead;
}
