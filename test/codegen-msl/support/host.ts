// Compiling emitted MSL as C++ with clang-19 and smelt_msl_host.h, and running it on data
// through the host device's native runtime (build/Release/smelt_host.node) to compare with the
// kernel-IR interpreter.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HOST_HEADER, MSL_CHECK_FLAGS } from "../../../runtime/compiler.js";
import { type DispatchOrder, type HostAddon, hostAddonProblem, hostSource, loadHostAddon } from "../../../runtime/native.js";
import { type EmitOptions, emitProgram } from "../../../src/codegen-msl/index.js";
import {
  type DType,
  hostToNumbers,
  itemsize,
  numbersToHost,
  type Program,
  size,
  type Tensor,
} from "../../../src/ir/index.js";

const run = promisify(execFile);

export const HEADER = HOST_HEADER;

/** The flags the host device compiles with, warnings that matter as errors. */
export const CHECK_FLAGS = MSL_CHECK_FLAGS;

/** What makes a loadable library of it (compiler-rt has the half and bfloat conversions). */
export const LIBRARY_FLAGS = ["-O2", "-fPIC", "-shared", "-fno-math-errno", "-rtlib=compiler-rt", "-lm"];

/** clang-19 if installed (CI installs it), else undefined. */
export function findClang(): string | undefined {
  for (const c of ["clang-19", "/usr/bin/clang-19", "/usr/lib/llvm-19/bin/clang"]) {
    try {
      execFileSync(c, ["--version"], { stdio: "ignore" });
      return c;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/** The native runtime, or an Error saying why it is not there. */
export function hostAddon(): HostAddon {
  const addon = loadHostAddon();
  if (!addon) throw new Error(`the host runtime addon is unavailable: ${hostAddonProblem()}`);
  return addon;
}

export function tempDir(): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), "smelt-msl-"));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CompileResult {
  readonly ok: boolean;
  readonly stderr: string;
}

/** `clang -fsyntax-only` of MSL text (rewritten by hostSource) with the host header; never throws on a compile error. */
export async function syntaxCheck(clang: string, source: string, extra: readonly string[] = []): Promise<CompileResult> {
  const t = tempDir();
  try {
    const file = join(t.dir, "lib.metal");
    writeFileSync(file, hostSource(source));
    await run(clang, [...CHECK_FLAGS, "-Werror", ...extra, "-fsyntax-only", file], { maxBuffer: 1 << 24 });
    return { ok: true, stderr: "" };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: string }).stderr ?? e) };
  } finally {
    t.done();
  }
}

/** Builds MSL text (rewritten by hostSource) into `dir`/`name`.so; a compile error rejects with clang's messages. */
export async function buildHostLibrary(clang: string, source: string, dir: string, name = "lib"): Promise<string> {
  const file = join(dir, `${name}.metal`);
  const so = join(dir, `${name}.so`);
  writeFileSync(file, hostSource(source));
  try {
    await run(clang, [...CHECK_FLAGS, "-Werror", ...LIBRARY_FLAGS, file, "-o", so], { maxBuffer: 1 << 24 });
  } catch (e) {
    throw new Error(`clang rejected ${file}:\n${String((e as { stderr?: string }).stderr ?? e).slice(0, 4000)}`);
  }
  return so;
}

export interface RunOptions {
  /** Resume fibers last to first (order "reverse"). */
  readonly reverse?: boolean;
  /** The scheduler's order (overrides `reverse`). */
  readonly order?: DispatchOrder;
}

function toBytes(dtype: DType, values: ArrayLike<number>): Uint8Array {
  const host = numbersToHost(dtype, values);
  return new Uint8Array(host.buffer, host.byteOffset, host.byteLength);
}

