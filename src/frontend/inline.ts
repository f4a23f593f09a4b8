// A graph-IR func applied to arrays: each of its ops becomes a pending array, as if the ops had
// been called one by one. The transforms use it to put a differentiated func back into the
// caller's lazy graph, where it is an ordinary computation (evaluated, traced by `compile`, or
// differentiated again).
import { SmeltError } from "../ir/errors.js";
import type { Func, Value } from "../ir/graph.js";
import { typeEq, typeStr } from "../ir/types.js";
import { Array, type Pending } from "./array.js";

/** The arrays `func` computes from `inputs` (one per param, of the param's type), pending. */
export function callFunc(func: Func, inputs: readonly Array[]): Array[] {
  if (inputs.length !== func.params.length) {
    throw new SmeltError(`@${func.name} takes ${func.params.length} input(s), got ${inputs.length}`);
  }
  const env = new Map<Value, Array>();
  func.params.forEach((p, i) => {
    const a = inputs[i]!;
    if (a.node.kind === "disposed") throw new SmeltError(`uses an array (${typeStr(a.type)}) that was disposed`);
    if (!typeEq(p.type, a.type)) {
      throw new SmeltError(`input ${i} of @${func.name} is ${typeStr(a.type)}, the param is ${typeStr(p.type)}`);
    }
    env.set(p, a);
  });
  for (const op of func.body) {
    // Each op keeps the location of the user's code it was derived from.
    const pending = { op: op.op, attrs: op.attrs, inputs: op.operands.map((v) => env.get(v)!), loc: op.loc };
    env.set(op.result, new Array(op.result.type, { kind: "pending", pending: pending as Pending }));
  }
  return func.results.map((r) => env.get(r)!);
}
