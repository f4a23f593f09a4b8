// The host device's native runtime (native/host through runtime/native.ts): hand-written
// kernels (test/runtime/support/kernels.metal, trampolines in the ABI's form) built with
// clang-19 and run through the addon. Results are checked against values computed here by
// plain loops; every diagnostic is provoked and must come back as an Error that names the
// kernel, the threadgroup and the thread, with the pool still usable afterwards.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DispatchOptions,
  type DispatchOrder,
  type HostAddon,
  hostSource,
  type KernelHandle,
  type LibraryHandle,
} from "../../runtime/native.js";
import { emitProgram } from "../../src/codegen-msl/index.js";
import { parseFunc } from "../../src/ir/index.js";
import { fuse } from "../../src/passes/fuse.js";
import { buildHostLibrary, findClang, hostAddon, programText, tempDir } from "../codegen-msl/support/host.js";

const clang = findClang();
if (!clang) console.log("test/runtime/native.test.ts: skipped the addon tests, clang-19 not found (CI installs it)");

const KERNELS_PATH = fileURLToPath(new URL("./support/kernels.metal", import.meta.url));
const KERNELS = readFileSync(KERNELS_PATH, "utf8");

/** The 1-based line of the kernel library holding `marker` (hostSource keeps lines). */
function lineOf(marker: string): number {
  const i = KERNELS.split("\n").findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`no ${marker} in kernels.metal`);
  return i + 1;
}

const ORDERS: readonly DispatchOrder[] = ["forward", "reverse", "shuffle"];
const u32 = (...xs: number[]) => new Uint32Array(xs);

// ------------------------------------------------------------------ hostSource

