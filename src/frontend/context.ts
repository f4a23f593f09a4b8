// The public op being run: it names every error raised inside it and gives every primitive it
// creates the user's source location. Composites call other public ops; only the outermost
// one (the one the user called) counts.
import { type ErrorContext, SmeltError } from "../ir/errors.js";
import type { Loc } from "../ir/loc.js";
import { userLoc } from "./location.js";

interface OpContext {
  readonly op: string;
  readonly loc: Loc | undefined;
}

let current: OpContext | undefined;

export function currentLoc(): Loc | undefined {
  return current?.loc;
}

/** Runs `body` as the public op `name`, called from the user's current line. */
export function publicOp<T>(name: string, body: () => T): T {
  if (current) return body();
  const ctx: OpContext = { op: name, loc: userLoc(publicOp) };
  current = ctx;
  try {
    return body();
  } catch (e) {
    throw e instanceof SmeltError ? rebrand(e, ctx) : e;
  } finally {
    current = undefined;
  }
}

/** Runs `body` outside any public op (user code called back from inside smelt). */
export function userCode<T>(body: () => T): T {
  const saved = current;
  current = undefined;
  try {
    return body();
  } finally {
    current = saved;
  }
}

/**
 * The error as the user should see it: named after the public op, at the user's line. An error
 * from a primitive keeps the primitive's name in its detail (`softmax: reduce_max: ...`).
 */
export function rebrand(e: SmeltError, ctx: ErrorContext): SmeltError {
  if (e.op === undefined || e.op === ctx.op) return e.withContext(ctx);
  const Ctor = e.constructor as new (detail: string, c: ErrorContext) => SmeltError;
  const out = new Ctor(`${e.op}: ${e.detail}`, { op: ctx.op, loc: e.loc ?? ctx.loc });
  out.stack = `${out.name}: ${out.message}\n${(e.stack ?? "").split("\n").slice(1).join("\n")}`;
  return out;
}
