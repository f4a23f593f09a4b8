// What the registry holds for each primitive.
import type { Attrs, AttrSchema, OpName } from "./attrs.js";
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
}

export type Registry = { readonly [K in OpName]: OpDef<K> };
