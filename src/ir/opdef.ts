// What the registry holds for each primitive.
import type { Attrs, AttrSchema, OpName } from "./attrs.js";
import type { Emitter } from "./emit.js";
import type { Value } from "./graph.js";
import type { Tensor, TensorType } from "./types.js";

export type FusionClass =
  | "elementwise"
  | "movement"
  | "reduce"
  | "contraction"
  | "gather"
  | "scatter"
  | "random"
  | "source";

export interface InterpContext {
  /**
   * "dtype": every op rounds its result to its dtype; float reductions and matmul accumulate in
   * float32 (as the kernels do) and round once at the end. "float64": floats stay exact doubles.
   */
  readonly mode: "dtype" | "float64";
}

/**
 * Reverse-mode rule: given the cotangent of the result, the cotangent of each operand (null for
 * an operand that gets none), emitted as graph IR through `e`. Autodiff calls it only for a
 * float result, and drops what it returns for operands that are not float.
 */
export type VjpRule<K extends OpName> = (
  e: Emitter,
  operands: readonly Value[],
  result: Value,
  cotangent: Value,
  attrs: Attrs[K],
) => readonly (Value | null)[];

/**
 * Forward-mode rule: the tangent of the result from the operands' tangents (null for an operand
 * with none: not float, or not depending on the inputs), or null when it is zero. Autodiff calls
 * it only for a float result with at least one operand tangent.
 */
export type JvpRule<K extends OpName> = (
  e: Emitter,
  operands: readonly Value[],
  result: Value,
  tangents: readonly (Value | null)[],
  attrs: Attrs[K],
) => Value | null;

/** Marks an op whose result carries no derivative (zero almost everywhere, or not a number). */
export type NonDiff = "nondiff";

export interface OpDef<K extends OpName> {
  readonly name: K;
  /** Operand count; "variadic" means one or more. */
  readonly arity: number | "variadic";
  readonly attrs: AttrSchema<K>;
  readonly fusion: FusionClass;
  /**
   * The result type, or a ShapeError/DTypeError (with `op` set to the primitive's name) naming
   * the operand types and the rule they break. Also validates the attributes.
   */
  infer(operands: readonly TensorType[], attrs: Attrs[K]): TensorType;
  /**
   * Reference semantics: simple loops over exact numbers. Returns the result's values; the
   * interpreter rounds them to the result dtype (`roundTo`) afterwards, so an op rounds only
   * what it accumulates in between.
   */
  interp(operands: readonly Tensor[], attrs: Attrs[K], out: TensorType, ctx: InterpContext): Float64Array;
  readonly vjp: VjpRule<K> | NonDiff;
  readonly jvp: JvpRule<K> | NonDiff;
}

export type Registry = { readonly [K in OpName]: OpDef<K> };
