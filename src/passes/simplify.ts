// simplify: dead-code elimination, common-subexpression elimination, constant folding and exact
// algebraic identities, repeated until none of them changes the func. Every op of the graph IR
// is pure (random_bits is a function of its key), so an op nobody reads can go and two identical
// ops are one. No rewrite changes the func's signature, and every op that stays keeps its loc.
import { type Func, type Op, typeStr, type Value } from "../ir/index.js";
import { algebraic } from "./algebra.js";
import { foldConstants } from "./fold.js";
import type { Pass } from "./manager.js";
import { type Rule, rewrite } from "./rewrite.js";

export {
  algebraic,
  arithmeticIdentities,
  cancelInvolutions,
  movementIdentities,
  reassociateIntegers,
} from "./algebra.js";
export { FOLD_LIMIT, foldConstants } from "./fold.js";

/** Drop every op whose result no result of the func depends on. */
export function dce(func: Func): Func {
  const live = new Set<Value>(func.results);
  const kept: Op[] = [];
  for (let i = func.body.length - 1; i >= 0; i--) {
    const op = func.body[i]!;
    if (!live.has(op.result)) continue;
    kept.push(op);
    for (const v of op.operands) live.add(v);
  }
  if (kept.length === func.body.length) return func;
  return { ...func, body: kept.reverse() };
}

/** `-0` apart from `0`; every NaN alike (the interpreter does not keep NaN payloads). */
const numberKey = (x: number): string => (Object.is(x, -0) ? "-0" : String(x));

function attrValueKey(v: unknown): string {
  if (typeof v === "number") return numberKey(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(attrValueKey).join(",")}]`;
  if (v instanceof Float64Array) return `[${Array.from(v, numberKey).join(",")}]`;
  // Attributes are numbers, number lists, dtype names and constant data (attrs.ts); anything
  // else must never compare equal to anything, or two different ops could merge.
  throw new TypeError(`cse: attribute value of unknown kind ${String(v)}`);
}

/** Two ops with equal keys compute the same value. */
function opKey(op: Op): string {
  const attrs = op.attrs as Readonly<Record<string, unknown>>;
  const attrKey = Object.keys(attrs)
    .sort()
    .map((k) => `${k}=${attrValueKey(attrs[k])}`)
    .join(" ");
  return `${op.op}(${op.operands.map((v) => v.id).join(",")}){${attrKey}}:${typeStr(op.result.type)}`;
}

function cseRule(): Rule {
  const seen = new Map<string, Value>();
  return (op) => {
    const key = opKey(op);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, op.result);
    return first;
  };
}

/** Merge identical ops (same primitive, same operand values, equal attributes); the first stays. */
export const cse = (func: Func): Func => rewrite(func, cseRule());

/** One round, in the order that lets each rewrite feed the next. */
const ROUND: readonly ((func: Func) => Func)[] = [foldConstants, algebraic, cse, dce];

/**
 * Every round shrinks the func or moves it towards the canonical forms above; the bound only
 * guards against a pair of rewrites that would undo each other (a bug), so it is generous.
 */
const MAX_ROUNDS = 100;

export function simplify(func: Func): Func {
  let current = func;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = ROUND.reduce((f, step) => step(f), current);
    if (next === current) return current;
    current = next;
  }
  return current;
}

export const simplifyPass: Pass = { name: "simplify", run: simplify };
