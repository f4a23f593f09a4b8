// The Metal device: Apple GPUs through the native addon (native/metal/smelt_metal.mm, loaded
// only on macOS). Array memory is shared-storage Metal buffers seen by JavaScript as
// ArrayBuffers over their contents, so inputs written by the host and results read back are
// never copied. The addon only does what needs Metal; everything else is here, testable
// anywhere with a fake addon: binding a run's memory to each dispatch's slots, where barriers
// go on a concurrent encoder, checking launch sizes against the pipelines, buffer reuse.
import { createRequire } from "node:module";
import { type EmittedProgram, emitProgram } from "../src/codegen-msl/index.js";
import { numbersToHost } from "../src/ir/dtype.js";
import { CompileError, DeviceError, SmeltError } from "../src/ir/errors.js";
import type { Func } from "../src/ir/graph.js";
import type { Kernel } from "../src/ir/kernel.js";
import { size } from "../src/ir/shape.js";
import type { TensorType } from "../src/ir/types.js";
import type { PlannedProgram } from "../src/passes/plan.js";
import { BufferCache, cachedStorage } from "./buffer-cache.js";
import { bufferOver, copyTo, type Device, DeviceBuffer, type Executable, type PrepareOptions } from "./device.js";
import { type Binding, type Dispatch, type DispatchPlan, dispatchList } from "./dispatch.js";
import { emitOptionsFor } from "./host.js";
import { addCacheSource, hostView, Storage, typeBytes } from "./memory.js";
import { mslCompileError, opsOf } from "./msl-errors.js";

// ---------------------------------------------------------------- the addon's surface

declare const handleKind: unique symbol;
/** An opaque native handle (a type-tagged napi External). */
export type Handle<K extends string> = object & { readonly [handleKind]?: K };

export interface MetalDeviceInfo {
  readonly name: string;
  readonly hasUnifiedMemory: boolean;
  /** Supports MTLGPUFamilyApple7 (M1 and later). */
  readonly appleSilicon: boolean;
  readonly maxThreadsPerThreadgroup: number;
  readonly maxThreadgroupMemoryLength: number;
  readonly maxBufferLength: number;
  readonly recommendedMaxWorkingSetSize: number;
  readonly pageSize: number;
}

export interface MetalPipeline {
  readonly handle: Handle<"pipeline">;
  readonly maxTotalThreadsPerThreadgroup: number;
  readonly threadExecutionWidth: number;
  readonly staticThreadgroupMemoryLength: number;
}

/** A buffer slot: Metal memory at an offset, bytes copied into the command (setBytes), or nothing. */
export type MetalSlot = { readonly buffer: ArrayBuffer; readonly offset: number } | Uint8Array | undefined;

export interface MetalCommand {
  readonly pipeline: Handle<"pipeline">;
  readonly groups: number;
  readonly threadsPerGroup: number;
  /** A memory barrier (buffers scope) before this dispatch. */
  readonly barrier: boolean;
  /** By slot. */
  readonly buffers: readonly MetalSlot[];
}

/** What smelt_metal.node exports (see native/metal/smelt_metal.mm). */
export interface MetalAddon {
  /** The default GPU, or null when MTLCreateSystemDefaultDevice finds none. */
  deviceInfo(): MetalDeviceInfo | null;
  /** Compiler messages are returned, not thrown, to be mapped back to kernels. */
  compileLibrary(source: string, mslVersion: string): { readonly library: Handle<"library"> } | { readonly error: string };
  /** Cached by entry name: kernel functions are named by a hash of their text. */
  pipeline(library: Handle<"library">, entry: string): MetalPipeline;
  /** A new shared-storage buffer of `bytes` bytes, as an ArrayBuffer over its contents. */
  alloc(bytes: number): ArrayBuffer;
  /** Lets Metal use `buffer` in place when it starts on a page; false when it cannot. */
  wrap(buffer: ArrayBuffer): boolean;
  /** Forgets alloc'd (then detached) or wrapped memory. */
  free(buffer: ArrayBuffer): void;
  /** One command buffer, one concurrent compute encoder; waits, and throws the GPU's error. */
  runSync(commands: readonly MetalCommand[]): void;
  /** The same, settled from the command buffer's completed handler. */
  runAsync(commands: readonly MetalCommand[]): Promise<void>;
}

