// The engine under every local rewrite: one sweep over the ops in order, each op seen with its
// operands already replaced, each rule free to look at the producers of its operands and to
// emit new ops in place of the one it rewrites.
import {
  type Attrs,
  type Func,
  inferType,
  type Loc,
  makeOp,
  newValue,
  type Op,
  type OpName,
  SmeltError,
  type TensorType,
  typeEq,
  typeStr,
  type Value,
} from "../ir/index.js";

export interface RewriteContext {
  /** The op that defines `v` in the rewritten body; undefined for a parameter. */
  producer(v: Value): Op | undefined;
  /**
   * Append an op (typed by its registry rule) before the one being rewritten. The emitted ops
   * are kept only if the rule returns a replacement.
   */
  emit<K extends OpName>(op: K, operands: readonly Value[], attrs: Attrs[K], loc?: Loc): Value;
}

/** A value equal to `op`'s result on every input (of the same type), or undefined to keep `op`. */
export type Rule = (op: Op, ctx: RewriteContext) => Value | undefined;

/** The same op reading other operands; the op itself when nothing changed. */
export function withOperands(op: Op, operands: readonly Value[]): Op {
  if (operands.every((v, i) => v === op.operands[i])) return op;
  return { ...op, operands };
}

/**
 * Apply `rule` to every op in order. Returns `func` itself when no rule fired, so a caller can
 * detect a fixed point by identity.
 */
export function rewrite(func: Func, rule: Rule): Func {
  const replaced = new Map<Value, Value>();
  const producers = new Map<Value, Op>();
  const body: Op[] = [];
  const current = (v: Value): Value => replaced.get(v) ?? v;
  let changed = false;
  let pending: Op[] = [];
  const ctx: RewriteContext = {
    producer: (v) => producers.get(v),
    emit(op, operands, attrs, loc) {
      const type = inferType(
        op,
        operands.map((v) => v.type),
        attrs,
        loc,
      );
      const result = newValue(type);
      pending.push(makeOp(op, operands, attrs, result, loc) as Op);
      return result;
    },
  };
  const append = (op: Op) => {
    body.push(op);
    producers.set(op.result, op);
  };
  for (const original of func.body) {
    const op = withOperands(original, original.operands.map(current));
    if (op !== original) changed = true;
    pending = [];
    const replacement = rule(op, ctx);
    // A rule that answers with the op's own result keeps the op (replacing it by itself would
    // leave its result undefined).
    if (replacement === undefined || replacement === op.result) {
      append(op);
      continue;
    }
    checkSameType(op, replacement.type);
    pending.forEach(append);
    replaced.set(op.result, replacement);
    changed = true;
  }
  if (!changed) return func;
  return { name: func.name, params: func.params, body, results: func.results.map(current) };
}

function checkSameType(op: Op, type: TensorType): void {
  // A rule that changed a type would be a bug in the rule, not in the user's program; the
  // message still names both types so it can be found.
  if (!typeEq(op.result.type, type)) {
    throw new SmeltError(`a rewrite replaced ${typeStr(op.result.type)} with ${typeStr(type)}`, {
      op: op.op,
      loc: op.loc,
    });
  }
}
