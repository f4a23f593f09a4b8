// Computing pending arrays: lower the pending graph to one func, run it on the current device,
// and make the requested arrays realized (dropping the graph above them).
import { currentDevice } from "../../runtime/devices.js";
import type { HostData } from "../ir/dtype.js";
import { SmeltError } from "../ir/errors.js";
import { toHost } from "../ir/interp.js";
import type { Tensor } from "../ir/types.js";
import { typeStr } from "../ir/types.js";
import { type Array, isArray } from "./array.js";
import { publicOp } from "./context.js";
import { dependsOnPlaceholder, lowerGraph } from "./lower.js";
import { activeTrace } from "./trace.js";
import { flatten } from "./tree.js";

function bufferTensor(a: Array): Tensor {
  if (a.node.kind !== "realized") throw new SmeltError(`array ${typeStr(a.type)} is not computed`);
  return a.node.buffer.tensor;
}

/** Computes every pending array in `targets` with one func on the current device. */
export function realize(targets: readonly Array[]): void {
  const pending = [...new Set(targets)].filter((a) => a.node.kind !== "realized");
  if (pending.length === 0) return;
  const { func, leaves } = lowerGraph("eval", pending, { kind: "eval" });
  const device = currentDevice();
  const out = device.run(func, leaves.map(bufferTensor));
  pending.forEach((a, i) => {
    a.node = { kind: "realized", buffer: { device: device.name, tensor: out[i]! } };
  });
}

/**
 * `sm.eval(...arraysOrTrees)`: computes the arrays (and every array in the trees) now. Inside a
 * function `compile` is tracing, arrays that depend on its arguments have no values yet; they
 * are left as they are.
 */
export function evaluate(...trees: unknown[]): void {
  publicOp("eval", () => {
    const arrays = flatten(trees)[0].filter(isArray);
    realize(activeTrace() ? arrays.filter((a) => !dependsOnPlaceholder(a)) : arrays);
  });
}

/** The computed values of `a` (computing them if needed). */
export function concreteTensor(a: Array): Tensor {
  realize([a]);
  return bufferTensor(a);
}

export function hostData(a: Array): HostData {
  return toHost(concreteTensor(a));
}
