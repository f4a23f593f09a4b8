// Derivative rules of the elementwise primitives (docs/ir.md, "Autodiff").
import { isFloat } from "../dtype.js";
import type { Emitter } from "../emit.js";
import type { Value } from "../graph.js";
import type { ElementwiseName } from "./elementwise.js";
import { NONDIFF, type Rules } from "./rules.js";

type Derivative = (e: Emitter, x: Value, y: Value) => Value;

/** A unary op with dy/dx = d(x, y): both modes multiply by it. */
function times<K extends ElementwiseName>(d: Derivative): Rules<K> {
  return {
    vjp: (e, [x], y, ct) => [e.mul(ct, d(e, x!, y))],
    jvp: (e, [x], y, [t]) => (t ? e.mul(t, d(e, x!, y)) : null),
  };
}

/** A unary op with dy/dx = 1 / q(x, y): dividing by q avoids computing the reciprocal. */
function over<K extends ElementwiseName>(q: Derivative): Rules<K> {
  return {
    vjp: (e, [x], y, ct) => [e.div(ct, q(e, x!, y))],
    jvp: (e, [x], y, [t]) => (t ? e.div(t, q(e, x!, y)) : null),
  };
}

const one = (e: Emitter, like: Value): Value => e.onesLike(like);

/** The product of two optional factors, or null when the first is absent. */
const mulOpt = (e: Emitter, t: Value | null, f: () => Value): Value | null => (t ? e.mul(t, f()) : null);

/**
 * Partial derivatives of pow(x, y) = z. Where x = 0 the formulas hit 0 * inf and log(0), so
 * those points read a safe stand-in operand (1) and, for d/dy, a chosen 0: no NaN appears in
 * the first derivative nor in the derivatives of these expressions (the stand-in is a select
 * whose unchosen side gets a zero cotangent). A negative base gives NaN for d/dy (log x).
 */
const powDx = (e: Emitter, x: Value, y: Value): Value => {
  const zero = e.zerosLike(x);
  const both = e.and(e.eq(x, zero), e.eq(y, zero));
  // At x = y = 0: y * x^(y-1) = 0 * inf; with x read as 1 it is 0 * 1 = 0.
  const xSafe = e.select(both, one(e, x), x);
  return e.mul(y, e.plain("pow", xSafe, e.sub(y, one(e, y))));
};

const powDy = (e: Emitter, x: Value, z: Value): Value => {
  const zero = e.zerosLike(x);
  const xIsZero = e.eq(x, zero);
  const xSafe = e.select(xIsZero, one(e, x), x);
  return e.select(xIsZero, zero, e.mul(z, e.plain("log", xSafe)));
};

/**
 * The share of a cotangent (or tangent) `c` that goes to one operand of max or min: all of it
 * where that operand alone is chosen, half where the two tie, none where the other is chosen
 * or either is NaN.
 */
function share(e: Emitter, c: Value, wins: Value, tie: Value): Value {
  const zero = e.zerosLike(c);
  return e.select(tie, e.scale(c, 0.5), e.select(wins, c, zero));
}

function extremum<K extends "max" | "min">(op: K): Rules<K> {
  // a wins max where a > b; it wins min where a < b.
  const wins = (e: Emitter, a: Value, b: Value) => (op === "max" ? e.gt(a, b) : e.lt(a, b));
  return {
    vjp: (e, [a, b], _y, ct) => {
      const tie = e.eq(a!, b!);
      return [share(e, ct, wins(e, a!, b!), tie), share(e, ct, wins(e, b!, a!), tie)];
    },
    jvp: (e, [a, b], _y, [ta, tb]) => {
      const tie = e.eq(a!, b!);
      return e.sum([ta ? share(e, ta, wins(e, a!, b!), tie) : null, tb ? share(e, tb, wins(e, b!, a!), tie) : null]);
    },
  };
}