// ---------------------------------------------------------------- loading

export interface MetalLoader {
  readonly platform: NodeJS.Platform;
  /** The addon, or why it could not be loaded. */
  load(): MetalAddon | string;
}

const ADDON_PATHS = ["../build/Release/smelt_metal.node", "../../build/Release/smelt_metal.node"];

/** Loads build/Release/smelt_metal.node from the source tree or from dist/. */
function loadBuiltAddon(): MetalAddon | string {
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const p of ADDON_PATHS) {
    try {
      return require(p) as MetalAddon;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== "MODULE_NOT_FOUND") errors.push(`${p}: ${(e as Error).message}`);
    }
  }
  return errors.length
    ? `the Metal addon failed to load: ${errors.join("; ")}`
    : "the addon was built without Metal: build/Release/smelt_metal.node is missing " +
        "(install the Xcode command-line tools, then npm rebuild)";
}

export const systemLoader: MetalLoader = { platform: process.platform, load: loadBuiltAddon };

/** The addon and its GPU, or why Metal does not work here. */
export function openMetal(loader: MetalLoader): { addon: MetalAddon; info: MetalDeviceInfo } | string {
  if (loader.platform !== "darwin") {
    return `not macOS (this is ${loader.platform}): the Metal device needs macOS 13 or later on Apple Silicon`;
  }
  const addon = loader.load();
  if (typeof addon === "string") return addon;
  const info = addon.deviceInfo();
  if (!info) return "no Metal device: MTLCreateSystemDefaultDevice found no GPU";
  if (!info.appleSilicon) return `${info.name} is not an Apple Silicon GPU (needs the Apple7 family: M1 or later)`;
  return { addon, info };
}

let opened: ReturnType<typeof openMetal> | undefined;

function openSystemMetal(): ReturnType<typeof openMetal> {
  opened ??= openMetal(systemLoader);
  return opened;
}

/** Why the Metal device does not work here, or undefined when it does. */
export function metalProblem(): string | undefined {
  const m = openSystemMetal();
  return typeof m === "string" ? m : undefined;
}

let defaultMetal: MetalDevice | undefined;

/** The "metal" device (one per process), or undefined when Metal does not work here. */
export function metalDevice(): MetalDevice | undefined {
  const m = openSystemMetal();
  if (typeof m === "string") return undefined;
  defaultMetal ??= new MetalDevice(m.addon, m.info);
  return defaultMetal;
}

// ---------------------------------------------------------------- commands

/** Metal memory at an offset. */
export interface Placed {
  readonly buffer: ArrayBuffer;
  readonly offset: number;
}

/** Where a run's memory is: what each binding kind resolves to. */
export interface RunMemory {
  readonly params: readonly Placed[];
  readonly results: readonly (Placed | undefined)[];
  readonly arena: ArrayBuffer | undefined;
  readonly consts: ReadonlyMap<string, Placed>;
}

function slotOf(b: Binding | undefined, mem: RunMemory, where: string): MetalSlot {
  if (!b) return undefined;
  const missing = (what: string): never => {
    throw new DeviceError(`${where}: no memory for ${what}`);
  };
  switch (b.kind) {
    case "param":
      return mem.params[b.index] ?? missing(`input ${b.index}`);
    case "result":
      return mem.results[b.index] ?? missing(`result ${b.index}`);
    case "arena":
      return { buffer: mem.arena ?? missing("the arena"), offset: b.offset };
    case "const":
      return mem.consts.get(b.name) ?? missing(`constant %${b.name}`);
    case "meta":
      return b.bytes;
    default:
      return b satisfies never;
  }
}

