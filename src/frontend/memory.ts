// `sm.memory`: how much device memory arrays and compiled functions hold.
import { clearCaches } from "../../runtime/devices.js";
import { type MemoryStats, memoryStats, setLimit as setRuntimeLimit } from "../../runtime/memory.js";
import { publicOp } from "./context.js";

export const memory = {
  /** `{ activeBytes, peakBytes, cacheBytes }` over every device. */
  stats: (): MemoryStats => memoryStats(),
  /** Frees memory devices keep for reuse. */
  clearCache: (): void => publicOp("memory.clearCache", () => clearCaches()),
  /** Allocations past `bytes` active fail with a DeviceError. */
  setLimit: (bytes: number): void => publicOp("memory.setLimit", () => setRuntimeLimit(bytes)),
};
