// Every error a user can cause is a SmeltError subclass whose message names the op, the
// shapes or dtypes involved and, when known, the user's source line.
import { type Loc, locStr } from "./loc.js";

export interface ErrorContext {
  /** The op (primitive or public function) that failed. */
  readonly op?: string;
  readonly loc?: Loc;
}

export class SmeltError extends Error {
  readonly op: string | undefined;
  readonly loc: Loc | undefined;
  /** The message without the op prefix and location suffix. */
  readonly detail: string;

  constructor(detail: string, ctx: ErrorContext = {}) {
    super(SmeltError.compose(detail, ctx));
    this.name = new.target.name;
    this.op = ctx.op;
    this.loc = ctx.loc;
    this.detail = detail;
  }

  static compose(detail: string, ctx: ErrorContext): string {
    const head = ctx.op ? `${ctx.op}: ${detail}` : detail;
    if (!ctx.loc) return head;
    const expr = ctx.loc.expr ? ` (${ctx.loc.expr})` : "";
    return `${head}\n  at ${locStr(ctx.loc)}${expr}`;
  }

  /** The same error with a source location (and op) filled in where missing. */
  withContext(ctx: ErrorContext): this {
    if (this.loc && this.op) return this;
    const Ctor = this.constructor as new (detail: string, ctx: ErrorContext) => this;
    const e = new Ctor(this.detail, { op: this.op ?? ctx.op, loc: this.loc ?? ctx.loc });
    if (this.stack) e.stack = e.stack?.split("\n")[0] + "\n" + this.stack.split("\n").slice(1).join("\n");
    return e;
  }
}

export class ShapeError extends SmeltError {}
export class DTypeError extends SmeltError {}
export class TraceError extends SmeltError {}
export class CompileError extends SmeltError {}
export class DeviceError extends SmeltError {}

/** Malformed IR text: `line:col: expected ...`. */
export class ParseError extends SmeltError {
  readonly line: number;
  readonly col: number;
  constructor(detail: string, pos: { line: number; col: number }) {
    super(`${pos.line}:${pos.col}: ${detail}`);
    this.line = pos.line;
    this.col = pos.col;
  }
  override withContext(): this {
    return this;
  }
}

/** IR that breaks the rules (use before definition, a type that does not match the op's rule). */
export class VerifyError extends CompileError {}
