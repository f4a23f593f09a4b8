// The host device: the MSL smelt emits, compiled as C++ with the MSL host header, loaded into
// this process, and run over the grid on a thread pool (threads that meet barriers or simd
// functions as fibers). Buffers are native memory handed to JavaScript as ArrayBuffers, so a
// kernel's output is what `dataSync()` views, without a copy.
import { type EmitOptions, type EmittedProgram, emitProgram } from "../src/codegen-msl/index.js";
import { numbersToHost } from "../src/ir/dtype.js";
import { DeviceError, SmeltError } from "../src/ir/errors.js";
import { size } from "../src/ir/shape.js";
import type { TensorType } from "../src/ir/types.js";
import type { PlannedProgram } from "../src/passes/plan.js";
import { BufferCache, cachedStorage } from "./buffer-cache.js";
import { buildLibrary, compilerProblem, findCompiler } from "./compiler.js";
import { bufferOver, copyTo, type Device, DeviceBuffer, type Executable } from "./device.js";
import { type Binding, type DispatchPlan, dispatchList } from "./dispatch.js";
import { addCacheSource, reserve, Storage, typeBytes } from "./memory.js";
import { mslCompileError, opsOf } from "./msl-errors.js";
import {
  type DispatchOrder,
  type HostAddon,
  hostAddonProblem,
  hostSource,
  type KernelHandle,
  type LibraryHandle,
  loadHostAddon,
} from "./native.js";

/**
 * Which kernels run. "host": the CPU's fast variants (reductions one thread per output,
 * register-blocked matmuls, no barriers). "metal": the very kernels Metal runs (threadgroup
 * reductions, simdgroup_matrix matmuls), with their threads as fibers.
 */
export type HostVariants = "host" | "metal";

export interface HostOptions {
  readonly variants?: HostVariants;
  /** Order in which fibers resume (to catch a missing barrier). */
  readonly order?: DispatchOrder;
  readonly seed?: number;
  /** Poisoned threadgroup memory and guard pages after every buffer. */
  readonly debug?: boolean;
  readonly workers?: number;
}

/** Why the host device cannot run here, or undefined when it can. */
export function hostProblem(): string | undefined {
  return hostAddonProblem() ?? compilerProblem();
}

export const emitOptionsFor = (variants: HostVariants): EmitOptions =>
  variants === "metal" ? { cooperative: true, matmul: "simdgroup" } : { cooperative: false, matmul: "blocked" };

/** The host's page size for the buffer cache's big buckets. */
const PAGE = 4096;

/** Loaded libraries by build key: a library is loaded once per process and stays loaded. */
const libraries = new Map<string, LibraryHandle>();

function addon(): HostAddon {
  const a = loadHostAddon();
  if (!a || !findCompiler()) throw new DeviceError(`the host device is not available: ${hostProblem()}`);
  return a;
}

class HostExecutable implements Executable {
  private readonly kernels: KernelHandle[];
  private readonly arena: Storage | undefined;
  private readonly fixed: (ArrayBufferView | undefined)[][];
  private readonly consts: ReadonlyMap<string, ArrayBufferView>;
  private readonly types: readonly TensorType[];
  private disposed = false;

  constructor(
    private readonly device: HostDevice,
    private readonly program: PlannedProgram,
    readonly emitted: EmittedProgram,
    lib: LibraryHandle,
    private readonly plan: DispatchPlan,
  ) {
    const a = device.addon;
    this.kernels = plan.dispatches.map((d) => a.kernel(lib, d.entry));
    this.arena = plan.arenaBytes > 0 ? device.storage(plan.arenaBytes) : undefined;
    this.consts = new Map(
      program.buffers
        .filter((b) => b.kind === "const")
        .map((b) => [b.name, padded(numbersToHost(b.type.dtype, b.data ?? new Float64Array(size(b.type.shape))))]),
    );
    this.types = program.results.map((n) => program.buffers.find((b) => b.name === n)!.type);
    // Everything but the run's inputs and outputs is bound once.
    this.fixed = plan.dispatches.map((d) => d.bindings.map((b) => this.fixedBinding(b)));
  }

  private fixedBinding(b: Binding | undefined): ArrayBufferView | undefined {
    if (!b) return EMPTY;
    switch (b.kind) {
      case "arena":
        return new Uint8Array(this.arena!.buffer, b.offset, b.bytes);
      case "const":
        return this.consts.get(b.name)!;
      case "meta":
        return b.bytes;
      case "param":
      case "result":
        return undefined;
      default:
        return b satisfies never;
    }
  }

