// Device memory as users see it: every realized array's values live in one Storage, counted
// here (sm.memory.stats). A Storage is reference-counted because arrays may share one (an array
// wrapping another's dataSync() view, a copy of a realized array); its memory goes back to the
// device when the last holder lets go, deterministically (dispose, tidy), with a
// FinalizationRegistry only as the safety net for arrays dropped without either.
import { allocHost, type DType, type HostData, itemsize } from "../src/ir/dtype.js";
import { DeviceError } from "../src/ir/errors.js";
import type { TensorType } from "../src/ir/types.js";
import { size } from "../src/ir/shape.js";

export interface MemoryStats {
  /** Bytes held by live arrays and by compiled functions' arenas. */
  readonly activeBytes: number;
  /** The most activeBytes has been since the process started. */
  readonly peakBytes: number;
  /** Bytes freed by arrays but kept by devices for reuse. */
  readonly cacheBytes: number;
}

let active = 0;
let peak = 0;
let limit = Infinity;

/** Fails before an allocation that would take activeBytes past the limit (after `reclaim` tried). */
export function reserve(bytes: number, reclaim: () => void = () => {}): void {
  if (active + bytes <= limit) return;
  reclaim();
  if (active + bytes <= limit) return;
  throw new DeviceError(
    `allocating ${bytes} bytes would exceed the memory limit: ${active} bytes active, limit ${limit} bytes (sm.memory.setLimit)`,
  );
}

export function setLimit(bytes: number): void {
  if (!(bytes > 0)) throw new DeviceError(`the memory limit must be a positive number of bytes, got ${bytes}`);
  limit = bytes;
}
const cacheSources: (() => number)[] = [];

function countAlloc(bytes: number): void {
  active += bytes;
  if (active > peak) peak = active;
}
function countFree(bytes: number): void {
  active -= bytes;
}
/** Devices with a buffer cache report its size here. */
export function addCacheSource(bytes: () => number): void {
  cacheSources.push(bytes);
}
export function memoryStats(): MemoryStats {
  return { activeBytes: active, peakBytes: peak, cacheBytes: cacheSources.reduce((s, f) => s + f(), 0) };
}

/** One allocation of device memory, as an ArrayBuffer the host can view. */
export class Storage {
  private refs = 1;
  constructor(
    readonly buffer: ArrayBuffer,
    readonly bytes: number,
    private readonly free: () => void,
  ) {
    countAlloc(bytes);
    storages.set(buffer, this);
  }
  get alive(): boolean {
    return this.refs > 0;
  }
  retain(): void {
    if (this.refs <= 0) throw new Error("smelt: retaining freed device memory");
    this.refs++;
  }
  drop(): void {
    if (this.refs <= 0) return;
    if (--this.refs > 0) return;
    countFree(this.bytes);
    storages.delete(this.buffer);
    this.free();
  }
}

const storages = new WeakMap<ArrayBuffer, Storage>();

/** The live Storage whose memory `data` views, if any. */
export function storageOf(data: ArrayBufferView): Storage | undefined {
  const s = storages.get(data.buffer as ArrayBuffer);
  return s?.alive ? s : undefined;
}

/** A typed view of `count` elements of `dtype` at the start of `buffer`. */
export function hostView(dtype: DType, buffer: ArrayBuffer, count: number, byteOffset = 0): HostData {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, byteOffset, count);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buffer, byteOffset, count);
    case "int32":
      return new Int32Array(buffer, byteOffset, count);
    case "uint32":
      return new Uint32Array(buffer, byteOffset, count);
    case "bool":
      return new Uint8Array(buffer, byteOffset, count);
    default:
      return dtype satisfies never;
  }
}

export const typeBytes = (t: TensorType): number => size(t.shape) * itemsize(t.dtype);

/** Storage in the JavaScript heap (the interp device's, and any device's fallback). */
export function heapStorage(dtype: DType, count: number): Storage {
  reserve(count * itemsize(dtype));
  const data = allocHost(dtype, count);
  return new Storage(data.buffer as ArrayBuffer, data.byteLength, () => {});
}
