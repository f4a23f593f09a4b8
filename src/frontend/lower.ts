// From the lazy graph to one graph-IR func. `sm.eval` lowers the pending part reachable from
// the arrays it computes (realized leaves become params); `compile` lowers what its traced
// function returns (placeholders are the params, realized arrays it closed over are constants).
import { hostToNumbers } from "../ir/dtype.js";
import { SmeltError, TraceError } from "../ir/errors.js";
import { type Func, FuncBuilder, type Value } from "../ir/graph.js";
import { typeStr } from "../ir/types.js";
import type { Array } from "./array.js";
import type { Trace } from "./trace.js";

export type LowerMode =
  | { readonly kind: "eval" }
  | {
      readonly kind: "trace";
      readonly trace: Trace;
      readonly params: readonly Array[];
      readonly paramNames: readonly string[];
    };

export interface Lowered {
  readonly func: Func;
  /** In eval mode: the realized arrays the func takes, in param order. */
  readonly leaves: readonly Array[];
}

function placeholderError(a: Array, path: string, trace: Trace): TraceError {
  const what = `${path} (${typeStr(a.type)}) of @${trace.name}`;
  if (!trace.active) {
    return new TraceError(
      `uses a placeholder for argument ${what} after compile finished tracing it: an array created while tracing escaped (kept in a variable outside the function?)`,
    );
  }
  return new TraceError(
    `needs a concrete value, but this array depends on argument ${what}, which compile traces without values; compute the value outside the compiled function, or pass it as a static number`,
  );
}

export function lowerGraph(name: string, outputs: readonly Array[], mode: LowerMode): Lowered {
  const b = new FuncBuilder(name);
  const values = new Map<Array, Value>();
  const leaves: Array[] = [];
  if (mode.kind === "trace") {
    mode.params.forEach((p, i) => values.set(p, b.param(p.type, mode.paramNames[i])));
  }
  // Iterative post-order: graphs built by long loops are deeper than the JS call stack.
  const stack: [Array, boolean][] = [...outputs].reverse().map((a) => [a, false]);
  while (stack.length > 0) {
    const [a, expanded] = stack.pop()!;
    if (values.has(a)) continue;
    const n = a.node;
    switch (n.kind) {
      case "pending": {
        const { op, inputs, attrs, loc } = n.pending;
        if (!expanded) {
          stack.push([a, true]);
          for (let i = inputs.length - 1; i >= 0; i--) if (!values.has(inputs[i]!)) stack.push([inputs[i]!, false]);
          continue;
        }
        const operands = inputs.map((x) => values.get(x)!);
        values.set(a, b.op(op, operands, attrs as never, loc));
        break;
      }
      case "realized":
        if (mode.kind === "eval") {
          values.set(a, b.param(a.type));
          leaves.push(a);
        } else {
          const { dtype, shape } = a.type;
          values.set(a, b.op("constant", [], { dtype, shape: [...shape], data: hostToNumbers(dtype, n.buffer.data) }));
        }
        break;
      case "placeholder":
        // A placeholder of the trace being lowered is already a param.
        throw placeholderError(a, n.path, n.trace);
      case "disposed":
        throw new SmeltError(`uses an array (${typeStr(a.type)}) that was disposed`);
      default:
        n satisfies never;
    }
  }
  return { func: b.build(outputs.map((a) => values.get(a)!)), leaves };
}

/** Whether computing `a` needs a placeholder (of any trace). */
export function dependsOnPlaceholder(a: Array): boolean {
  const seen = new Set<Array>();
  const stack = [a];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    if (x.node.kind === "placeholder") return true;
    if (x.node.kind === "pending") stack.push(...x.node.pending.inputs);
  }
  return false;
}