function fromBytes(dtype: DType, bytes: ArrayBuffer, n: number): Float64Array {
  const copy = bytes.slice(0);
  const view =
    dtype === "float32"
      ? new Float32Array(copy, 0, n)
      : dtype === "int32"
        ? new Int32Array(copy, 0, n)
        : dtype === "uint32"
          ? new Uint32Array(copy, 0, n)
          : dtype === "bool"
            ? new Uint8Array(copy, 0, n)
            : new Uint16Array(copy, 0, n);
  return hostToNumbers(dtype, view);
}

export interface HostCase {
  readonly program: Program;
  readonly args: readonly Tensor[];
}

const roundUp4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * Emits the kernels of every case into one library, runs each case's kernels in order on its
 * own buffers and returns each case's results. Buffers end flush against a guard page and start
 * poisoned with 0xFF bytes (which a float result shows as NaN); dispatches run in debug mode, so
 * threadgroup memory is poisoned too and a write past a buffer is an error naming it.
 */
export async function runOnHost(
  clang: string,
  cases: readonly HostCase[],
  opts: RunOptions & EmitOptions = {},
): Promise<Tensor[][]> {
  const addon = hostAddon();
  const kernels = cases.flatMap((c, i) => c.program.kernels.map((k) => ({ ...k, name: `case${i}_${k.name}` })));
  const lib = emitProgram({ name: "cases", buffers: [], params: [], results: [], kernels, report: [] }, opts);
  const order: DispatchOrder = opts.order ?? (opts.reverse ? "reverse" : "forward");
  const t = tempDir();
  try {
    const handle = addon.loadLibrary(await buildHostLibrary(clang, lib.source, t.dir));
    try {
      let next = 0;
      return cases.map((c) => {
        const emitted = lib.kernels.slice(next, next + c.program.kernels.length);
        next += c.program.kernels.length;
        return runCase(addon, handle, c, emitted, order);
      });
    } finally {
      addon.unloadLibrary(handle);
    }
  } finally {
    t.done();
  }
}

function runCase(
  addon: HostAddon,
  handle: ReturnType<HostAddon["loadLibrary"]>,
  c: HostCase,
  emitted: ReturnType<typeof emitProgram>["kernels"],
  order: DispatchOrder,
): Tensor[] {
  // A 16-bit buffer taking add-stores is updated a 32-bit word at a time.
  const memory = new Map(
    c.program.buffers.map((b) => [b.name, addon.alloc(roundUp4(Math.max(1, size(b.type.shape) * itemsize(b.type.dtype))), { guard: true })]),
  );
  try {
    for (const b of c.program.buffers) new Uint8Array(memory.get(b.name)!).fill(0xff);
    const fill = (name: string, dtype: DType, values: ArrayLike<number>) => new Uint8Array(memory.get(name)!).set(toBytes(dtype, values));
    for (const b of c.program.buffers) if (b.kind === "const" && b.data) fill(b.name, b.type.dtype, b.data);
    const byName = new Map(c.program.buffers.map((b) => [b.name, b]));
    c.program.params.forEach((name, i) => fill(name, byName.get(name)!.type.dtype, c.args[i]!.data));
    for (const k of emitted) {
      const slots: ArrayBuffer[] = [...k.buffers].sort((a, b) => a.index - b.index).map((b) => memory.get(b.name)!);
      const meta = new Uint32Array(Math.max(1, k.metaLayout.bytes / 4));
      for (const f of k.metaLayout.fields) meta[f.offset / 4] = f.value;
      addon.dispatch(addon.kernel(handle, k.entry), [...slots, meta], k.grid[0], k.threadsPerGroup, {
        cooperative: k.cooperative,
        order,
        debug: true,
      });
    }
    return c.program.results.map((name) => {
      const b = byName.get(name)!;
      return { type: b.type, data: fromBytes(b.type.dtype, memory.get(name)!, size(b.type.shape)) };
    });
  } finally {
    for (const m of memory.values()) addon.free(m);
  }
}

/** Reads a test program from test/passes/programs. */
export function programText(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../passes/programs/${name}.smir`, import.meta.url)), "utf8");
}
