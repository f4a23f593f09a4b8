// The host device's native runtime (native/host, built by `npm install` into
// build/Release/smelt_host.node): its typed interface, its loader, and the source rewrite that
// MSL needs before it compiles for the host (native/include/smelt_msl_host.h, "ABI").
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SCALAR_BYTES } from "../src/codegen-msl/validate.js";

export type LibraryHandle = { readonly __library: unique symbol };
export type KernelHandle = { readonly __kernel: unique symbol };
export type DispatchOrder = "forward" | "reverse" | "shuffle";

export interface DispatchOptions {
  /** Threads meet barriers / simd functions: run each threadgroup's threads as fibers. */
  readonly cooperative: boolean;
  /** Order in which the scheduler resumes simdgroups (and lanes) each pass; default forward. */
  readonly order?: DispatchOrder;
  readonly seed?: number; // for "shuffle"
  /** OS threads to use (default: all the pool has). 1 = run on the calling thread only. */
  readonly workers?: number;
  /** Debug checks: poison threadgroup memory with 0xFF before each group; catch faults on guard pages. */
  readonly debug?: boolean;
}

export interface HostAddon {
  readonly abi: number; // 2
  /** dlopen (RTLD_NOW|RTLD_LOCAL); checks smelt_host_abi_version; stores the runtime table into smelt_host_runtime. */
  loadLibrary(path: string): LibraryHandle;
  unloadLibrary(lib: LibraryHandle): void;
  /** smelt_host_<entry> and, if the library has it, smelt_host_range_<entry>; throws naming the entry if missing. */
  kernel(lib: LibraryHandle, entry: string): KernelHandle;
  /**
   * One dispatch, synchronous. buffers[i] is bound at slot i: its data pointer (ArrayBuffer start,
   * or a view's start including byteOffset). Throws an Error whose message names the entry, the
   * threadgroup and thread, and what went wrong.
   */
  dispatch(
    k: KernelHandle,
    buffers: readonly (ArrayBuffer | ArrayBufferView)[],
    groups: number,
    threadsPerGroup: number,
    opts: DispatchOptions,
  ): void;
  /** Native memory as an external ArrayBuffer (zeroed). guard: placed flush against an unmapped page. */
  alloc(bytes: number, opts?: { guard?: boolean }): ArrayBuffer;
  /** Releases an alloc'd buffer now: detaches the ArrayBuffer (views become empty) and frees it. */
  free(buf: ArrayBuffer): void;
  /** Bytes currently held by alloc'd buffers not yet freed (freed by free() or, as a safety net, GC). */
  liveBytes(): number;
  /** Worker threads in the pool (including the caller). */
  readonly workers: number;
}

/** The ABI this loader speaks (SMELT_HOST_ABI in smelt_msl_host.h). */
export const HOST_ABI = 2;

/** The nearest directory above this file holding a package.json (the source tree or the installed package). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return dirname(fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

let loaded: { addon: HostAddon | undefined; problem: string | undefined } | undefined;

function load(): { addon: HostAddon | undefined; problem: string | undefined } {
  const path = join(packageRoot(), "build", "Release", "smelt_host.node");
  if (!existsSync(path)) {
    const why = "the install did not build it: see the warning npm printed, or run `node native/host/build.mjs`";
    return { addon: undefined, problem: `${path} is missing (${why})` };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as HostAddon;
    if (addon.abi !== HOST_ABI) {
      const why = `implements host ABI ${addon.abi}, this smelt needs ${HOST_ABI}`;
      return { addon: undefined, problem: `${path} ${why}: rebuild it (node native/host/build.mjs)` };
    }
    return { addon, problem: undefined };
  } catch (e) {
    return { addon: undefined, problem: `${path} failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The addon, loaded once; undefined when it is missing or fails to load (hostAddonProblem() says why). */
export function loadHostAddon(): HostAddon | undefined {
  loaded ??= load();
  return loaded.addon;
}

/** Why loadHostAddon() returns undefined (undefined when it does not). */
export function hostAddonProblem(): string | undefined {
  loaded ??= load();
  return loaded.problem;
}

// ------------------------------------------------------------------ hostSource

