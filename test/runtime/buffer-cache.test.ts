// The size-bucketed buffer cache over a fake allocator that records every alloc and free.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeviceError } from "../../src/ir/errors.js";
import { type Allocator, BufferCache, bucketBytes, MIN_BUCKET } from "../../runtime/buffer-cache.js";

class FakeAllocator implements Allocator {
  readonly live = new Set<ArrayBuffer>();
  allocs = 0;
  readonly freed: ArrayBuffer[] = [];
  failWith: Error | undefined;

  alloc(bytes: number): ArrayBuffer {
    if (this.failWith) throw this.failWith;
    this.allocs++;
    const b = new ArrayBuffer(bytes);
    this.live.add(b);
    return b;
  }
  free(buf: ArrayBuffer): void {
    if (!this.live.delete(buf)) throw new Error("fake allocator: freeing a buffer it does not hold");
    this.freed.push(buf);
  }
  liveBytes(): number {
    let n = 0;
    for (const b of this.live) n += b.byteLength;
    return n;
  }
}

describe("bucketBytes", () => {
  it("rounds small requests to powers of two from 256, large ones to whole pages", () => {
    expect(bucketBytes(0)).toBe(256);
    expect(bucketBytes(1)).toBe(256);
    expect(bucketBytes(256)).toBe(256);
    expect(bucketBytes(257)).toBe(512);
    expect(bucketBytes(3000)).toBe(4096);
    expect(bucketBytes(16384)).toBe(16384);
    expect(bucketBytes(16385)).toBe(32768);
    expect(bucketBytes(50000)).toBe(65536);
    expect(bucketBytes(70000)).toBe(81920);
    expect(bucketBytes(5000, 4096)).toBe(8192);
    expect(bucketBytes(9000, 4096)).toBe(12288);
  });

  it("rejects sizes that are not byte counts", () => {
    expect(() => bucketBytes(-1)).toThrow(DeviceError);
    expect(() => bucketBytes(1.5)).toThrow(DeviceError);
  });

  it("wastes under half a small buffer and under a page of a large one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 26 }), fc.constantFrom(4096, 16384), (bytes, page) => {
        const b = bucketBytes(bytes, page);
        expect(b).toBeGreaterThanOrEqual(bytes);
        expect(b % MIN_BUCKET).toBe(0);
        if (bytes <= page) expect(b).toBeLessThan(2 * Math.max(bytes, MIN_BUCKET));
        else expect(b - bytes).toBeLessThan(page);
      }),
    );
  });
});

