// Reverse and forward mode as graph-to-graph transforms. Each op's derivative is the `vjp`/`jvp`
// rule of its registry entry; this file only walks the graph, decides which values carry
// derivatives, and adds up cotangents. The output is ordinary graph IR, so it can be
// differentiated again.
import {
  DTypeError,
  type Func,
  isFloat,
  newValue,
  type Op,
  type OpName,
  registry,
  SmeltError,
  typeEq,
  typeStr,
  type Value,
} from "../ir/index.js";
import { Emitter } from "../ir/emit.js";
import type { JvpRule, NonDiff, VjpRule } from "../ir/opdef.js";

// The registry is indexed by the op's own name, so the rule's attrs type matches the op's;
// TypeScript cannot see that across the union of entries, hence the casts.
const vjpRule = (op: Op): VjpRule<OpName> | NonDiff => registry[op.op].vjp as VjpRule<OpName> | NonDiff;
const jvpRule = (op: Op): JvpRule<OpName> | NonDiff => registry[op.op].jvp as JvpRule<OpName> | NonDiff;
type AnyAttrs = Parameters<VjpRule<OpName>>[4];

const carries = (v: Value): boolean => isFloat(v.type.dtype);

/**
 * Reverse mode. The result takes `(...func.params, one cotangent per result)` and returns
 * `(...func.results, one gradient per entry of wrt)`: the gradient of the sum over results of
 * `<result, cotangent>` with respect to `func.params[wrt[i]]`, zeros where the param does not
 * reach a result through differentiable ops. Cotangents of results that are not float are
 * ignored. A param that is not float has no gradient: asking for one is a DTypeError.
 */
export function vjp(func: Func, wrt: readonly number[]): Func {
  const targets = wrt.map((i) => wrtParam(func, i));
  const active = activeValues(func, new Set(targets));
  const e = new Emitter();
  const cotangents = func.results.map((r, i) => newValue(r.type, `ct${i}`));
  const ct = new Map<Value, Value>();
  // Several uses of a value each contribute a cotangent: they add up.
  const accumulate = (v: Value, c: Value) => {
    const prev = ct.get(v);
    ct.set(v, prev ? e.add(prev, c) : c);
  };
  func.results.forEach((r, i) => {
    if (active.has(r)) accumulate(r, cotangents[i]!);
  });
  for (let k = func.body.length - 1; k >= 0; k--) {
    const op = func.body[k]!;
    const c = ct.get(op.result);
    const rule = vjpRule(op);
    if (c === undefined || rule === "nondiff") continue;
    e.loc = op.loc;
    const cs = rule(e, op.operands, op.result, c, op.attrs as AnyAttrs);
    op.operands.forEach((x, i) => {
      const cx = cs[i] ?? null;
      if (cx === null || !active.has(x)) return;
      checkRuleType(op, "vjp", x, cx);
      accumulate(x, cx);
    });
  }
  e.loc = undefined;
  const grads = targets.map((p) => ct.get(p) ?? e.zerosLike(p));
  return withoutDeadOps(
    {
      name: `${func.name}_vjp`,
      params: [...func.params, ...cotangents],
      body: [...func.body, ...e.ops],
      results: [...func.results, ...grads],
    },
    func.body.length,
  );
}

/**
 * Forward mode. The result takes `(...func.params, one tangent per param)` (each of its param's
 * type; tangents of params that are not float are ignored) and returns `(...func.results, one
 * tangent per result)`: the directional derivative of each result along the tangents, zeros
 * where a result does not depend on a float param through differentiable ops.
 */
export function jvp(func: Func): Func {
  const e = new Emitter();
  const tangentParams = func.params.map((p, i) => newValue(p.type, `d${p.name ?? `arg${i}`}`));
  const tangent = new Map<Value, Value>();
  func.params.forEach((p, i) => {
    if (carries(p)) tangent.set(p, tangentParams[i]!);
  });
  for (const op of func.body) {
    const rule = jvpRule(op);
    if (rule === "nondiff" || !carries(op.result)) continue;
    const ts = op.operands.map((x) => (carries(x) ? (tangent.get(x) ?? null) : null));
    if (ts.every((t) => t === null)) continue;
    e.loc = op.loc;
    const t = rule(e, op.operands, op.result, ts, op.attrs as AnyAttrs);
    if (t === null) continue;
    checkRuleType(op, "jvp", op.result, t);
    tangent.set(op.result, t);
  }
  e.loc = undefined;
  const resultTangents = func.results.map((r) => tangent.get(r) ?? e.zerosLike(r));
  return withoutDeadOps(
    {
      name: `${func.name}_jvp`,
      params: [...func.params, ...tangentParams],
      body: [...func.body, ...e.ops],
      results: [...func.results, ...resultTangents],
    },
    func.body.length,
  );
}

function wrtParam(func: Func, i: number): Value {
  const p = func.params[i];
  if (!Number.isInteger(i) || p === undefined) {
    throw new SmeltError(`@${func.name} has ${func.params.length} param(s): no param ${i} to differentiate`, {
      op: "vjp",
    });
  }
  if (!carries(p)) {
    throw new DTypeError(
      `param ${i} (%${p.name ?? `arg${i}`}: ${typeStr(p.type)}) of @${func.name} has dtype ${p.type.dtype}: ` +
        `only float params have gradients`,
      { op: "vjp" },
    );
  }
  return p;
}

/**
 * The values that depend on a param of `from` through differentiable ops with float results:
 * the only ones worth a cotangent.
 */
function activeValues(func: Func, from: ReadonlySet<Value>): Set<Value> {
  const active = new Set(from);
  for (const op of func.body) {
    if (vjpRule(op) === "nondiff" || !carries(op.result)) continue;
    if (op.operands.some((x) => active.has(x) && carries(x))) active.add(op.result);
  }
  return active;
}

function checkRuleType(op: Op, mode: "vjp" | "jvp", primal: Value, d: Value): void {
  if (typeEq(primal.type, d.type)) return;
  // A rule bug, not a user error: the derivative of a value must have the value's type.
  throw new Error(`${mode} rule of ${op.op} gave ${typeStr(d.type)} for a value of type ${typeStr(primal.type)}`);
}

/**
 * Drop the emitted ops (those after the first `kept`) that no result reads: rules compute
 * cotangents for every operand, including ones that lead to no requested gradient.
 */
function withoutDeadOps(func: Func, kept: number): Func {
  const live = new Set<Value>(func.results);
  const keep = new Array<boolean>(func.body.length);
  for (let k = func.body.length - 1; k >= 0; k--) {
    const op = func.body[k]!;
    keep[k] = k < kept || live.has(op.result);
    if (keep[k]) op.operands.forEach((v) => live.add(v));
  }
  return { ...func, body: func.body.filter((_, k) => keep[k]) };
}