export const elementwiseRules: { readonly [K in ElementwiseName]: Rules<K> } = {
  neg: {
    vjp: (e, _x, _y, ct) => [e.neg(ct)],
    jvp: (e, _x, _y, [t]) => (t ? e.neg(t) : null),
  },
  exp: times((_e, _x, y) => y),
  log: over((_e, x) => x),
  log1p: over((e, x) => e.add(x, one(e, x))),
  expm1: times((e, _x, y) => e.add(y, one(e, y))),
  sin: times((e, x) => e.plain("cos", x)),
  cos: times((e, x) => e.neg(e.plain("sin", x))),
  tanh: times((e, _x, y) => e.sub(one(e, y), e.mul(y, y))),
  logistic: times((e, _x, y) => e.mul(y, e.sub(one(e, y), y))),
  sqrt: over((e, _x, y) => e.scale(y, 2)),
  // d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
  rsqrt: times((e, _x, y) => e.scale(e.mul(y, e.mul(y, y)), -0.5)),
  erf: times((e, x) => e.scale(e.plain("exp", e.neg(e.mul(x, x))), 2 / Math.sqrt(Math.PI))),
  // sign(0) = 0: the gradient at the kink is 0.
  abs: times((e, x) => e.plain("sign", x)),
  // Piecewise constant: the derivative is zero wherever it exists.
  sign: NONDIFF,
  floor: NONDIFF,
  ceil: NONDIFF,
  round: NONDIFF,
  not: NONDIFF,
  stop_gradient: NONDIFF,

  add: {
    vjp: (_e, _x, _y, ct) => [ct, ct],
    jvp: (e, _x, _y, ts) => e.sum(ts),
  },
  sub: {
    vjp: (e, _x, _y, ct) => [ct, e.neg(ct)],
    jvp: (e, _x, _y, [ta, tb]) => (tb ? (ta ? e.sub(ta, tb) : e.neg(tb)) : ta),
  },
  mul: {
    vjp: (e, [a, b], _y, ct) => [e.mul(ct, b!), e.mul(a!, ct)],
    jvp: (e, [a, b], _y, [ta, tb]) => e.sum([mulOpt(e, ta, () => b!), tb ? e.mul(a!, tb) : null]),
  },
  div: {
    // d(a/b) = da / b - db * (a/b) / b
    vjp: (e, [, b], y, ct) => {
      const ca = e.div(ct, b!);
      return [ca, e.neg(e.mul(ca, y))];
    },
    jvp: (e, [, b], y, [ta, tb]) => {
      const num = tb ? (ta ? e.sub(ta, e.mul(tb, y)) : e.neg(e.mul(tb, y))) : ta;
      return num ? e.div(num, b!) : null;
    },
  },
  pow: {
    vjp: (e, [x, y], z, ct) => [e.mul(ct, powDx(e, x!, y!)), e.mul(ct, powDy(e, x!, z))],
    jvp: (e, [x, y], z, [tx, ty]) =>
      e.sum([mulOpt(e, tx, () => powDx(e, x!, y!)), mulOpt(e, ty, () => powDy(e, x!, z))]),
  },
  max: extremum("max"),
  min: extremum("min"),
  eq: NONDIFF,
  ne: NONDIFF,
  lt: NONDIFF,
  le: NONDIFF,
  gt: NONDIFF,
  ge: NONDIFF,
  and: NONDIFF,
  or: NONDIFF,

  select: {
    vjp: (e, [cond], _y, ct) => {
      const zero = e.zerosLike(ct);
      return [null, e.select(cond!, ct, zero), e.select(cond!, zero, ct)];
    },
    jvp: (e, [cond, a], _y, [, ta, tb]) =>
      ta || tb ? e.select(cond!, ta ?? e.zerosLike(a!), tb ?? e.zerosLike(a!)) : null,
  },
  // Only float to float carries a gradient; the cotangent goes back in the operand's dtype.
  convert: {
    vjp: (e, [x], y, ct) => [isFloat(x!.type.dtype) && isFloat(y.type.dtype) ? e.convert(ct, x!.type.dtype) : null],
    jvp: (e, [x], _y, [t], { dtype }) => (t && isFloat(x!.type.dtype) && isFloat(dtype) ? e.convert(t, dtype) : null),
  },
};
