// The TypeScript side of a device: what the frontend needs to hold arrays and run functions.
import type { HostData } from "../src/ir/dtype.js";
import type { Func } from "../src/ir/graph.js";
import { size } from "../src/ir/shape.js";
import type { TensorType } from "../src/ir/types.js";
import type { Lowered } from "../src/passes/pipeline.js";
import { hostView, type Storage, storageOf, typeBytes } from "./memory.js";

/**
 * The values of one realized array: a typed view (`data`) of device memory (`storage`). Several
 * arrays may hold one storage; each DeviceBuffer is one hold, given back once by `release`.
 */
export class DeviceBuffer {
  private held = true;
  constructor(
    readonly device: string,
    readonly type: TensorType,
    readonly data: HostData,
    private readonly storage: Storage,
  ) {}
  /** Another hold on the same memory. */
  share(): DeviceBuffer {
    this.storage.retain();
    return new DeviceBuffer(this.device, this.type, this.data, this.storage);
  }
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.storage.drop();
  }
}

/** A hold on memory that already backs `data` (a view of device memory smelt allocated), or undefined. */
export function wrapDeviceMemory(device: string, type: TensorType, data: HostData): DeviceBuffer | undefined {
  const s = storageOf(data);
  if (!s || data.byteLength !== typeBytes(type)) return undefined;
  s.retain();
  return new DeviceBuffer(device, type, data, s);
}

export interface PrepareOptions {
  /** The func lowered to a planned program (computed when first asked; devices that run kernels ask). */
  readonly lowered: () => Lowered;
}

/** A function ready to run on one device. */
export interface Executable {
  /** Runs on the inputs (one per func param); returns one new buffer per result. */
  run(inputs: readonly DeviceBuffer[]): DeviceBuffer[];
  /** The same without blocking the event loop while the device works (devices with a queue). */
  runAsync?(inputs: readonly DeviceBuffer[]): Promise<DeviceBuffer[]>;
  /** Gives back what preparing took (an arena, a loaded library's hold). */
  dispose(): void;
}

export interface Device {
  readonly name: string;
  /** New device memory for an array of `type`, filled by the caller through `data`. */
  alloc(type: TensorType): DeviceBuffer;
  prepare(func: Func, opts: PrepareOptions): Executable;
  /** Frees memory the device keeps for reuse. */
  clearCache(): void;
}

/** `storage` seen as an array of `type` on the device named `device`. */
export function bufferOver(device: string, type: TensorType, storage: Storage): DeviceBuffer {
  return new DeviceBuffer(device, type, hostView(type.dtype, storage.buffer, size(type.shape)), storage);
}

/** A new buffer on `device` with the bytes of `data` (a whole array of `type`). */
export function copyTo(device: Device, type: TensorType, data: ArrayBufferView): DeviceBuffer {
  const b = device.alloc(type);
  new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, b.data.byteLength),
  );
  return b;
}

/** A new buffer on `device` holding `values` (already in host storage form). */
export function upload(device: Device, type: TensorType, values: HostData): DeviceBuffer {
  const b = device.alloc(type);
  (b.data as { set(v: ArrayLike<number>): void }).set(values);
  return b;
}

