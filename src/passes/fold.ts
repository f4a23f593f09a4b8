// Constant folding, computed by the reference interpreter so a folded value is exactly what the
// unfolded op would have produced (in dtype mode). A "splat" is a value whose elements all hold
// one number: a constant with equal elements, or a broadcast of one. Splats stay small in the IR
// (a scalar constant and a broadcast, a view), whatever their shape.
import {
  type Attrs,
  type Func,
  inferType,
  interpret,
  type Loc,
  makeOp,
  newValue,
  type Op,
  type OpName,
  registry,
  roundTo,
  shapeEq,
  size,
  type Tensor,
  type TensorType,
  tensor,
  type Value,
} from "../ir/index.js";
import { type RewriteContext, type Rule, rewrite } from "./rewrite.js";

/** The largest result (in elements) folding may write into the IR as a constant. */
export const FOLD_LIMIT = 1024;

/**
 * Sources make values from attributes (folding them would only copy them into a bigger form);
 * stop_gradient stays until a later lowering because autodiff needs to see it.
 */
const NEVER_FOLDED: ReadonlySet<OpName> = new Set<OpName>(["constant", "iota", "random_bits", "stop_gradient"]);

/** Movement ops that turn a splat into a splat of another shape. */
const SPLAT_MOVEMENT: ReadonlySet<OpName> = new Set<OpName>(["reshape", "transpose", "broadcast", "slice", "flip"]);

/** The number every element of `v` holds, when `v` is a splat with at least one element. */
export function splatValue(v: Value, ctx: RewriteContext): number | undefined {
  const def = ctx.producer(v);
  if (def?.op === "broadcast") return splatValue(def.operands[0]!, ctx);
  if (def?.op !== "constant") return undefined;
  const { data, dtype } = def.attrs;
  if (data.length === 0) return undefined;
  // The values the interpreter gives the constant: an integer constant may be written -0, but
  // it holds 0. Object.is: a NaN equals a NaN, and a float -0 is not +0.
  const first = roundTo(dtype, data[0]!);
  return data.every((x) => Object.is(roundTo(dtype, x), first)) ? first : undefined;
}

/** Emit `c` as a value of `type`: a scalar constant, broadcast when `type` is not a scalar. */
export function emitSplat(ctx: RewriteContext, c: number, type: TensorType, loc?: Loc): Value {
  const scalar = ctx.emit("constant", [], { dtype: type.dtype, shape: [], data: Float64Array.of(c) }, loc);
  if (type.shape.length === 0) return scalar;
  return ctx.emit("broadcast", [scalar], { shape: [...type.shape] }, loc);
}

/** Run one primitive on these inputs with the interpreter (dtype mode). */
export function evaluate<K extends OpName>(op: K, attrs: Attrs[K], inputs: readonly Tensor[]): Tensor {
  const params = inputs.map((t, i) => newValue(t.type, `a${i}`));
  const type = inferType(
    op,
    params.map((p) => p.type),
    attrs,
  );
  const result = newValue(type);
  const func: Func = { name: "fold", params, body: [makeOp(op, params, attrs, result) as Op], results: [result] };
  return interpret(func, inputs, { mode: "dtype" })[0]!;
}

const scalarTensor = (v: Value, c: number): Tensor => tensor(v.type.dtype, [], [c]);

/** The elements of `v` when it is a constant, or a small broadcast of one. */
function constantTensor(v: Value, ctx: RewriteContext): Tensor | undefined {
  const def = ctx.producer(v);
  // tensor() rounds to the dtype as the interpreter's constant does (an integer -0 is 0).
  if (def?.op === "constant") return tensor(v.type.dtype, v.type.shape, def.attrs.data);
  if (def?.op !== "broadcast" || size(v.type.shape) > FOLD_LIMIT) return undefined;
  const inner = constantTensor(def.operands[0]!, ctx);
  return inner && evaluate("broadcast", def.attrs, [inner]);
}

/** Whether `constantTensor` can give `v`'s elements (without computing them). */
function isConstant(v: Value, ctx: RewriteContext): boolean {
  const def = ctx.producer(v);
  if (def?.op === "constant") return true;
  return def?.op === "broadcast" && size(v.type.shape) <= FOLD_LIMIT && isConstant(def.operands[0]!, ctx);
}

/** The scalar constant `v` is a broadcast of (or is), if any. */
function scalarRoot(v: Value, ctx: RewriteContext): Value | undefined {
  const def = ctx.producer(v);
  if (def?.op === "broadcast") return scalarRoot(def.operands[0]!, ctx);
  return def?.op === "constant" && def.attrs.shape.length === 0 ? v : undefined;
}

/** A broadcast of a scalar constant: the form every splat is folded into. */
function isCanonicalSplat(op: Op, ctx: RewriteContext): boolean {
  if (op.op !== "broadcast") return false;
  const def = ctx.producer(op.operands[0]!);
  return def?.op === "constant" && shapeEq(def.attrs.shape, []);
}

/** `xs` when none of its entries is undefined. */
function allDefined<T>(xs: readonly (T | undefined)[]): readonly T[] | undefined {
  const defined = xs.filter((x): x is T => x !== undefined);
  return defined.length === xs.length ? defined : undefined;
}

/**
 * An op whose operands are all constants becomes a constant. Elementwise ops and movement ops on
 * splats give splats, computed on one element (so a large result stays small); any other result
 * is written out only when it has at most FOLD_LIMIT elements.
 */
export const foldRule: Rule = (op, ctx) => {
  if (NEVER_FOLDED.has(op.op)) return undefined;
  const type = op.result.type;
  const splats = allDefined(op.operands.map((v) => splatValue(v, ctx)));
  if (splats) {
    if (registry[op.op].fusion === "elementwise") {
      const inputs = splats.map((c, i) => scalarTensor(op.operands[i]!, c));
      return emitSplat(ctx, evaluate(op.op, op.attrs, inputs).data[0]!, type, op.loc);
    }
    if (SPLAT_MOVEMENT.has(op.op)) {
      if (isCanonicalSplat(op, ctx)) return undefined;
      const root = scalarRoot(op.operands[0]!, ctx);
      if (root === undefined) return emitSplat(ctx, splats[0]!, type, op.loc);
      return type.shape.length === 0 ? root : ctx.emit("broadcast", [root], { shape: [...type.shape] }, op.loc);
    }
  }
  if (size(type.shape) > FOLD_LIMIT) return undefined;
  // A broadcast of a splat is the canonical splat or was rewritten into it above; writing its
  // elements out would only make the IR bigger.
  if (op.op === "broadcast" && splats) return undefined;
  // Cheap test first: expanding a broadcast operand is wasted when another operand is not constant.
  if (!op.operands.every((v) => isConstant(v, ctx))) return undefined;
  const inputs = allDefined(op.operands.map((v) => constantTensor(v, ctx)));
  if (!inputs) return undefined;
  const { data } = evaluate(op.op, op.attrs, inputs);
  return ctx.emit("constant", [], { dtype: type.dtype, shape: [...type.shape], data }, op.loc);
};

export const foldConstants = (func: Func): Func => rewrite(func, foldRule);
