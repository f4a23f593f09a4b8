// Algebraic identities. Each fires only where it gives exactly the value the interpreter would,
// for every input of the dtype: NaN, ±Inf and -0 included for floats, wrap-around for integers.
//
// Deliberately absent, because they are not exact in floats:
// - float x + 0 → x: (-0) + (+0) is +0, not -0. (x + (-0) is exact and is done.)
// - float x - (-0) → x: (-0) - (-0) is +0. (x - (+0) is exact and is done.)
// - float x - x → 0: Inf - Inf and NaN - NaN are NaN; the integer form is done.
// - float x * 0 → 0 (NaN, Inf, and -0 for negative x), and its integer form is not asked for.
// - log(exp(x)) → x: exp overflows to Inf for large x (float32 above ~88.7) and underflows to 0
//   for very negative x, and even in range the two roundings of exp and log move x by an ulp.
// - exp(log(x)) → x: NaN for x < 0, and two roundings again.
// - reassociating float add/mul chains: float addition and multiplication are not associative.
// - reduce ops with empty axes: a float reduce_sum starts from +0, so it turns -0 into +0.
// stop_gradient is never removed here: autodiff needs it, and only a later lowering drops it.
import { type Func, isFloat, isInteger, type Op, type Value } from "../ir/index.js";
import { emitSplat, evaluate, splatValue } from "./fold.js";
import { type RewriteContext, type Rule, rewrite } from "./rewrite.js";

/** The operand of a binary op that is not a splat, and the splat on the other side. */
function splitSplat(op: Op, ctx: RewriteContext): { x: Value; c: number } | undefined {
  const [a, b] = op.operands as [Value, Value];
  const ca = splatValue(a, ctx);
  const cb = splatValue(b, ctx);
  if (cb !== undefined && ca === undefined) return { x: a, c: cb };
  if (ca !== undefined && cb === undefined) return { x: b, c: ca };
  return undefined;
}

/**
 * The constant `c` with `x + c = x` for every x of the dtype. Integers: 0. Floats: -0, since
 * (-0) + (-0) = -0 and y + (-0) = y for every other y, NaN and ±Inf included; +0 does not qualify
 * because (-0) + (+0) = +0.
 */
function isAdditiveIdentity(c: number, dtype: Value["type"]["dtype"]): boolean {
  if (isInteger(dtype)) return c === 0;
  return isFloat(dtype) && Object.is(c, -0);
}

/**
 * x * 1, 1 * x, x / 1: the exact product or quotient is x itself, which is representable, so
 * rounding keeps it (NaN, ±Inf, -0 included; integer division truncates x / 1 to x). Integer
 * and float x + 0 and x - 0 as explained at each. x - x is 0 for integers only. A convert to the
 * operand's own dtype rounds a value that is already representable. A select whose condition is
 * the same everywhere is one of its sides; a select between one value and itself is that value.
 */
export const arithmeticRule: Rule = (op, ctx) => {
  const dtype = op.result.type.dtype;
  switch (op.op) {
    case "mul": {
      const s = splitSplat(op, ctx);
      return s?.c === 1 ? s.x : undefined;
    }
    case "div":
      return splatValue(op.operands[1]!, ctx) === 1 ? op.operands[0] : undefined;
    case "add": {
      const s = splitSplat(op, ctx);
      return s && isAdditiveIdentity(s.c, dtype) ? s.x : undefined;
    }
    case "sub": {
      const [a, b] = op.operands as [Value, Value];
      if (a === b && isInteger(dtype)) return emitSplat(ctx, 0, op.result.type, op.loc);
      const c = splatValue(b, ctx);
      if (c === undefined) return undefined;
      // Integers: x - 0 = x. Floats: x - (+0) = x + (-0), exact as above; x - (-0) is not.
      return (isInteger(dtype) && c === 0) || (isFloat(dtype) && Object.is(c, 0)) ? a : undefined;
    }
    case "convert":
      return op.attrs.dtype === op.operands[0]!.type.dtype ? op.operands[0] : undefined;
    case "select": {
      const [cond, a, b] = op.operands as [Value, Value, Value];
      if (a === b) return a;
      const c = splatValue(cond, ctx);
      return c === undefined ? undefined : c !== 0 ? a : b;
    }
    default:
      return undefined;
  }
};

/**
 * neg(neg(x)) → x: a sign flip twice, exact for floats (NaN stays NaN, -0 comes back as -0) and
 * for wrapping integers (negation mod 2^32 is an involution; int32 min maps to itself).
 * not(not(x)) → x: logical not on bool and bitwise not on integers are involutions.
 */
