// Computing pending arrays: lower the pending graph to one func, run it on the current device,
// and make the requested arrays realized (dropping the graph above them).
import type { DeviceBuffer } from "../../runtime/device.js";
import { currentDevice } from "../../runtime/devices.js";
import type { HostData } from "../ir/dtype.js";
import { SmeltError } from "../ir/errors.js";
import { fromHost } from "../ir/interp.js";
import { lowerFunc } from "../passes/pipeline.js";
import type { Lowered } from "../passes/pipeline.js";
import type { Tensor } from "../ir/types.js";
import { typeStr } from "../ir/types.js";
import { type Array, isArray, realize as hold } from "./array.js";
import { publicOp } from "./context.js";
import { dependsOnPlaceholder, lowerGraph } from "./lower.js";
import { activeTrace } from "./trace.js";
import { flatten } from "./tree.js";

export function deviceBuffer(a: Array): DeviceBuffer {
  if (a.node.kind !== "realized") throw new SmeltError(`array ${typeStr(a.type)} is not computed`);
  return a.node.buffer;
}

/** The pending arrays among `targets`, lowered to one func, and that func prepared on the current device. */
function prepareRealize(targets: readonly Array[]) {
  const pending = [...new Set(targets)].filter((a) => a.node.kind !== "realized");
  if (pending.length === 0) return undefined;
  const { func, leaves } = lowerGraph("eval", pending, { kind: "eval" });
  let lowered: Lowered | undefined;
  const exe = currentDevice().prepare(func, { lowered: () => (lowered ??= lowerFunc(func, { strategy: "full" })) });
  return { pending, exe, inputs: leaves.map(deviceBuffer) };
}

/** Computes every pending array in `targets` with one func on the current device. */
export function realize(targets: readonly Array[]): void {
  const p = prepareRealize(targets);
  if (!p) return;
  try {
    const out = p.exe.run(p.inputs);
    p.pending.forEach((a, i) => hold(a, out[i]!));
  } finally {
    p.exe.dispose();
  }
}

/** `realize` without blocking the event loop on devices that compute asynchronously. */
export async function realizeAsync(targets: readonly Array[]): Promise<void> {
  const p = prepareRealize(targets);
  if (!p) return;
  try {
    const out = p.exe.runAsync ? await p.exe.runAsync(p.inputs) : p.exe.run(p.inputs);
    p.pending.forEach((a, i) => hold(a, out[i]!));
  } finally {
    p.exe.dispose();
  }
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

/** The computed values of `a` as exact numbers (computing them if needed). */
export function concreteTensor(a: Array): Tensor {
  realize([a]);
  const b = deviceBuffer(a);
  return fromHost(b.type.dtype, b.type.shape, b.data);
}

/** The values of `a` in its device memory (no copy). */
export function hostData(a: Array): HostData {
  realize([a]);
  return deviceBuffer(a).data;
}