/** The addon's command list for one run. */
export function commandsFor(
  dispatches: readonly Dispatch[],
  pipelines: readonly MetalPipeline[],
  barriers: readonly boolean[],
  mem: RunMemory,
): MetalCommand[] {
  return dispatches.map((d, i) => ({
    pipeline: pipelines[i]!.handle,
    groups: d.groups,
    threadsPerGroup: d.threadsPerGroup,
    barrier: barriers[i]!,
    buffers: Array.from({ length: d.bindings.length }, (_, slot) =>
      slotOf(d.bindings[slot], mem, `kernel ${d.kernel}, slot ${slot}`),
    ),
  }));
}

/** " (computing exp at model.ts:12:5, ...)": what a kernel computes, for messages about it. */
const kernelOrigin = (k: Kernel | undefined): string => (k && k.sources.length ? ` (computing ${opsOf(k)})` : "");

/**
 * Launch sizes the GPU cannot run, as a DeviceError naming the kernel: more threads per group
 * than the pipeline allows (registers decide that, per kernel) or more threadgroup memory
 * than the device has.
 */
export function checkLaunches(
  program: PlannedProgram,
  emitted: EmittedProgram,
  dispatches: readonly Dispatch[],
  pipelines: readonly MetalPipeline[],
  info: Pick<MetalDeviceInfo, "maxThreadgroupMemoryLength">,
): void {
  dispatches.forEach((d, i) => {
    const p = pipelines[i]!;
    const k = program.kernels.find((x) => x.name === d.kernel);
    const e = emitted.kernels[i]!;
    if (d.threadsPerGroup > p.maxTotalThreadsPerThreadgroup) {
      throw new DeviceError(
        `kernel ${d.kernel}${kernelOrigin(k)} runs ${d.threadsPerGroup} threads per threadgroup, but its Metal pipeline allows at most ${p.maxTotalThreadsPerThreadgroup}`,
      );
    }
    const tg = Math.max(e.threadgroupBytes, p.staticThreadgroupMemoryLength);
    if (tg > info.maxThreadgroupMemoryLength) {
      throw new DeviceError(
        `kernel ${d.kernel}${kernelOrigin(k)} needs ${tg} bytes of threadgroup memory; this GPU has ${info.maxThreadgroupMemoryLength}`,
      );
    }
  });
}

// ---------------------------------------------------------------- the device

export interface MetalDeviceOptions {
  /** The MSL for a planned program (default: the kernels Metal runs). */
  readonly emit?: (program: PlannedProgram) => EmittedProgram;
}

export class MetalDevice implements Device {
  readonly name = "metal";
  readonly cache: BufferCache;
  private readonly libraries = new Map<string, Handle<"library">>();
  /** Inputs from elsewhere that Metal uses in place, with how many runs use each. */
  private readonly wrapped = new Map<ArrayBuffer, number>();
  /** Bound in slots whose array is empty (a kernel never reads it, but a slot needs memory). */
  private empty: ArrayBuffer | undefined;
  readonly emit: (program: PlannedProgram) => EmittedProgram;

  constructor(
    readonly addon: MetalAddon,
    readonly info: MetalDeviceInfo,
    opts: MetalDeviceOptions = {},
  ) {
    this.cache = new BufferCache({ alloc: (n) => addon.alloc(n), free: (b) => addon.free(b) }, { pageSize: info.pageSize });
    this.emit = opts.emit ?? ((p) => emitProgram(p, emitOptionsFor("metal")));
    addCacheSource(() => this.cache.stats().cacheBytes);
  }

  /** Metal memory of at least `bytes` bytes, counted in sm.memory as the whole buffer it takes. */
  storage(bytes: number): Storage {
    return cachedStorage(this.cache, bytes, this.info.pageSize, () => this.clearCache());
  }

  alloc(type: TensorType): DeviceBuffer {
    return bufferOver(this.name, type, this.storage(typeBytes(type)));
  }

  copy(type: TensorType, data: ArrayBufferView): DeviceBuffer {
    return copyTo(this, type, data);
  }

  prepare(_func: Func, opts: PrepareOptions): MetalExecutable {
    return this.prepareProgram(opts.lowered().planned);
  }

  prepareProgram(program: PlannedProgram, emitted: EmittedProgram = this.emit(program)): MetalExecutable {
    const library = this.library(program, emitted);
    const plan = dispatchList(program, emitted);
    const pipelines = plan.dispatches.map((d) => this.pipeline(library, d, program));
    checkLaunches(program, emitted, plan.dispatches, pipelines, this.info);
    return new MetalExecutable(this, program, emitted, plan, pipelines);
  }

