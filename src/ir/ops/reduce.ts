// Reductions: sum, product, max and min over a set of axes; argmax and argmin along one axis.
import type { Attrs } from "../attrs.js";
import { type DType, isBool, isFloat, isInteger, roundTo } from "../dtype.js";
import { DTypeError, ShapeError } from "../errors.js";
import type { InterpContext, OpDef } from "../opdef.js";
import { type Tensor, type TensorType, typeStr } from "../types.js";
import { checkAxes, checkAxis } from "./attr-checks.js";
import type { Family } from "./family.js";
import { reductionGroups } from "./index-space.js";
import { reduceRules } from "./reduce-rules.js";

export type ReduceName = "reduce_sum" | "reduce_max" | "reduce_min" | "reduce_prod" | "argmax" | "argmin";
type AxesReduceName = "reduce_sum" | "reduce_max" | "reduce_min" | "reduce_prod";

type Step = (acc: number, x: number) => number;

/**
 * One step of a float or integer sum as the kernels do it: floats accumulate in float32 (exact in
 * float64 mode), integers wrap at every step.
 */
export function sumStep(dtype: DType, mode: InterpContext["mode"]): Step {
  if (isFloat(dtype)) return (acc, x) => roundTo("float32", acc + x, mode);
  return (acc, x) => roundTo(dtype, acc + x);
}

function prodStep(dtype: DType, mode: InterpContext["mode"]): Step {
  if (isFloat(dtype)) return (acc, x) => roundTo("float32", acc * x, mode);
  // Math.imul gives the low 32 bits of the product, which a double would lose.
  return (acc, x) => roundTo(dtype, Math.imul(acc, x));
}

const maxStep: Step = (acc, x) => (Number.isNaN(acc) || Number.isNaN(x) ? NaN : acc >= x ? acc : x);
const minStep: Step = (acc, x) => (Number.isNaN(acc) || Number.isNaN(x) ? NaN : acc <= x ? acc : x);

const isNumeric = (d: DType): boolean => isFloat(d) || isInteger(d);

function removeAxes(x: TensorType, axes: readonly number[]): TensorType {
  return { dtype: x.dtype, shape: x.shape.filter((_, d) => !axes.includes(d)) };
}

function checkNonEmptyAxes(op: ReduceName, x: TensorType, axes: readonly number[]): void {
  for (const a of axes) {
    if (x.shape[a] === 0) {
      throw new ShapeError(`cannot reduce ${typeStr(x)} over axis ${a} of length 0: no identity`, { op });
    }
  }
}

interface AxesReduceRule {
  /** Whether bool operands are allowed (max/min are logical or/and on bool). */
  readonly bool: boolean;
  /** The first value folds from this, or undefined to start from the first element. */
  readonly init: number | undefined;
  step(dtype: DType, mode: InterpContext["mode"]): Step;
}

function axesReduction<K extends AxesReduceName>(name: K, rule: AxesReduceRule): OpDef<K> {
  return {
    name,
    arity: 1,
    // AttrSchema<K> does not resolve for a generic K; every K here has the schema { axes }.
    attrs: { axes: "ints" } as OpDef<K>["attrs"],
    fusion: "reduce",
    infer([x], { axes }: Attrs[AxesReduceName]) {
      checkAxes(name, "axes", axes, x!);
      const ok = isNumeric(x!.dtype) || (rule.bool && isBool(x!.dtype));
      if (!ok) {
        throw new DTypeError(`operand ${typeStr(x!)} must be ${rule.bool ? "numeric or bool" : "numeric"}`, {
          op: name,
        });
      }
      if (rule.init === undefined) checkNonEmptyAxes(name, x!, axes);
      return removeAxes(x!, axes);
    },
    interp([x], { axes }: Attrs[AxesReduceName], _out, ctx) {
      const step = rule.step(x!.type.dtype, ctx.mode);
      const groups = reductionGroups(x!.type.shape, axes);
      return Float64Array.from(groups, (g) => {
        let acc = rule.init ?? x!.data[g[0]!]!;
        for (let i = rule.init === undefined ? 1 : 0; i < g.length; i++) acc = step(acc, x!.data[g[i]!]!);
        return acc;
      });
    },
    ...reduceRules[name],
  };
}

/** Whether `v` strictly beats the best so far (so the earlier index wins ties). */
type Better = (v: number, best: number) => boolean;

function argReduction<K extends "argmax" | "argmin">(name: K, better: Better): OpDef<K> {
  return {
    name,
    arity: 1,
    attrs: { axis: "int" } as OpDef<K>["attrs"], // as above: every K here has { axis }
    fusion: "reduce",
    infer([x], { axis }: Attrs["argmax"]) {
      checkAxis(name, axis, x!);
      checkNonEmptyAxes(name, x!, [axis]);
      return { dtype: "int32", shape: removeAxes(x!, [axis]).shape };
    },
    interp([x], { axis }: Attrs["argmax"]) {
      return Float64Array.from(reductionGroups(x!.type.shape, [axis]), (g) => argBest(x!, g, better));
    },
    ...reduceRules[name],
  };
}

function argBest(x: Tensor, group: readonly number[], better: Better): number {
  let bestI = 0;
  for (let i = 1; i < group.length; i++) {
    const best = x.data[group[bestI]!]!;
    if (Number.isNaN(best)) break; // the first NaN is both the maximum and the minimum
    const v = x.data[group[i]!]!;
    if (Number.isNaN(v) || better(v, best)) bestI = i;
  }
  return bestI;
}

export const reduceOps: Family<ReduceName> = {
  reduce_sum: axesReduction("reduce_sum", { bool: false, init: 0, step: sumStep }),
  reduce_prod: axesReduction("reduce_prod", { bool: false, init: 1, step: prodStep }),
  reduce_max: axesReduction("reduce_max", { bool: true, init: undefined, step: () => maxStep }),
  reduce_min: axesReduction("reduce_min", { bool: true, init: undefined, step: () => minStep }),
  argmax: argReduction("argmax", (v, best) => v > best),
  argmin: argReduction("argmin", (v, best) => v < best),
};
