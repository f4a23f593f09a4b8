// Run one primitive through the builder (so its infer rule types it) and the interpreter.
import {
  type Attrs,
  type DType,
  FuncBuilder,
  interpret,
  type OpName,
  type Tensor,
  tensor,
} from "../../src/ir/index.js";
import type { InterpContext } from "../../src/ir/opdef.js";

export function runOp<K extends OpName>(
  op: K,
  attrs: Attrs[K],
  operands: readonly Tensor[],
  ctx: InterpContext = { mode: "dtype" },
): Tensor {
  const b = new FuncBuilder("t");
  const params = operands.map((t) => b.param(t.type));
  const r = b.op(op, params, attrs);
  return interpret(b.build([r]), operands, ctx)[0]!;
}

/** Shorthand: `t("float32", [2, 2], [1, 2, 3, 4])`. */
export const t = (dtype: DType, shape: readonly number[], values: readonly number[]): Tensor =>
  tensor(dtype, shape, values);

/** The values of a tensor as a plain array (for toEqual). */
export const vals = (x: Tensor): number[] => Array.from(x.data);
