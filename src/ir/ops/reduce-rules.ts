// Derivative rules of the reductions (docs/ir.md, "Autodiff"). The reduced axes are removed from
// the result, so a VJP first brings the cotangent back to the operand's shape (expandReduced).
import type { Emitter } from "../emit.js";
import type { Value } from "../graph.js";
import type { ReduceName } from "./reduce.js";
import { NONDIFF, type Rules } from "./rules.js";

type AxesReduceName = "reduce_sum" | "reduce_max" | "reduce_min" | "reduce_prod";

/**
 * d result / d x for each element of x, in x's shape, for a reduction that is not linear. Both
 * modes use it: the VJP multiplies it by the expanded cotangent, the JVP sums it times the
 * tangent.
 */
type Partials = (e: Emitter, x: Value, y: Value, axes: readonly number[]) => Value;

/**
 * max and min: the positions equal to the result share the gradient equally (as JAX does), so
 * ties split it. A group holding a NaN has a NaN result that equals no position: it passes none.
 */
const chosenShare: Partials = (e, x, y, axes) => {
  const shape = x.type.shape;
  const mask = e.convert(e.eq(x, e.expandReduced(y, shape, axes)), x.type.dtype);
  const count = e.max(e.reduceSum(mask, axes), e.onesLike(y));
  return e.div(mask, e.expandReduced(count, shape, axes));
};

/**
 * prod: the product of the other elements of the group, without dividing by zero. With no zero
 * in the group it is prod / x; with one zero, the zero's position gets the product of the
 * nonzero elements and the others get 0; with more, every position gets 0.
 */
const othersProduct: Partials = (e, x, _y, axes) => {
  const shape = x.type.shape;
  const zero = e.zerosLike(x);
  const isZero = e.eq(x, zero);
  const xSafe = e.select(isZero, e.onesLike(x), x);
  const nonzeroProd = e.expandReduced(e.op("reduce_prod", [xSafe], { axes: [...axes] }), shape, axes);
  const zeros = e.expandReduced(e.reduceSum(e.convert(isZero, x.type.dtype), axes), shape, axes);
  const noZero = e.eq(zeros, zero);
  const oneZero = e.eq(zeros, e.onesLike(x));
  return e.select(isZero, e.select(oneZero, nonzeroProd, zero), e.select(noZero, e.div(nonzeroProd, xSafe), zero));
};

/** A reduction over `axes`, as a product with its partials; empty axes make it the identity. */
function viaPartials<K extends AxesReduceName>(partials: Partials): Rules<K> {
  return {
    vjp: (e, [x], y, ct, { axes }) => {
      if (axes.length === 0) return [ct];
      return [e.mul(e.expandReduced(ct, x!.type.shape, axes), partials(e, x!, y, axes))];
    },
    jvp: (e, [x], y, [t], { axes }) => {
      if (!t || axes.length === 0) return t;
      return e.reduceSum(e.mul(t, partials(e, x!, y, axes)), axes);
    },
  };
}

export const reduceRules: { readonly [K in ReduceName]: Rules<K> } = {
  reduce_sum: {
    vjp: (e, [x], _y, ct, { axes }) => [e.expandReduced(ct, x!.type.shape, axes)],
    jvp: (e, _x, _y, [t], { axes }) => (t ? e.reduceSum(t, axes) : null),
  },
  reduce_max: viaPartials(chosenShare),
  reduce_min: viaPartials(chosenShare),
  reduce_prod: viaPartials(othersProduct),
  argmax: NONDIFF,
  argmin: NONDIFF,
};