describe("hostSource", () => {
  const kernel = (name: string, body: string[]) => [`kernel void ${name}(device float* out [[buffer(0)]]) {`, ...body, "}"];

  it("turns each kernel's threadgroup arrays into arena references at 16-byte aligned offsets, line for line", () => {
    const source = [
      "using namespace metal;",
      ...kernel("a", [
        "  threadgroup float x[3];",
        "    threadgroup half y[5];  // partials",
        "  threadgroup float4 z[2][3];",
        "  threadgroup uint n;",
        "  threadgroup float* p = x;",
        "  out[0] = x[0];",
      ]),
      ...kernel("b", ["  threadgroup bool flag[7];"]),
    ];
    const out = hostSource(source.join("\n")).split("\n");
    expect(out).toEqual([
      "using namespace metal;",
      "kernel void a(device float* out [[buffer(0)]]) {",
      "  SMELT_THREADGROUP(float, x, [3], 0, 12);",
      "    SMELT_THREADGROUP(half, y, [5], 16, 10); // partials",
      "  SMELT_THREADGROUP(float4, z, [2][3], 32, 96);",
      "  SMELT_THREADGROUP(uint, n, , 128, 4);",
      "  threadgroup float* p = x;",
      "  out[0] = x[0];",
      "}",
      "kernel void b(device float* out [[buffer(0)]]) {",
      "  SMELT_THREADGROUP(bool, flag, [7], 0, 7);",
      "}",
    ]);
  });

  it("allows exactly 32 KiB per kernel and names the kernel that asks for more", () => {
    expect(hostSource(kernel("k", ["  threadgroup float a[8192];"]).join("\n"))).toContain("SMELT_THREADGROUP(float, a, [8192], 0, 32768);");
    expect(() => hostSource(kernel("big", ["  threadgroup float a[8191];", "  threadgroup uchar b[17];"]).join("\n"))).toThrow(
      /line 3: kernel big declares 32785 bytes of threadgroup memory with b; the host gives a threadgroup 32768/,
    );
  });

  it("refuses declarations it cannot place", () => {
    const bad = (line: string) => () => hostSource(kernel("k", [line]).join("\n"));
    expect(bad("  threadgroup float a[4] = {0};")).toThrow(/line 2: cannot place/);
    expect(bad("  threadgroup float a[4], b[4];")).toThrow(/line 2: cannot place/);
    expect(bad("  threadgroup float a[N];")).toThrow(/dimension 'N', not an integer literal/);
    expect(bad("  threadgroup my_struct s[2];")).toThrow(/element type my_struct, of unknown size/);
    expect(() => hostSource("threadgroup float shared[4];")).toThrow(/line 1: threadgroup shared is declared outside a kernel/);
  });

  it("rewrites emitted MSL without moving a line", () => {
    const { source } = emitProgram(fuse(parseFunc(programText("softmax"))));
    const out = hostSource(source);
    expect(out.split("\n").length).toBe(source.split("\n").length);
    expect(out).toMatch(/SMELT_THREADGROUP\(uint, tg_value, \[\d+\], 0, \d+\);/);
    expect(out).not.toMatch(/^\s*threadgroup\s+\w+\s+\w+\s*\[/m);
  });
});

// ------------------------------------------------------------------ the addon

describe.skipIf(!clang)("the host runtime addon", () => {
  let addon: HostAddon;
  let lib: LibraryHandle;
  let dir: ReturnType<typeof tempDir>;
  let soPath: string;

  beforeAll(async () => {
    addon = hostAddon();
    dir = tempDir();
    soPath = await buildHostLibrary(clang!, KERNELS, dir.dir);
    lib = addon.loadLibrary(soPath);
  }, 120_000);
  afterAll(() => {
    if (lib) addon.unloadLibrary(lib);
    dir?.done();
  });

  const kernel = (entry: string): KernelHandle => addon.kernel(lib, entry);
  const floats = (n: number, guard = false) => new Float32Array(addon.alloc(4 * n, { guard }));

  /** x * 2 + 1 over a ragged grid (the last group is partly past n). */
  function axpb(entry: string, n: number, opts: Omit<DispatchOptions, "cooperative"> = {}): { x: Float32Array; y: Float32Array } {
    const x = floats(n, true);
    const y = floats(n, true);
    for (let i = 0; i < n; i++) x[i] = Math.fround(i * 0.37 - 50);
    addon.dispatch(kernel(entry), [x, y, u32(n)], Math.ceil(n / 64), 64, { cooperative: false, ...opts });
    return { x, y };
  }
  const axpbWant = (x: Float32Array) => Array.from(x, (v) => Math.fround(v * 2 + 1));

  /** After a diagnostic the pool runs the next dispatch normally. */
  function expectUsable(): void {
    const { x, y } = axpb("axpb", 5000);
    expect(Array.from(y)).toEqual(axpbWant(x));
  }

  it("reports its ABI and pool", () => {
    expect(addon.abi).toBe(2);
    expect(addon.workers).toBeGreaterThanOrEqual(1);
  });

  describe("barrier-free dispatches", () => {
    it("the range trampoline and the per-thread one compute y = 2x + 1 alike, on one and on all workers", () => {
      for (const workers of [1, addon.workers]) {
        const range = axpb("axpb", 1000, { workers });
        const perThread = axpb("axpb_per_thread", 1000, { workers });
        expect(Array.from(range.y)).toEqual(axpbWant(range.x));
        expect(Array.from(perThread.y)).toEqual(Array.from(range.y));
      }
    });

    it("runs every thread of many groups exactly once, with Metal's positions", () => {
      const groups = 3001;
      const threads = 96;
      for (const workers of [1, addon.workers]) {
        const counts = new Uint32Array(groups * threads);
        const ids = new Uint32Array(2 * groups * threads);
        addon.dispatch(kernel("tally"), [counts, ids], groups, threads, { cooperative: false, workers });
        expect(counts.every((c) => c === 1)).toBe(true);
        const bad = [];
        for (let g = 0; g < groups; g++) {
          for (let t = 0; t < threads; t++) {
            const i = g * threads + t;
            if (ids[2 * i] !== g * 4096 + t || ids[2 * i + 1] !== groups) bad.push(i);
          }
        }
        expect(bad).toEqual([]);
      }
    });

    it("spreads groups over the pool's OS threads (each has its own threadgroup arena)", () => {
      const groups = 64;
      const arenas = (workers: number) => {
        const where = new Uint32Array(2 * groups);
        addon.dispatch(kernel("spin"), [where, new Float32Array(groups)], groups, 1, { cooperative: false, workers });
        return new Set(Array.from({ length: groups }, (_, g) => `${where[2 * g + 1]}:${where[2 * g]}`));
      };
      expect(arenas(1).size).toBe(1);
      if (addon.workers === 1) return;
      // A busy machine may keep the pool's threads off the CPU for a whole dispatch: a few tries.
      let spread = 1;
      for (let i = 0; i < 5 && spread === 1; i++) spread = arenas(addon.workers).size;
      expect(spread).toBeGreaterThan(1);
    });

    it("does nothing for zero groups", () => {
      const y = new Float32Array(4).fill(7);
      addon.dispatch(kernel("axpb"), [new Float32Array(4), y, u32(4)], 0, 64, { cooperative: false });
      expect(Array.from(y)).toEqual([7, 7, 7, 7]);
    });
  });

  describe("cooperative dispatches (threads as fibers)", () => {
    it("simd_sum of float, wrapping int and uint, and simd_shuffle_xor, in every order", () => {
      const n = 4 * 64;
      const xi = new Int32Array(n).map((_, i) => Math.imul(i + 1, 0x9e3779b1));
      const xf = new Float32Array(n).map((_, i) => (i % 13) * 0.25 - 1);
      for (const order of ORDERS) {
        const out = { i: new Int32Array(n), u: new Uint32Array(n), f: new Float32Array(n), s: new Int32Array(n) };
        addon.dispatch(kernel("simd_ops"), [xi, xf, out.i, out.u, out.f, out.s], 4, 64, { cooperative: true, order, seed: 7 });
        for (let i = 0; i < n; i++) {
          const base = i - (i % 32);
          let wide = 0;
          let f = 0;
          for (let l = 0; l < 32; l++) {
            wide += xi[base + l]!;
            f += xf[base + l]!;
          }
          expect([out.i[i], out.u[i], out.f[i], out.s[i]]).toEqual([wide | 0, wide >>> 0, f, xi[base + ((i % 32) ^ 5)]]);
        }
      }
    });

    it("a threadgroup reduction through simd_sum, threadgroup memory and a barrier: row sums in every order", () => {
      const rows = 37;
      const cols = 1000;
      const x = new Float32Array(rows * cols).map((_, i) => ((Math.floor(i / cols) * 7 + (i % cols) * 3) % 11) - 5);
      const want = Array.from({ length: rows }, (_, r) => {
        let s = 0;
        for (let c = 0; c < cols; c++) s += x[r * cols + c]!;
        return s;
      });
      for (const threads of [128, 1024]) {
        for (const order of ORDERS) {
          for (const workers of [1, addon.workers]) {
            const out = new Float32Array(rows);
            addon.dispatch(kernel("row_sum"), [x, out, u32(cols)], rows, threads, { cooperative: true, order, workers, debug: true });
            expect(Array.from(out)).toEqual(want);
          }
        }
      }
    });

    it("a reduction whose barrier was deleted gives different results in forward and reverse order", () => {
      const rows = 8;
      const cols = 512;
      const x = new Float32Array(rows * cols).map((_, i) => (i % 5) - 2 + Math.floor(i / cols));
      const want = Array.from({ length: rows }, (_, r) => {
        let s = 0;
        for (let c = 0; c < cols; c++) s += x[r * cols + c]!;
        return s;
      });
      const run = (entry: string, order: DispatchOrder) => {
        const out = new Float32Array(rows);
        addon.dispatch(kernel(entry), [x, out, u32(cols)], rows, 128, { cooperative: true, order, debug: true });
        return Array.from(out);
      };
      // Forward, simdgroup 0's lane 0 sums the partials before the other simdgroups wrote theirs.
      expect(run("row_sum_racy", "forward")).not.toEqual(run("row_sum_racy", "reverse"));
      for (const order of ORDERS) expect(run("row_sum", order)).toEqual(want);
    });

    it("simd_allgather gives every lane all 32 lanes' pairs", () => {
      const groups = 2;
      const threads = 64;
      const out = new Float32Array(groups * threads * 64);
      addon.dispatch(kernel("gather"), [out], groups, threads, { cooperative: true, order: "shuffle", seed: 3 });
      for (let gid = 0; gid < groups * threads; gid++) {
        const sg = Math.floor((gid % threads) / 32);
        const want = Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? i / 2 : 1000 * sg + (i - 1) / 2));
        expect(Array.from(out.subarray(64 * gid, 64 * gid + 64))).toEqual(want);
      }
    });
  });

  describe("threadgroup memory", () => {
    it("is poisoned with 0xFF before each group in debug dispatches", () => {
      const groups = 50;
      const out = new Uint32Array(2 * groups);
      addon.dispatch(kernel("tg_peek"), [out], groups, 1, { cooperative: false, debug: true });
      expect(out.every((v) => v === 0xffffffff)).toBe(true);
    });

    it("is the OS thread's arena, carried from group to group without debug, its arrays at their own offsets", () => {
      const groups = 50;
      const out = new Uint32Array(2 * groups);
      addon.dispatch(kernel("tg_peek"), [out], groups, 1, { cooperative: false, workers: 1 });
      const oneBits = new Uint32Array(new Float32Array([1]).buffer)[0]!;
      for (let g = 1; g < groups; g++) expect([out[2 * g], out[2 * g + 1]]).toEqual([g - 1, oneBits]);
    });
  });

  describe("diagnostics", () => {
    const run = (entry: string, buffers: (ArrayBuffer | ArrayBufferView)[], groups: number, threads: number, opts: DispatchOptions) => () =>
      addon.dispatch(kernel(entry), buffers, groups, threads, opts);

    it("a barrier reached after a thread of the group returned, or a return while others wait at one", () => {
      const line = lineOf("EARLY_RETURN_BARRIER");
      const out = new Float32Array(64);
      expect(run("early_return", [out, u32(0)], 1, 64, { cooperative: true })).toThrow(
        `kernel early_return, threadgroup 0, thread 1: reached threadgroup_barrier (line ${line}) after 1 thread(s) of its group returned (thread 0 first)`,
      );
      expect(run("early_return", [out, u32(5)], 1, 64, { cooperative: true })).toThrow(
        `kernel early_return, threadgroup 0, thread 5: returned while thread 0 waits at threadgroup_barrier (line ${line})`,
      );
      expectUsable();
    });

    it("barriers at different call sites in one round", () => {
      expect(run("two_sites", [new Float32Array(64)], 1, 64, { cooperative: true })).toThrow(
        `kernel two_sites, threadgroup 0, thread 32: reached threadgroup_barrier at line ${lineOf("TWO_SITES_SECOND")} while thread 0 waits at the one at line ${lineOf("TWO_SITES_FIRST")}: barriers at different call sites in one round`,
      );
      expectUsable();
    });

    it("lanes of a simdgroup meeting at different simd functions", () => {
      expect(run("mixed_simd", [new Int32Array(32)], 1, 32, { cooperative: true })).toThrow(
        "kernel mixed_simd, threadgroup 0, thread 16: called simd_shuffle_xor while lane 0 of its simdgroup waits in simd_sum(int)",
      );
      expectUsable();
    });

    it("a deadlock: some threads at a barrier, the others at a simd function", () => {
      expect(run("stuck", [new Float32Array(32)], 1, 32, { cooperative: true })).toThrow(
        `kernel stuck, threadgroup 0, thread 0: deadlock: 16 thread(s) wait at threadgroup_barrier (line ${lineOf("STUCK_BARRIER")}; thread 0 first), 16 thread(s) wait in simd functions (thread 16 first, in simd_sum(float)), and none of them can go on`,
      );
      expectUsable();
    });

    it("group sizes Metal or the fiber scheduler cannot run", () => {
      const bufs = [new Float32Array(4), new Float32Array(4), u32(4)];
      expect(run("axpb", bufs, 1, 2048, { cooperative: false })).toThrow("kernel axpb: 2048 threads per threadgroup (Metal allows 1 to 1024)");
      expect(run("axpb", bufs, 1, 0, { cooperative: false })).toThrow("kernel axpb: 0 threads per threadgroup");
      expect(run("row_sum", bufs, 1, 48, { cooperative: true })).toThrow(
        "kernel row_sum: a cooperative dispatch runs whole simdgroups, and 48 threads per threadgroup is not a multiple of 32",
      );
      expectUsable();
    });

    it("a barrier or simd function in a dispatch that is not cooperative", () => {
      expect(run("row_sum", [new Float32Array(64), new Float32Array(1), u32(64)], 1, 64, { cooperative: false })).toThrow(
        "kernel row_sum, threadgroup 0, thread 0: simd_sum(float) called in a dispatch that is not cooperative",
      );
      expectUsable();
    });

    it("a write past the end of a guarded buffer: per-thread, range and fiber paths, and a view's end", () => {
      expect(run("write_at", [floats(10, true), u32(4)], 1, 4, { cooperative: false, debug: true })).toThrow(
        "kernel write_at accessed past the end of buffer slot 0 (8 bytes past a 40-byte buffer) in threadgroup 0, thread 3",
      );
      expect(run("write_at_range", [floats(10, true), u32(4)], 1, 4, { cooperative: false, debug: true })).toThrow(
        "kernel write_at_range accessed past the end of buffer slot 0 (8 bytes past a 40-byte buffer) in threadgroup 0 (thread unknown",
      );
      expect(run("write_at_coop", [floats(40, true), u32(42)], 1, 32, { cooperative: true, debug: true })).toThrow(
        "kernel write_at_coop accessed past the end of buffer slot 0 (8 bytes past a 160-byte buffer) in threadgroup 0, thread 7",
      );
      const view = new Float32Array(addon.alloc(40, { guard: true }), 8, 8);
      expect(run("write_at", [view, u32(3)], 1, 4, { cooperative: false, debug: true })).toThrow(
        "kernel write_at accessed past the end of buffer slot 0 (4 bytes past a 32-byte buffer) in threadgroup 0, thread 3",
      );
      // Within bounds the same kernel runs.
      const ok = floats(16, true);
      addon.dispatch(kernel("write_at"), [ok, u32(4)], 1, 4, { cooperative: false, debug: true });
      expect(Array.from(ok)).toEqual(Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? 1 : 0)));
      expectUsable();
    });

    it("a fiber's stack overflow", () => {
      expect(run("deep", [new Float32Array(32), u32(0)], 1, 32, { cooperative: true, debug: true })).toThrow(
        "kernel deep overflowed its 64 KiB fiber stack in threadgroup 0, thread 0",
      );
      expectUsable();
    });

    it("any other memory fault of a debug dispatch", () => {
      expect(run("wild", [], 1, 1, { cooperative: false, debug: true })).toThrow(
        /^kernel wild faulted \(SIG(SEGV|BUS) at address 0x10\) in threadgroup 0, thread 0$/,
      );
      expectUsable();
    });
  });

  describe("memory", () => {
    it("zero copy: a kernel writes into alloc'd memory that views made before the dispatch see", () => {
      const xBuf = addon.alloc(4 * 300);
      const yBuf = addon.alloc(4 * 300);
      const x = new Float32Array(xBuf);
      const y = new Float32Array(yBuf);
      const yBytes = new Uint8Array(yBuf, 4);
      x.set(Array.from({ length: 300 }, (_, i) => i));
      addon.dispatch(kernel("axpb"), [xBuf, yBuf, u32(300)], 5, 64, { cooperative: false });
      expect(Array.from(y)).toEqual(Array.from({ length: 300 }, (_, i) => 2 * i + 1));
      expect(Array.from(yBytes.subarray(0, 4))).toEqual([0, 0, 0x40, 0x40]); // y[1] = 3.0f
      addon.free(xBuf);
      addon.free(yBuf);
    });

    it("alloc gives zeroed memory of the size asked; free detaches it at once; liveBytes counts", () => {
      const before = addon.liveBytes();
      const buf = addon.alloc(1000);
      const guarded = addon.alloc(40, { guard: true });
      expect([buf.byteLength, guarded.byteLength]).toEqual([1000, 40]);
      expect(new Uint8Array(buf).every((b) => b === 0) && new Uint8Array(guarded).every((b) => b === 0)).toBe(true);
      expect(addon.liveBytes()).toBe(before + 1040);
      const view = new Float32Array(buf);
      addon.free(buf);
      expect([buf.byteLength, view.length]).toEqual([0, 0]);
      expect(addon.liveBytes()).toBe(before + 40);
      expect(() => addon.free(buf)).toThrow(/not live memory from alloc/);
      expect(() => addon.free(new ArrayBuffer(8))).toThrow(/not live memory from alloc/);
      expect(() => addon.dispatch(kernel("axpb"), [buf, guarded, u32(0)], 1, 1, { cooperative: false })).toThrow(
        "dispatch: the ArrayBuffer at buffer slot 0 is detached (freed)",
      );
      addon.free(guarded);
      expect(addon.liveBytes()).toBe(before);
      const empty = addon.alloc(0, { guard: true });
      expect([empty.byteLength, addon.liveBytes()]).toEqual([0, before]);
      addon.free(empty);
      expect(() => addon.free(empty)).toThrow(/not live memory from alloc/);
    });

    it("memory nobody freed is released when its ArrayBuffer is collected", async () => {
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as () => void;
      const before = addon.liveBytes();
      (() => {
        for (let i = 0; i < 8; i++) new Float32Array(addon.alloc(1 << 20)).fill(1);
      })();
      expect(addon.liveBytes()).toBe(before + 8 * (1 << 20));
      for (let i = 0; i < 50 && addon.liveBytes() > before; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      // Earlier tests' unfreed buffers (well under 8 MiB) may go too: at most `before` is left.
      expect(addon.liveBytes()).toBeLessThanOrEqual(before);
    });
  });

  describe("libraries and kernels", () => {
    it("errors name the path or the entry", () => {
      expect(() => addon.loadLibrary("/nonexistent/lib.so")).toThrow(/^cannot load kernel library \/nonexistent\/lib\.so: /);
      expect(() => addon.kernel(lib, "nope")).toThrow(`kernel library ${soPath} has no kernel nope (no symbol smelt_host_nope)`);
      const k = kernel("axpb");
      expect(() => addon.kernel(k as unknown as LibraryHandle, "axpb")).toThrow("expected a LibraryHandle from loadLibrary()");
      expect(() => addon.dispatch(lib as unknown as KernelHandle, [], 1, 1, { cooperative: false })).toThrow(
        "expected a KernelHandle from kernel()",
      );
    });

    it("refuses a library of another ABI version", () => {
      const src = join(dir.dir, "old.c");
      const so = join(dir.dir, "old.so");
      writeFileSync(src, "const unsigned smelt_host_abi_version = 1;\nconst void* smelt_host_runtime = 0;\n");
      execFileSync(clang!, ["-x", "c", "-shared", "-fPIC", src, "-o", so]);
      expect(() => addon.loadLibrary(so)).toThrow(`kernel library ${so} was built for host ABI 1; this runtime implements ABI 2`);
    });

    it("an unloaded library's kernels refuse to run", () => {
      const copy = join(dir.dir, "copy.so");
      copyFileSync(soPath, copy);
      const other = addon.loadLibrary(copy);
      const k = addon.kernel(other, "axpb");
      const y = new Float32Array(64);
      addon.dispatch(k, [new Float32Array(64).fill(1), y, u32(64)], 1, 64, { cooperative: false });
      expect(y[63]).toBe(3);
      addon.unloadLibrary(other);
      expect(() => addon.dispatch(k, [new Float32Array(64), y, u32(64)], 1, 64, { cooperative: false })).toThrow(
        "kernel axpb: its library was unloaded",
      );
      expect(() => addon.kernel(other, "axpb")).toThrow(`kernel axpb: library ${copy} was unloaded`);
      expectUsable();
    });
  });
});
