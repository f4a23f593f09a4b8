// Compiling emitted MSL as C++ with clang-19 and smelt_msl_host.h, and running it on data with
// a small test driver (support/driver.cpp) to compare with the kernel-IR interpreter.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
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

export const HEADER = fileURLToPath(new URL("../../../native/include/smelt_msl_host.h", import.meta.url));
const DRIVER = fileURLToPath(new URL("./driver.cpp", import.meta.url));

/** The flags the host device compiles with, warnings that matter as errors. */
export const CHECK_FLAGS = [
  "-x",
  "c++",
  "-std=c++17",
  "-nostdinc++",
  "-fno-exceptions",
  "-fno-rtti",
  "-Wall",
  "-Wextra",
  "-Wno-unused-parameter",
  "-Werror=unknown-attributes",
  "-Werror=double-promotion",
  "-Werror=implicit-float-conversion",
  "-Werror=vla-extension",
  "-include",
  HEADER,
];

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

function tempDir(): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), "smelt-msl-"));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CompileResult {
  readonly ok: boolean;
  readonly stderr: string;
}

/** `clang -fsyntax-only` of MSL text with the host header; never throws on a compile error. */
export async function syntaxCheck(clang: string, source: string, extra: readonly string[] = []): Promise<CompileResult> {
  const t = tempDir();
  try {
    const file = join(t.dir, "lib.metal");
    writeFileSync(file, source);
    await run(clang, [...CHECK_FLAGS, "-Werror", ...extra, "-fsyntax-only", file], { maxBuffer: 1 << 24 });
    return { ok: true, stderr: "" };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: string }).stderr ?? e) };
  } finally {
    t.done();
  }
}

export interface RunOptions {
  /** Resume fibers last to first. */
  readonly reverse?: boolean;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

function toBytes(dtype: DType, values: ArrayLike<number>): Uint8Array {
  const host = numbersToHost(dtype, values);
  return new Uint8Array(host.buffer, host.byteOffset, host.byteLength);
}

function fromBytes(dtype: DType, bytes: Buffer, n: number): Float64Array {
  const copy = new Uint8Array(bytes).buffer;
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

/**
 * Emits the kernels of every case into one library, runs each case's kernels in order on its
 * own buffers (poisoned with 0xFF bytes first, which a float result shows as NaN) in one
 * executable, and returns each case's results.
 */
export async function runOnHost(
  clang: string,
  cases: readonly HostCase[],
  opts: RunOptions & EmitOptions = {},
): Promise<Tensor[][]> {
  const kernels = cases.flatMap((c, i) => c.program.kernels.map((k) => ({ ...k, name: `case${i}_${k.name}` })));
  const lib = emitProgram({ name: "cases", buffers: [], params: [], results: [], kernels, report: [] }, opts);
  const t = tempDir();
  try {
    const main: string[] = [
      "#include <string.h>",
      "struct smelt_thread;",
      "typedef void (*smelt_kernel)(void* const*, const smelt_thread*);",
      "void smelt_run(smelt_kernel, void* const*, unsigned, unsigned, int, int);",
      "void smelt_fill_hex(unsigned char*, const char*);",
      "void smelt_print_hex(const char*, const unsigned char*, unsigned long);",
    ];
    for (const e of new Set(lib.kernels.map((k) => k.hostEntry))) {
      main.push(`extern "C" void ${e}(void* const*, const smelt_thread*);`);
    }
    const body: string[] = [];
    let next = 0;
    const layouts = cases.map((c, ci) => {
      const bufs = c.program.buffers.map((b, i) => {
        // A 16-bit buffer taking add-stores is updated a 32-bit word at a time.
        const bytes = roundUp4(Math.max(1, size(b.type.shape) * itemsize(b.type.dtype)));
        return { ...b, c: `c${ci}_b${i}`, bytes };
      });
      const byName = new Map(bufs.map((b) => [b.name, b]));
      for (const b of bufs) {
        main.push(`static unsigned char ${b.c}[${b.bytes}] __attribute__((aligned(16)));`);
        body.push(`  memset(${b.c}, 0xFF, sizeof ${b.c});`);
        if (b.kind === "const" && b.data) body.push(`  smelt_fill_hex(${b.c}, "${hex(toBytes(b.type.dtype, b.data))}");`);
      }
      c.program.params.forEach((name, i) => {
        const b = byName.get(name)!;
        body.push(`  smelt_fill_hex(${b.c}, "${hex(toBytes(b.type.dtype, c.args[i]!.data))}");`);
      });
      for (const k of lib.kernels.slice(next, next + c.program.kernels.length)) {
        const slots = [...k.buffers].sort((a, b) => a.index - b.index).map((b) => byName.get(b.name)!.c);
        const meta = k.metaLayout.fields.map((f) => `${f.value}u`).join(", ");
        body.push(
          "  {",
          `    static unsigned meta[] = {${meta}};`,
          `    void* slots[] = {${[...slots, "meta"].join(", ")}};`,
          `    smelt_run(${k.hostEntry}, slots, ${k.grid[0]}u, ${k.threadsPerGroup}u, ${k.cooperative ? 1 : 0}, ${opts.reverse ? 1 : 0});`,
          "  }",
        );
      }
      next += c.program.kernels.length;
      c.program.results.forEach((name, i) => {
        const b = byName.get(name)!;
        body.push(`  smelt_print_hex("c${ci}_r${i}", ${b.c}, ${size(b.type.shape) * itemsize(b.type.dtype)});`);
      });
      return byName;
    });
    main.push("int main() {", ...body, "  return 0;", "}");
    const files = { lib: join(t.dir, "lib.metal"), main: join(t.dir, "main.cpp"), exe: join(t.dir, "run") };
    writeFileSync(files.lib, lib.source);
    writeFileSync(files.main, main.join("\n"));
    const objects = [join(t.dir, "lib.o"), join(t.dir, "driver.o"), join(t.dir, "main.o")];
    const plain = ["-x", "c++", "-O1", "-fno-exceptions", "-fno-rtti", "-c"];
    await Promise.all([
      run(clang, [...CHECK_FLAGS, "-Werror", "-O1", "-c", files.lib, "-o", objects[0]!], { maxBuffer: 1 << 24 }),
      run(clang, [...plain, DRIVER, "-o", objects[1]!]),
      run(clang, [...plain, files.main, "-o", objects[2]!]),
    ]);
    // compiler-rt supplies the half and bfloat conversions (libgcc 12 has no bfloat ones).
    await run(clang, [...objects, "-rtlib=compiler-rt", "-lm", "-o", files.exe]);
    const { stdout } = await run(files.exe, [], { maxBuffer: 1 << 26 });
    const lines = new Map(
      stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" ") as [string, string]),
    );
    return cases.map((c, ci) =>
      c.program.results.map((name, i) => {
        const b = layouts[ci]!.get(name)!;
        const n = size(b.type.shape);
        const bytes = Buffer.from(lines.get(`c${ci}_r${i}`) ?? "", "hex");
        return { type: b.type, data: fromBytes(b.type.dtype, bytes, n) };
      }),
    );
  } finally {
    t.done();
  }
}

const roundUp4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Reads a test program from test/passes/programs. */
export function programText(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../passes/programs/${name}.smir`, import.meta.url)), "utf8");
}