  clearCache(): void {
    this.cache.clearCache();
  }

  /** A memory slot for an input: its own Metal memory, wrapped in place, or a copy. */
  placeInput(data: ArrayBufferView, staged: Storage[], wraps: ArrayBuffer[]): Placed {
    const buffer = data.buffer as ArrayBuffer;
    if (data.byteLength === 0) return { buffer: this.emptyBuffer(), offset: 0 };
    if (this.cache.holds(buffer)) return { buffer, offset: data.byteOffset };
    if (this.cache.owns(buffer)) throw new DeviceError("an input's memory was freed before the run (a disposed array?)");
    const uses = this.wrapped.get(buffer);
    if (uses !== undefined || this.addon.wrap(buffer)) {
      this.wrapped.set(buffer, (uses ?? 0) + 1);
      wraps.push(buffer);
      return { buffer, offset: data.byteOffset };
    }
    const s = this.storage(data.byteLength);
    new Uint8Array(s.buffer, 0, data.byteLength).set(new Uint8Array(buffer, data.byteOffset, data.byteLength));
    staged.push(s);
    return { buffer: s.buffer, offset: 0 };
  }

  /** Ends one run's use of memory it wrapped; Metal forgets it after the last. */
  unwrap(buffer: ArrayBuffer): void {
    const uses = this.wrapped.get(buffer) ?? 0;
    if (uses > 1) {
      this.wrapped.set(buffer, uses - 1);
      return;
    }
    this.wrapped.delete(buffer);
    this.addon.free(buffer);
  }

  emptyBuffer(): ArrayBuffer {
    this.empty ??= this.storage(0).buffer;
    return this.empty;
  }

  private library(program: PlannedProgram, emitted: EmittedProgram): Handle<"library"> {
    const key = `${emitted.mslVersion}\n${emitted.source}`;
    const hit = this.libraries.get(key);
    if (hit) return hit;
    const r = this.addon.compileLibrary(emitted.source, emitted.mslVersion);
    if ("error" in r) throw mslCompileError(program, emitted, r.error);
    this.libraries.set(key, r.library);
    return r.library;
  }

  private pipeline(library: Handle<"library">, d: Dispatch, program: PlannedProgram): MetalPipeline {
    try {
      return this.addon.pipeline(library, d.entry);
    } catch (e) {
      if (e instanceof SmeltError) throw e;
      const k = program.kernels.find((x) => x.name === d.kernel);
      throw new CompileError(`kernel ${d.kernel}${kernelOrigin(k)}: ${(e as Error).message}`);
    }
  }
}

/** One run's borrowed memory: given back when the GPU is done with it. */
interface RunHold {
  readonly commands: MetalCommand[];
  /** Where each input was bound (a donated input's new values are there). */
  readonly params: readonly Placed[];
  readonly outputs: (DeviceBuffer | undefined)[];
  readonly staged: Storage[];
  readonly wraps: ArrayBuffer[];
}

export class MetalExecutable implements Executable {
  private readonly barriers: boolean[];
  private readonly arena: Storage | undefined;
  private readonly consts: Map<string, Storage>;
  private readonly types: TensorType[];
  private disposed = false;

  constructor(
    private readonly device: MetalDevice,
    readonly program: PlannedProgram,
    readonly emitted: EmittedProgram,
    readonly plan: DispatchPlan,
    readonly pipelines: readonly MetalPipeline[],
  ) {
    this.barriers = plan.dispatches.map((d) => d.barrierBefore);
    this.arena = plan.arenaBytes > 0 ? device.storage(plan.arenaBytes) : undefined;
    this.consts = new Map(program.buffers.filter((b) => b.kind === "const").map((b) => [b.name, this.upload(b.type, b.data)]));
    this.types = program.results.map((n) => program.buffers.find((b) => b.name === n)!.type);
  }