export const involutionRule: Rule = (op, ctx) => {
  if (op.op !== "neg" && op.op !== "not") return undefined;
  const inner = ctx.producer(op.operands[0]!);
  return inner?.op === op.op ? inner.operands[0] : undefined;
};

const isIdentityPerm = (perm: readonly number[]): boolean => perm.every((p, i) => p === i);
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Movement ops only move elements, so their identities are exact for every dtype:
 * - transpose by the identity → x; transpose(transpose(x, p), q) → transpose(x, i ↦ p[q[i]]);
 * - reshape to x's own shape → x; reshape(reshape(x)) → one reshape (row-major order is kept);
 * - broadcast to x's own shape → x; broadcast(broadcast(x)) → one broadcast: where x has a dim
 *   other than 1 the middle shape has that dim too, so x broadcasts to the outer shape directly
 *   and each output element reads the same x element;
 * - slice of the full range with step 1 → x; flip of no axes → x; pad by zero everywhere → x;
 *   concatenate of one operand → x.
 */
export const movementRule: Rule = (op, ctx) => {
  const x = op.operands[0]!;
  const inner = x === undefined ? undefined : ctx.producer(x);
  switch (op.op) {
    case "transpose": {
      if (isIdentityPerm(op.attrs.perm)) return x;
      if (inner?.op !== "transpose") return undefined;
      const p = inner.attrs.perm;
      const perm = op.attrs.perm.map((q) => p[q]!);
      return isIdentityPerm(perm) ? inner.operands[0] : ctx.emit("transpose", [inner.operands[0]!], { perm }, op.loc);
    }
    case "reshape":
    case "broadcast": {
      if (sameShape(op.attrs.shape, x.type.shape)) return x;
      if (inner?.op !== op.op) return undefined;
      const source = inner.operands[0]!;
      if (sameShape(op.attrs.shape, source.type.shape)) return source;
      return ctx.emit(op.op, [source], { shape: [...op.attrs.shape] }, op.loc);
    }
    case "slice": {
      const { start, stop, step } = op.attrs;
      const full = x.type.shape.every((d, i) => start[i] === 0 && stop[i] === d && step[i] === 1);
      return full ? x : undefined;
    }
    case "flip":
      return op.attrs.axes.length === 0 ? x : undefined;
    case "pad":
      return [...op.attrs.low, ...op.attrs.high].every((n) => n === 0) ? x : undefined;
    case "concatenate":
      return op.operands.length === 1 ? x : undefined;
    default:
      return undefined;
  }
};

/**
 * (x + c1) + c2 → x + (c1 + c2) and (x * c1) * c2 → x * (c1 * c2) for integers only: wrapping
 * add and multiply are a commutative ring mod 2^32, so the order does not matter. Float add and
 * mul are not associative (rounding, overflow), so float chains are left alone. c1 and c2 are
 * splats; the merged constant is computed by the interpreter with the same wrap.
 */
export const reassociateRule: Rule = (op, ctx) => {
  if ((op.op !== "add" && op.op !== "mul") || !isInteger(op.result.type.dtype)) return undefined;
  const outer = splitSplat(op, ctx);
  if (!outer) return undefined;
  const innerOp = ctx.producer(outer.x);
  if (innerOp?.op !== op.op) return undefined;
  const inner = splitSplat(innerOp, ctx);
  if (!inner) return undefined;
  const scalar = (c: number) => ({ type: { dtype: op.result.type.dtype, shape: [] }, data: Float64Array.of(c) });
  const c = evaluate(op.op, {}, [scalar(inner.c), scalar(outer.c)]).data[0]!;
  return ctx.emit(op.op, [inner.x, emitSplat(ctx, c, op.result.type, op.loc)], {}, op.loc);
};

/** The rules in the order they are tried on each op; the first that fires wins. */
const ALGEBRA_RULES: readonly Rule[] = [arithmeticRule, involutionRule, movementRule, reassociateRule];

export const algebraRule: Rule = (op, ctx) => {
  for (const rule of ALGEBRA_RULES) {
    const v = rule(op, ctx);
    if (v !== undefined) return v;
  }
  return undefined;
};

export const arithmeticIdentities = (func: Func): Func => rewrite(func, arithmeticRule);
export const cancelInvolutions = (func: Func): Func => rewrite(func, involutionRule);
export const movementIdentities = (func: Func): Func => rewrite(func, movementRule);
export const reassociateIntegers = (func: Func): Func => rewrite(func, reassociateRule);
export const algebraic = (func: Func): Func => rewrite(func, algebraRule);
