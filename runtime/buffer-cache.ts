// A size-bucketed cache of device buffers over an allocator of ArrayBuffers. Released buffers
// are kept for the next request of the same bucket, because allocating device memory (a Metal
// buffer, pinned native memory) costs far more than reusing it, and a compiled function asks
// for the same sizes on every run.
//
// Buckets: requests up to one page round up to a power of two (at least MIN_BUCKET bytes), so a
// small buffer wastes at most half its bytes; larger requests round up to whole pages, so a big
// buffer wastes less than a page. A request is served only from its own bucket.
import { DeviceError, SmeltError } from "../src/ir/errors.js";
import { reserve, Storage } from "./memory.js";

export interface Allocator {
  alloc(bytes: number): ArrayBuffer;
  free(buf: ArrayBuffer): void;
}

export interface CacheStats {
  /** Bytes of buffers handed out and not yet released (whole buckets). */
  readonly activeBytes: number;
  /** The most activeBytes has been. */
  readonly peakBytes: number;
  /** Bytes of released buffers kept for reuse. */
  readonly cacheBytes: number;
}

/** The smallest bucket: also the alignment every buffer start has, as the arena's offsets. */
export const MIN_BUCKET = 256;
/** The virtual-memory page of Apple Silicon (16 KiB). */
export const APPLE_PAGE = 16384;

/** The bytes a buffer for a request of `bytes` holds. */
export function bucketBytes(bytes: number, pageSize: number = APPLE_PAGE): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new DeviceError(`cannot allocate ${bytes} bytes`);
  if (bytes > pageSize) return Math.ceil(bytes / pageSize) * pageSize;
  let b = MIN_BUCKET;
  while (b < bytes) b *= 2;
  return b;
}

export interface BufferCacheOptions {
  readonly pageSize?: number;
  /** Most bytes handed out at once (default: no limit). */
  readonly limit?: number;
}

export class BufferCache {
  private readonly pageSize: number;
  private limit: number;
  /** Released buffers by bucket size. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Every buffer handed out, with its bucket size. */
  private readonly active = new Map<ArrayBuffer, number>();
  private activeBytes = 0;
  private peakBytes = 0;
  private cacheBytes = 0;

  constructor(
    private readonly allocator: Allocator,
    opts: BufferCacheOptions = {},
  ) {
    this.pageSize = opts.pageSize ?? APPLE_PAGE;
    this.limit = opts.limit ?? Infinity;
  }

  /** A buffer of at least `bytes` bytes (exactly its bucket's size). */
  acquire(bytes: number): ArrayBuffer {
    const size = bucketBytes(bytes, this.pageSize);
    const reused = this.free.get(size)?.pop();
    if (reused) {
      this.cacheBytes -= size;
      return this.handOut(reused, size);
    }
    // Cached buffers count against the limit too: they hold real memory.
    if (this.activeBytes + this.cacheBytes + size > this.limit) this.clearCache();
    if (this.activeBytes + size > this.limit) {
      throw new DeviceError(
        `cannot allocate ${bytes} bytes (a ${size}-byte buffer): ${this.activeBytes} bytes are in use and the limit is ${this.limit} bytes`,
      );
    }
    return this.handOut(this.allocate(bytes, size), size);
  }

  /** Gives `buf` back for reuse. */
  release(buf: ArrayBuffer): void {
    const size = this.active.get(buf);
    if (size === undefined) throw new DeviceError("releasing a buffer this cache did not hand out (or released twice)");
    this.active.delete(buf);
    this.activeBytes -= size;
    const list = this.free.get(size);
    if (list) list.push(buf);
    else this.free.set(size, [buf]);
    this.cacheBytes += size;
  }

  /** Whether `buf` is handed out by this cache and not yet released. */
  holds(buf: ArrayBuffer): boolean {
    return this.active.has(buf);
  }

  /** Whether `buf` came from this cache and is still allocated (handed out or cached). */
  owns(buf: ArrayBuffer): boolean {
    return this.active.has(buf) || (this.free.get(buf.byteLength)?.includes(buf) ?? false);
  }

  stats(): CacheStats {
    return { activeBytes: this.activeBytes, peakBytes: this.peakBytes, cacheBytes: this.cacheBytes };
  }

  /** Frees every cached buffer. */
  clearCache(): void {
    for (const list of this.free.values()) for (const buf of list) this.allocator.free(buf);
    this.free.clear();
    this.cacheBytes = 0;
  }

  setLimit(bytes: number): void {
    if (!(bytes > 0)) throw new DeviceError(`the memory limit must be a positive number of bytes, got ${bytes}`);
    this.limit = bytes;
    if (this.activeBytes + this.cacheBytes > bytes) this.clearCache();
  }

  private handOut(buf: ArrayBuffer, size: number): ArrayBuffer {
    this.active.set(buf, size);
    this.activeBytes += size;
    if (this.activeBytes > this.peakBytes) this.peakBytes = this.activeBytes;
    return buf;
  }

  /** A new buffer from the allocator; its failure, too, is a DeviceError naming the sizes. */
  private allocate(bytes: number, size: number): ArrayBuffer {
    let buf: ArrayBuffer;
    try {
      buf = this.allocator.alloc(size);
    } catch (e) {
      if (e instanceof SmeltError) throw e;
      throw new DeviceError(
        `cannot allocate ${bytes} bytes (a ${size}-byte buffer) with ${this.activeBytes} bytes in use: ${(e as Error).message}`,
      );
    }
    if (buf.byteLength < size) {
      throw new DeviceError(`the allocator returned ${buf.byteLength} bytes for a ${size}-byte buffer`);
    }
    return buf;
  }
}

/**
 * Device memory of at least `bytes` from `cache`, counted in sm.memory as the whole bucket it
 * takes (after `reclaim` when the memory limit is near), and back to the cache when dropped.
 */
export function cachedStorage(cache: BufferCache, bytes: number, pageSize: number, reclaim: () => void): Storage {
  const held = bucketBytes(bytes, pageSize);
  reserve(held, reclaim);
  const buf = cache.acquire(bytes);
  return new Storage(buf, held, () => cache.release(buf));
}
