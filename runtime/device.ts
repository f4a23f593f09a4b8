// The TypeScript side of a device: what the frontend needs to run a graph-IR function.
import type { Func } from "../src/ir/graph.js";
import type { Tensor } from "../src/ir/types.js";

/**
 * Storage of one realized array on a device. For now every device keeps the interpreter's
 * exact values; devices with their own memory will put a handle here instead.
 */
export interface DeviceBuffer {
  readonly device: string;
  readonly tensor: Tensor;
}

export interface Device {
  readonly name: string;
  /** Runs `func` on its parameters' values; returns one tensor per result. */
  run(func: Func, inputs: readonly Tensor[]): Tensor[];
}