describe("BufferCache", () => {
  it("hands a released buffer to the next request of its bucket", () => {
    const a = new FakeAllocator();
    const c = new BufferCache(a);
    const x = c.acquire(1000);
    expect(x.byteLength).toBe(1024);
    c.release(x);
    expect(c.acquire(600)).toBe(x);
    expect(a.allocs).toBe(1);
  });

  it("does not serve a request from another bucket", () => {
    const a = new FakeAllocator();
    const c = new BufferCache(a);
    const x = c.acquire(1000);
    c.release(x);
    const y = c.acquire(2000);
    expect(y).not.toBe(x);
    expect(y.byteLength).toBe(2048);
    expect(a.allocs).toBe(2);
  });

  it("counts active, peak and cached bytes in whole buckets", () => {
    const c = new BufferCache(new FakeAllocator());
    const x = c.acquire(100); // 256
    const y = c.acquire(20000); // 32768
    expect(c.stats()).toEqual({ activeBytes: 33024, peakBytes: 33024, cacheBytes: 0 });
    c.release(y);
    expect(c.stats()).toEqual({ activeBytes: 256, peakBytes: 33024, cacheBytes: 32768 });
    c.release(x);
    c.acquire(30000); // reuses y
    expect(c.stats()).toEqual({ activeBytes: 32768, peakBytes: 33024, cacheBytes: 256 });
  });

  it("clearCache frees the cached buffers and only those", () => {
    const a = new FakeAllocator();
    const c = new BufferCache(a);
    const x = c.acquire(10);
    const y = c.acquire(10);
    c.release(x);
    c.clearCache();
    expect(a.freed).toEqual([x]);
    expect(a.live.has(y)).toBe(true);
    expect(c.stats().cacheBytes).toBe(0);
    expect(c.holds(y)).toBe(true);
    expect(c.holds(x)).toBe(false);
    expect(c.owns(y)).toBe(true);
    expect(c.owns(x)).toBe(false);
    const z = c.acquire(10);
    c.release(z);
    expect([c.holds(z), c.owns(z)]).toEqual([false, true]);
  });

  it("fails past the limit with a DeviceError naming requested, active and limit bytes", () => {
    const c = new BufferCache(new FakeAllocator());
    c.setLimit(4096);
    c.acquire(2048);
    let err: unknown;
    try {
      c.acquire(4000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toMatch(/4000 bytes.*2048 bytes are in use.*limit is 4096 bytes/);
  });

  it("clears its cache before giving up at the limit", () => {
    const a = new FakeAllocator();
    const c = new BufferCache(a, { limit: 4096 });
    const x = c.acquire(2048);
    c.release(x);
    const y = c.acquire(4096);
    expect(a.freed).toEqual([x]);
    expect(y.byteLength).toBe(4096);
    expect(c.stats()).toEqual({ activeBytes: 4096, peakBytes: 4096, cacheBytes: 0 });
  });

  it("lowering the limit below what it holds drops the cache", () => {
    const a = new FakeAllocator();
    const c = new BufferCache(a);
    const x = c.acquire(4096);
    c.acquire(4096);
    c.release(x);
    c.setLimit(5000);
    expect(a.freed).toEqual([x]);
    expect(() => c.setLimit(0)).toThrow(DeviceError);
  });

  it("rejects releasing a foreign buffer and releasing twice", () => {
    const c = new BufferCache(new FakeAllocator());
    expect(() => c.release(new ArrayBuffer(256))).toThrow(DeviceError);
    const x = c.acquire(1);
    c.release(x);
    expect(() => c.release(x)).toThrow(/released twice/);
  });

  it("turns an allocator failure into a DeviceError with the sizes", () => {
    const a = new FakeAllocator();
    const c = new BufferCache(a);
    c.acquire(300);
    a.failWith = new Error("newBufferWithLength returned nil");
    expect(() => c.acquire(70000)).toThrow(
      new DeviceError("cannot allocate 70000 bytes (a 81920-byte buffer) with 512 bytes in use: newBufferWithLength returned nil"),
    );
  });

  it("keeps its counts equal to what the allocator holds, over any sequence of requests", () => {
    type Step = { readonly acquire: number } | { readonly release: number } | { readonly clear: true };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ acquire: fc.integer({ min: 0, max: 40000 }) }),
      fc.record({ release: fc.nat() }),
      fc.constant({ clear: true as const }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const a = new FakeAllocator();
        const c = new BufferCache(a);
        const held: ArrayBuffer[] = [];
        let peak = 0;
        for (const s of steps) {
          if ("acquire" in s) {
            const b = c.acquire(s.acquire);
            expect(b.byteLength).toBe(bucketBytes(s.acquire));
            expect(held).not.toContain(b);
            held.push(b);
          } else if ("release" in s) {
            if (held.length === 0) continue;
            c.release(held.splice(s.release % held.length, 1)[0]!);
          } else {
            c.clearCache();
          }
          const active = held.reduce((n, b) => n + b.byteLength, 0);
          peak = Math.max(peak, active);
          const st = c.stats();
          expect(st.activeBytes).toBe(active);
          expect(st.peakBytes).toBe(peak);
          expect(st.activeBytes + st.cacheBytes).toBe(a.liveBytes());
        }
      }),
    );
  });
});
