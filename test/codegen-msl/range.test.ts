// Range trampolines: a barrier-free kernel's loop over the threads of a range of groups, in the
// library's own translation unit. The compiler vectorizes that loop for an elementwise chain, and
// ranges of many groups at once (as the host runtime hands them to its workers, outside debug
// mode) compute what the kernel-IR interpreter computes.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { emitProgram } from "../../src/codegen-msl/index.js";
import {
  type DType,
  hostToNumbers,
  interpretProgram,
  itemsize,
  numbersToHost,
  parseFunc,
  type Program,
  size,
  type Tensor,
  tensor,
} from "../../src/ir/index.js";
import { fuse } from "../../src/passes/fuse.js";
import { buildHostLibrary, CHECK_FLAGS, findClang, hostAddon, tempDir } from "./support/host.js";

const run = promisify(execFile);
const clang = findClang();
if (!clang) console.log("test/codegen-msl/range.test.ts: skipped, clang-19 not found (CI installs it)");

const chain = (n: number) => `func @chain(%x: f32[${n}]) -> (f32[${n}]) {
  %two = constant {dtype = f32, shape = [], data = [2]} : f32[]
  %twos = broadcast %two {shape = [${n}]} : f32[${n}]
  %one = constant {dtype = f32, shape = [], data = [1]} : f32[]
  %ones = broadcast %one {shape = [${n}]} : f32[${n}]
  %0 = mul %x, %twos : f32[${n}]
  %1 = add %0, %ones : f32[${n}]
  return %1
}`;

describe.skipIf(!clang)("range trampolines", () => {
  it("clang vectorizes the loop over threads of a plain elementwise chain", async () => {
    const lib = emitProgram(fuse(parseFunc(chain(4096))), { cooperative: false });
    const [k] = lib.kernels;
    expect(k!.variant).toBe("elementwise.contiguous");
    const lines = lib.source.split("\n");
    const start = lines.findIndex((l) => l.startsWith(`extern "C" void ${k!.hostRangeEntry}(`));
    const loop = lines.findIndex((l, i) => i > start && l.includes("for (; t < split; t++)")) + 1;
    expect(loop).toBeGreaterThan(start + 1);
    const t = tempDir();
    try {
      const file = join(t.dir, "lib.metal");
      writeFileSync(file, lib.source);
      const flags = [...CHECK_FLAGS, "-O2", "-fno-math-errno", "-Rpass=loop-vectorize", "-c", file, "-o", join(t.dir, "lib.o")];
      const { stderr } = await run(clang!, flags, { maxBuffer: 1 << 24 });
      expect(stderr).toMatch(new RegExp(`lib\\.metal:${loop}:\\d+: remark: vectorized loop`));
    } finally {
      t.done();
    }
  });

  /** Runs each program's kernels through the runtime without debug checks (whole ranges per worker). */
  function runRanges(lib: ReturnType<typeof emitProgram>, p: Program, so: string, args: readonly Tensor[]): Tensor[] {
    const addon = hostAddon();
    const handle = addon.loadLibrary(so);
    const memory = new Map(p.buffers.map((b) => [b.name, addon.alloc(Math.max(4, size(b.type.shape) * itemsize(b.type.dtype)))]));
    try {
      const fill = (name: string, d: DType, v: ArrayLike<number>) => {
        const host = numbersToHost(d, v);
        new Uint8Array(memory.get(name)!).set(new Uint8Array(host.buffer, host.byteOffset, host.byteLength));
      };
      for (const b of p.buffers) new Uint8Array(memory.get(b.name)!).fill(0xff);
      for (const b of p.buffers) if (b.kind === "const" && b.data) fill(b.name, b.type.dtype, b.data);
      p.params.forEach((name, i) => fill(name, args[i]!.type.dtype, args[i]!.data));
      for (const k of lib.kernels) {
        const slots = [...k.buffers].sort((a, b) => a.index - b.index).map((b) => memory.get(b.name)!);
        const meta = new Uint32Array(k.metaLayout.fields.map((f) => f.value));
        addon.dispatch(addon.kernel(handle, k.entry), [...slots, meta], k.grid[0], k.threadsPerGroup, { cooperative: k.cooperative, workers: 2 });
      }
      return p.results.map((name) => {
        const b = p.buffers.find((x) => x.name === name)!;
        const n = size(b.type.shape);
        const bytes = memory.get(name)!.slice(0);
        const view = b.type.dtype === "float32" ? new Float32Array(bytes, 0, n) : new Int32Array(bytes, 0, n);
        return { type: b.type, data: hostToNumbers(b.type.dtype, view) };
      });
    } finally {
      for (const m of memory.values()) addon.free(m);
      addon.unloadLibrary(handle);
    }
  }

  it("ranges of many groups compute what the interpreter computes", async () => {
    const texts = [
      // Contiguous: 100003 points, not a multiple of the groups' threads.
      chain(100003),
      // Strided: a transposed read.
      `func @t(%x: f32[300,257]) -> (f32[257,300]) {\n  %0 = transpose %x {perm = [1, 0]} : f32[257,300]\n  %1 = exp %0 : f32[257,300]\n  return %1\n}`,
      // Serial row reductions.
      `func @s(%x: f32[700,33]) -> (f32[700]) {\n  %0 = reduce_max %x {axes = [1]} : f32[700]\n  return %0\n}`,
      // Blocked and naive matmuls, float and int.
      `func @m(%a: f32[200,70], %b: f32[70,90]) -> (f32[200,90]) {\n  %0 = matmul %a, %b : f32[200,90]\n  return %0\n}`,
      `func @i(%a: i32[130,9], %b: i32[9,70]) -> (i32[130,70]) {\n  %0 = matmul %a, %b : i32[130,70]\n  return %0\n}`,
    ];
    const t = tempDir();
    try {
      for (const [i, text] of texts.entries()) {
        const p = fuse(parseFunc(text));
        const args = p.params.map((name) => {
          const ty = p.buffers.find((b) => b.name === name)!.type;
          const n = size(ty.shape);
          return tensor(ty.dtype, ty.shape, Array.from({ length: n }, (_, j) => (ty.dtype === "int32" ? (j % 7) - 3 : Math.sin(j * 0.37))));
        });
        const want = interpretProgram(p, args);
        // Cooperative emission gives elementwise kernels runs of 4 points per thread (a partial last run).
        for (const [matmul, cooperative] of [["blocked", false], ["naive", false], ["naive", true]] as const) {
          // Small blocks, so that a matmul has many groups too.
          const lib = emitProgram(p, { cooperative, matmul, matmulBlock: { rows: 8, cols: 8 } });
          expect(lib.kernels.every((k) => k.grid[0] > 2), `${text}: several groups per worker`).toBe(true);
          const so = await buildHostLibrary(clang!, lib.source, t.dir, `lib${i}_${matmul}_${cooperative}`);
          const got = runRanges(lib, p, so, args);
          // The host rounds as the interpreter does, except the libm-free exp (a few ulp).
          const tol = text.includes("exp") ? 6e-7 : 0;
          got.forEach((g, r) => {
            const bad = want[r]!.data.findIndex((x, j) => !(Math.abs(x - g.data[j]!) <= tol * Math.abs(x)));
            expect(bad, `${text} (${matmul}, cooperative ${cooperative}): element ${bad}`).toBe(-1);
          });
        }
      }
    } finally {
      t.done();
    }
  });
});
