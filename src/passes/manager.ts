// The pass manager: passes are pure functions from one func to the next, run in order, with a
// hook after each (for --dump-ir and lower().ir(stage)) and, when asked, the verifier.
import { type Func, VerifyError, verify } from "../ir/index.js";

export interface Pass {
  readonly name: string;
  readonly run: (func: Func) => Func;
}

export interface RunOptions {
  /** Called with each pass's name and output, in order. */
  readonly after?: (name: string, func: Func) => void;
  /** Verify the input and each pass's output (tests set this), naming the pass that broke it. */
  readonly verifyEach?: boolean;
}

export function runPasses(func: Func, passes: readonly Pass[], options: RunOptions = {}): Func {
  if (options.verifyEach) verifyAt("before any pass", func);
  let current = func;
  for (const pass of passes) {
    current = pass.run(current);
    if (options.verifyEach) verifyAt(`after pass ${pass.name}`, current);
    options.after?.(pass.name, current);
  }
  return current;
}

function verifyAt(when: string, func: Func): void {
  try {
    verify(func);
  } catch (e) {
    if (e instanceof VerifyError) throw new VerifyError(`${when}: ${e.detail}`, { op: e.op, loc: e.loc });
    throw e;
  }
}