/** Threadgroup memory the host runtime gives each threadgroup (Metal's minimum guarantee). */
export const HOST_THREADGROUP_BYTES = 32768;


/** Bytes of an MSL scalar or 2/3/4-vector (a 3-vector takes the room of a 4-vector), or undefined. */
function elementBytes(type: string): number | undefined {
  const m = /^([a-z_]+?)([234])?$/.exec(type);
  const scalar = m ? SCALAR_BYTES[m[1]!] : undefined;
  if (scalar === undefined || (m![2] !== undefined && m![1]!.startsWith("atomic"))) return undefined;
  const n = m![2] === undefined ? 1 : Number(m![2]);
  return scalar * (n === 3 ? 4 : n);
}

const KERNEL_START = /\b(?:kernel|\[\[\s*kernel\s*\]\])\s+void\s+([A-Za-z_]\w*)\s*\(/;
const THREADGROUP_DECL = /^(\s*)threadgroup\s+([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*((?:\[[^\]]*\]\s*)*);\s*(\/\/.*)?$/;
/** A declaration of a threadgroup object (not a pointer): the form the rewrite must understand. */
const THREADGROUP_OBJECT = /^\s*threadgroup\s+(?:const\s+)?[A-Za-z_]\w*\s+[A-Za-z_]\w*\s*[[;=,]/;

/** A threadgroup declaration placed at `offset` in its kernel's arena: the line that replaces it, and where the next may start. */
function place(line: string, where: string, kernel: string | undefined, offset: number): { text: string; end: number } {
  const m = THREADGROUP_DECL.exec(line);
  if (!m) {
    throw new Error(`${where}: cannot place '${line.trim()}' in threadgroup memory (one name, no initializer: threadgroup T name[N];)`);
  }
  const [, indent, type, name, dimsText, comment] = m;
  if (kernel === undefined) throw new Error(`${where}: threadgroup ${name} is declared outside a kernel`);
  const elem = elementBytes(type!);
  if (elem === undefined) throw new Error(`${where}: threadgroup ${name} has element type ${type}, of unknown size`);
  const dims = [...dimsText!.matchAll(/\[([^\]]*)\]/g)].map((d) => d[1]!.trim());
  const bad = dims.find((d) => !/^\d+u?$/i.test(d));
  if (bad !== undefined) throw new Error(`${where}: threadgroup ${name} has dimension '${bad}', not an integer literal`);
  const bytes = dims.reduce((n, d) => n * Number.parseInt(d, 10), elem);
  const at = Math.ceil(offset / 16) * 16;
  if (at + bytes > HOST_THREADGROUP_BYTES) {
    throw new Error(
      `${where}: kernel ${kernel} declares ${at + bytes} bytes of threadgroup memory with ${name}; ` +
        `the host gives a threadgroup ${HOST_THREADGROUP_BYTES}`,
    );
  }
  const dimsOut = dims.map((d) => `[${d}]`).join("");
  const text = `${indent}SMELT_THREADGROUP(${type}, ${name}, ${dimsOut}, ${at}, ${bytes});${comment ? ` ${comment}` : ""}`;
  return { text, end: at + bytes };
}

/**
 * Rewrites each kernel-scope `threadgroup T name[N]...;` of MSL text into a reference into the
 * host runtime's threadgroup arena (`SMELT_THREADGROUP(T, name, [N], offset, bytes);`), one line
 * for one line so compiler messages keep their line numbers. Offsets are 16-byte aligned and
 * start at 0 in each kernel. Throws when a kernel declares more than 32 KiB, or a threadgroup
 * declaration is of a form the host cannot place (outside a kernel, an initializer, several
 * names, a dimension that is not an integer literal, an element type of unknown size).
 */
export function hostSource(msl: string): string {
  let kernel: string | undefined;
  let offset = 0;
  return msl
    .split("\n")
    .map((line, i) => {
      const code = line.replace(/\/\/.*$/, "");
      const start = KERNEL_START.exec(code);
      if (start) {
        kernel = start[1]!;
        offset = 0;
      }
      if (!THREADGROUP_OBJECT.test(code)) return line;
      const placed = place(line, `hostSource: line ${i + 1}`, kernel, offset);
      offset = placed.end;
      return placed.text;
    })
    .join("\n");
}
