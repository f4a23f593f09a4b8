// The reference interpreter: the oracle every later stage is checked against. It runs each op's
// registry rule in order and rounds every result to its dtype.
import { type DType, type HostData, hostToNumbers, numbersToHost, roundTo } from "./dtype.js";
import { SmeltError } from "./errors.js";
import type { Func, Value } from "./graph.js";
import type { Attrs, OpName } from "./attrs.js";
import type { InterpContext } from "./opdef.js";
import { registry } from "./registry.js";
import { type Shape, size } from "./shape.js";
import { type Tensor, type TensorType, typeEq, typeStr } from "./types.js";

export function tensor(dtype: DType, shape: Shape, values: ArrayLike<number>): Tensor {
  if (values.length !== size(shape)) {
    throw new SmeltError(`tensor: ${values.length} values do not fill shape [${shape.join(",")}]`);
  }
  const data = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = roundTo(dtype, values[i]!);
  return { type: { dtype, shape: [...shape] }, data };
}

/** A tensor from host storage (float16/bfloat16 as bits). */
export const fromHost = (dtype: DType, shape: Shape, data: HostData): Tensor =>
  tensor(dtype, shape, hostToNumbers(dtype, data));

export const toHost = (t: Tensor): HostData => numbersToHost(t.type.dtype, t.data);

export function interpret(func: Func, args: readonly Tensor[], ctx: InterpContext = { mode: "dtype" }): Tensor[] {
  if (args.length !== func.params.length) {
    throw new SmeltError(`@${func.name} takes ${func.params.length} argument(s), got ${args.length}`, {
      op: "interpret",
    });
  }
  const env = new Map<Value, Tensor>();
  func.params.forEach((p, i) => {
    const a = args[i]!;
    if (!typeEq(p.type, a.type)) {
      throw new SmeltError(
        `argument ${i} (%${p.name}) of @${func.name} is ${typeStr(p.type)}, got ${typeStr(a.type)}`,
        { op: "interpret" },
      );
    }
    env.set(p, a);
  });
  const get = (v: Value): Tensor => {
    const t = env.get(v);
    if (!t) throw new SmeltError(`@${func.name} uses a value before it is defined`, { op: "interpret" });
    return t;
  };
  for (const op of func.body) {
    env.set(op.result, evalOp(op.op, op.attrs, op.operands.map(get), op.result.type, ctx));
  }
  return func.results.map(get);
}

/** One primitive on tensors, its result rounded to the result dtype. */
export function evalOp<K extends OpName>(
  op: K,
  attrs: Attrs[K],
  operands: readonly Tensor[],
  out: TensorType,
  ctx: InterpContext,
): Tensor {
  // The registry is indexed by the op's own name, so its attrs type matches; TypeScript
  // cannot see that across the union of entries, hence the one cast.
  const def = registry[op] as unknown as {
    interp(o: readonly Tensor[], a: unknown, t: TensorType, c: InterpContext): Float64Array;
  };
  const data = def.interp(operands, attrs, out, ctx);
  for (let i = 0; i < data.length; i++) data[i] = roundTo(out.dtype, data[i]!, ctx.mode);
  return { type: out, data };
}
