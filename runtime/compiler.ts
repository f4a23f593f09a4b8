// Building kernel libraries for the host device: the system's clang compiles smelt's MSL as C++
// (with the MSL host header) into a shared object, cached on disk per user, keyed by a hash of
// everything that affects the binary. The compiler runs with execFile, never through a shell.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, homedir, userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CompileError, DeviceError } from "../src/ir/errors.js";

export const HOST_HEADER = fileURLToPath(new URL("../native/include/smelt_msl_host.h", import.meta.url));

/** Warnings that mean the MSL is not what Metal accepts are errors; the rest stay warnings. */
export const MSL_CHECK_FLAGS: readonly string[] = [
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
  HOST_HEADER,
];

/** -fno-math-errno lets sqrt and friends vectorize; compiler-rt has the half/bfloat conversions. */
const BUILD_FLAGS: readonly string[] = ["-O2", "-fPIC", "-shared", "-fno-math-errno", "-march=native", "-rtlib=compiler-rt"];

export interface Compiler {
  readonly path: string;
  readonly version: string;
}

let found: Compiler | null | undefined;
let problem: string | undefined;

/** clang 17 or later (SMELT_CXX names one), or undefined with the reason in compilerProblem(). */
export function findCompiler(): Compiler | undefined {
  if (found !== undefined) return found ?? undefined;
  const env = process.env["SMELT_CXX"];
  const candidates = env ? [env] : ["clang-19", "clang-20", "clang-21", "clang-22", "clang-18", "clang-17", "clang"];
  const tried: string[] = [];
  for (const c of candidates) {
    let version: string;
    try {
      version = execFileSync(c, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      tried.push(`${c} (not found)`);
      continue;
    }
    const major = Number(/clang version (\d+)/.exec(version)?.[1] ?? 0);
    if (major < 17) {
      tried.push(`${c} (clang ${major || "?"}: needs 17 or later for arithmetic half and bfloat)`);
      continue;
    }
    found = { path: c, version: version.split("\n")[0]!.trim() };
    return found;
  }
  found = null;
  problem = `no C++ compiler for kernels: tried ${tried.join(", ")}`;
  return undefined;
}

export function compilerProblem(): string | undefined {
  findCompiler();
  return problem;
}

/** The per-user cache directory, created with mode 0700 (and refused if others can write it). */
export function cacheDir(): string {
  const base =
    process.env["SMELT_CACHE_DIR"] ??
    join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "smelt", "kernels");
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const st = statSync(base);
  if (st.uid !== userInfo().uid) throw new DeviceError(`kernel cache ${base} belongs to another user`);
  if ((st.mode & 0o077) !== 0) chmodSync(base, 0o700);
  return base;
}

let headerText: string | undefined;

/** What a library's binary depends on besides its source. */
function buildKey(compiler: Compiler, source: string): string {
  headerText ??= readFileSync(HOST_HEADER, "utf8");
  return createHash("sha256")
    .update(compiler.path)
    .update("\0")
    .update(compiler.version)
    .update("\0")
    .update(BUILD_FLAGS.join(" "))
    .update("\0")
    .update(cpus()[0]?.model ?? "")
    .update("\0")
    .update(headerText)
    .update("\0")
    .update(source)
    .digest("hex")
    .slice(0, 32);
}

export interface BuiltLibrary {
  readonly path: string;
  readonly key: string;
  /** Built now (false: found in the cache). */
  readonly built: boolean;
}

/**
 * The shared object for `source` (host-ready MSL), from the cache or built now. A compile error
 * is a CompileError carrying the compiler's messages, whose line numbers are `source`'s.
 */
export function buildLibrary(
  source: string,
  rejected: (stderr: string) => Error = (s) => new CompileError(`the host compiler rejected a kernel library:\n${s}`),
): BuiltLibrary {
  const compiler = findCompiler();
  if (!compiler) throw new DeviceError(compilerProblem() ?? "no C++ compiler");
  const key = buildKey(compiler, source);
  const dir = cacheDir();
  const path = join(dir, `${key}.so`);
  if (existsSync(path)) return { path, key, built: false };
  const tmp = join(dir, `${key}.${process.pid}.tmp`);
  const src = `${tmp}.metal`;
  writeFileSync(src, source, { mode: 0o600 });
  try {
    execFileSync(compiler.path, [...MSL_CHECK_FLAGS, ...BUILD_FLAGS, src, "-o", `${tmp}.so`], {
      stdio: ["ignore", "ignore", "pipe"],
      maxBuffer: 1 << 24,
    });
    renameSync(`${tmp}.so`, path);
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer | string }).stderr ?? e);
    throw rejected(stderr);
  } finally {
    rmSync(src, { force: true });
    rmSync(`${tmp}.so`, { force: true });
  }
  return { path, key, built: true };
}