  run(inputs: readonly DeviceBuffer[]): DeviceBuffer[] {
    if (this.disposed) throw new DeviceError(`@${this.program.name} was disposed`);
    const types = this.types;
    const outputs: (DeviceBuffer | undefined)[] = this.plan.results.map((r, i) =>
      r.kind === "written" ? this.device.alloc(types[i]!) : undefined,
    );
    try {
      this.plan.dispatches.forEach((d, i) => {
        if (d.groups === 0) return;
        const buffers = d.bindings.map((b, slot) => {
          const f = this.fixed[i]![slot];
          if (f) return f;
          const held = b!.kind === "param" ? inputs[b!.index] : outputs[(b as { index: number }).index];
          return held!.data.length === 0 ? EMPTY : held!.data;
        });
        try {
          this.device.addon.dispatch(this.kernels[i]!, buffers, d.groups, d.threadsPerGroup, {
            cooperative: d.cooperative,
            ...this.device.dispatchOptions,
          });
        } catch (e) {
          if (e instanceof SmeltError) throw e;
          const k = this.program.kernels.find((x) => x.name === d.kernel);
          throw new DeviceError(`kernel ${d.kernel}, computing ${opsOf(k)}, failed on the host: ${(e as Error).message}`);
        }
      });
      return this.plan.results.map((r, i) => {
        switch (r.kind) {
          case "written":
            return outputs[i]!;
          case "param":
            return this.device.copy(types[i]!, inputs[r.index]!.data);
          case "const":
            return this.device.copy(types[i]!, this.consts.get(r.name)!);
          case "copy":
            return this.device.copy(types[i]!, outputs[r.of]!.data);
          default:
            return r satisfies never;
        }
      });
    } catch (e) {
      outputs.forEach((o) => o?.release());
      throw e;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.arena?.drop();
  }
}

/** A non-empty buffer for slots with nothing in them (a kernel never reads an empty buffer). */
const EMPTY = new Uint8Array(16);

/** Host copies of constants, 4-byte padded (16-bit buffers may be read a word at a time). */
function padded(data: ArrayBufferView): ArrayBufferView {
  const bytes = Math.max(16, Math.ceil(data.byteLength / 4) * 4);
  const out = new Uint8Array(bytes);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return new (data.constructor as new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView)(
    out.buffer,
    0,
    (data as unknown as { length: number }).length,
  );
}

export class HostDevice implements Device {
  readonly name: string;
  readonly addon: HostAddon;
  readonly cache: BufferCache;
  readonly variants: HostVariants;
  readonly dispatchOptions: { order?: DispatchOrder; seed?: number; debug?: boolean; workers?: number };

  constructor(
    name: string,
    private readonly opts: HostOptions = {},
  ) {
    this.name = name;
    this.addon = addon();
    const a = this.addon;
    this.cache = new BufferCache({ alloc: (n) => a.alloc(n), free: (b) => a.free(b) }, { pageSize: PAGE });
    addCacheSource(() => this.cache.stats().cacheBytes);
    this.variants = opts.variants ?? "host";
    this.dispatchOptions = {
      ...(opts.order ? { order: opts.order } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.debug ? { debug: true } : {}),
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    };
  }

  /**
   * Native memory of at least `bytes`, from the buffer cache (reused across runs and arrays).
   * In debug mode every buffer is its own allocation, flush against a guard page instead.
   */
  storage(bytes: number): Storage {
    if (this.opts.debug) {
      // Whole 32-bit words: 16-bit buffers taking atomic adds are updated a word at a time.
      const n = Math.max(4, Math.ceil(bytes / 4) * 4);
      reserve(n);
      const buf = this.addon.alloc(n, { guard: true });
      return new Storage(buf, n, () => this.addon.free(buf));
    }
    return cachedStorage(this.cache, bytes, PAGE, () => this.clearCache());
  }

  alloc(type: TensorType): DeviceBuffer {
    return bufferOver(this.name, type, this.storage(typeBytes(type)));
  }

  copy(type: TensorType, data: ArrayBufferView): DeviceBuffer {
    return copyTo(this, type, data);
  }

  /** The MSL this device runs for a planned program. */
  emit(program: PlannedProgram): EmittedProgram {
    return emitProgram(program, emitOptionsFor(this.variants));
  }

  prepare(_func: unknown, opts: { lowered: () => { planned: PlannedProgram } }): HostExecutable {
    return this.prepareProgram(opts.lowered().planned);
  }

  prepareProgram(program: PlannedProgram): HostExecutable {
    const emitted = this.emit(program);
    const source = hostSource(emitted.source);
    const built = buildLibrary(source, (stderr) => mslCompileError(program, emitted, stderr, source));
    let lib = libraries.get(built.key);
    if (!lib) {
      lib = this.addon.loadLibrary(built.path);
      libraries.set(built.key, lib);
    }
    return new HostExecutable(this, program, emitted, lib, dispatchList(program, emitted));
  }

  clearCache(): void {
    this.cache.clearCache();
  }
}

let defaultHost: HostDevice | undefined;

/**
 * Options of the "host" device from `SMELT_HOST`, comma-separated words: `metal` (run the
 * kernels Metal runs), `reverse` or `shuffle` (fiber order), `debug` (guard pages, poisoned
 * threadgroup memory).
 */
export function hostOptionsFromEnv(spec: string | undefined): HostOptions {
  const words = (spec ?? "").split(",").map((w) => w.trim()).filter((w) => w !== "");
  const known = ["metal", "host", "reverse", "shuffle", "forward", "debug"];
  const bad = words.filter((w) => !known.includes(w));
  if (bad.length) throw new DeviceError(`SMELT_HOST: unknown option ${bad.map((b) => `"${b}"`).join(", ")}; options are ${known.join(", ")}`);
  const order = words.includes("shuffle") ? "shuffle" : words.includes("reverse") ? "reverse" : undefined;
  return {
    variants: words.includes("metal") ? "metal" : "host",
    ...(order ? { order } : {}),
    ...(words.includes("debug") ? { debug: true } : {}),
  };
}

/** The "host" device (one per process), or undefined when it cannot run here. */
export function hostDevice(): HostDevice | undefined {
  if (hostProblem()) return undefined;
  defaultHost ??= new HostDevice("host", hostOptionsFromEnv(process.env["SMELT_HOST"]));
  return defaultHost;
}