  /** A constant's values in Metal memory, uploaded once. */
  private upload(type: TensorType, data: Float64Array | undefined): Storage {
    const host = numbersToHost(type.dtype, data ?? new Float64Array(size(type.shape)));
    const s = this.device.storage(host.byteLength);
    new Uint8Array(s.buffer, 0, host.byteLength).set(new Uint8Array(host.buffer, host.byteOffset, host.byteLength));
    return s;
  }

  /** Runs and waits (dataSync). */
  run(inputs: readonly DeviceBuffer[]): DeviceBuffer[] {
    const hold = this.begin(inputs);
    try {
      this.device.addon.runSync(hold.commands);
    } catch (e) {
      this.fail(hold);
      throw this.gpuError(e);
    }
    return this.finish(hold, inputs);
  }

  /** Runs without blocking the event loop (await data()). */
  async runAsync(inputs: readonly DeviceBuffer[]): Promise<DeviceBuffer[]> {
    const hold = this.begin(inputs);
    try {
      await this.device.addon.runAsync(hold.commands);
    } catch (e) {
      this.fail(hold);
      throw this.gpuError(e);
    }
    return this.finish(hold, inputs);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.arena?.drop();
    for (const s of this.consts.values()) s.drop();
  }

  private begin(inputs: readonly DeviceBuffer[]): RunHold {
    if (this.disposed) throw new DeviceError(`@${this.program.name} was disposed`);
    if (inputs.length !== this.program.params.length) {
      throw new DeviceError(`@${this.program.name} takes ${this.program.params.length} inputs, got ${inputs.length}`);
    }
    const staged: Storage[] = [];
    const wraps: ArrayBuffer[] = [];
    const outputs: (DeviceBuffer | undefined)[] = [];
    try {
      // Inputs first: a freed input's memory must not be handed out as an output before the check.
      const params = inputs.map((b) => this.device.placeInput(b.data, staged, wraps));
      this.plan.results.forEach((r, i) => outputs.push(r.kind === "written" ? this.device.alloc(this.types[i]!) : undefined));
      const results = outputs.map((o) => o && this.device.placeInput(o.data, staged, wraps));
      const consts = new Map([...this.consts].map(([n, s]) => [n, { buffer: s.buffer, offset: 0 }]));
      const mem: RunMemory = { params, results, arena: this.arena?.buffer, consts };
      return { commands: commandsFor(this.plan.dispatches, this.pipelines, this.barriers, mem), params, outputs, staged, wraps };
    } catch (e) {
      this.fail({ commands: [], params: [], outputs, staged, wraps });
      throw e;
    }
  }

  /** Gives back what only the run needed. */
  private settle(hold: RunHold): void {
    for (const s of hold.staged) s.drop();
    for (const b of hold.wraps) this.device.unwrap(b);
  }

  private fail(hold: RunHold): void {
    this.settle(hold);
    for (const o of hold.outputs) o?.release();
  }

  /** The run's results; copies are taken before staged inputs go back. */
  private finish(hold: RunHold, inputs: readonly DeviceBuffer[]): DeviceBuffer[] {
    try {
      return this.plan.results.map((r, i) => this.result(hold, inputs, r, i));
    } finally {
      this.settle(hold);
    }
  }

  private result(hold: RunHold, inputs: readonly DeviceBuffer[], r: DispatchPlan["results"][number], i: number): DeviceBuffer {
    const type = this.types[i]!;
    switch (r.kind) {
      case "written":
        return hold.outputs[i]!;
      case "param": {
        const at = hold.params[r.index]!;
        return this.device.copy(type, new Uint8Array(at.buffer, at.offset, inputs[r.index]!.data.byteLength));
      }
      case "const":
        return this.device.copy(type, hostView(type.dtype, this.consts.get(r.name)!.buffer, size(type.shape)));
      case "copy":
        return this.device.copy(type, hold.outputs[r.of]!.data);
      default:
        return r satisfies never;
    }
  }

  private gpuError(e: unknown): SmeltError {
    if (e instanceof SmeltError) return e;
    return new DeviceError(`running @${this.program.name} on ${this.device.info.name}: ${(e as Error).message}`);
  }
}
