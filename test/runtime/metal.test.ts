// The Metal device's TypeScript half, on any machine, over a fake addon that plays the GPU: it
// runs each dispatch's kernel with the kernel-IR interpreter on exactly the memory the command
// binds (decoding and encoding the bytes at each slot's offset), and runs the dispatches
// between two barriers in REVERSE order, as a concurrent encoder may, so that a missing
// barrier shows up as a wrong result. Results are compared with the program interpreter, which
// knows nothing of arenas, offsets or slots.
import { describe, expect, it } from "vitest";
import type { EmittedKernel, EmittedProgram } from "../../src/codegen-msl/index.js";
import { hostToNumbers, numbersToHost } from "../../src/ir/dtype.js";
import { CompileError, DeviceError } from "../../src/ir/errors.js";
import {
  interpretProgram,
  type Kernel,
  parseFunc,
  type Program,
  runKernel,
  size,
  type Tensor,
  type TensorType,
} from "../../src/ir/index.js";
import { type FusionStrategy, fuse } from "../../src/passes/fuse.js";
import { type PlannedProgram, plan } from "../../src/passes/plan.js";
import type { DeviceBuffer } from "../../runtime/device.js";
import type { Binding, Dispatch } from "../../runtime/dispatch.js";
import { interpDevice } from "../../runtime/interp.js";
import { hostView } from "../../runtime/memory.js";
import {
  checkLaunches,
  commandsFor,
  type Handle,
  type MetalAddon,
  type MetalCommand,
  type MetalDeviceInfo,
  MetalDevice,
  type MetalPipeline,
  metalProblem,
  openMetal,
} from "../../runtime/metal.js";
import { programText } from "../codegen-msl/support/host.js";
import { mulberry32 } from "../support/randomFunc.js";

// ---------------------------------------------------------------- the fake GPU

const INFO: MetalDeviceInfo = {
  name: "Fake M1",
  hasUnifiedMemory: true,
  appleSilicon: true,
  maxThreadsPerThreadgroup: 1024,
  maxThreadgroupMemoryLength: 32768,
  maxBufferLength: 1 << 30,
  recommendedMaxWorkingSetSize: 1 << 30,
  pageSize: 16384,
};

type PipelineHandle = Handle<"pipeline"> & { readonly entry: string };

class FakeMetal implements MetalAddon {
  /** Memory from alloc, still live. */
  readonly allocated = new Set<ArrayBuffer>();
  /** Memory Metal uses in place. */
  readonly wrapped = new Set<ArrayBuffer>();
  readonly compiled: string[] = [];
  readonly runs: MetalCommand[][] = [];
  wrappable = false;
  maxThreads = 1024;
  compileError: string | undefined;
  gpuError: string | undefined;
  /** The program whose runs this GPU executes: command i is emitted kernel i. */
  private running: { program: Program; emitted: EmittedProgram } | undefined;

  learn(program: Program, emitted: EmittedProgram): void {
    this.running = { program, emitted };
  }

  deviceInfo(): MetalDeviceInfo {
    return INFO;
  }
  compileLibrary(source: string): { library: Handle<"library"> } | { error: string } {
    this.compiled.push(source);
    return this.compileError ? { error: this.compileError } : { library: {} };
  }
  pipeline(_library: Handle<"library">, entry: string): MetalPipeline {
    const handle: PipelineHandle = { entry };
    return { handle, maxTotalThreadsPerThreadgroup: this.maxThreads, threadExecutionWidth: 32, staticThreadgroupMemoryLength: 0 };
  }
  alloc(bytes: number): ArrayBuffer {
    const b = new ArrayBuffer(bytes);
    new Uint8Array(b).fill(0xff); // fresh Metal memory is garbage: NaN in a float
    this.allocated.add(b);
    return b;
  }
  wrap(buffer: ArrayBuffer): boolean {
    if (!this.wrappable) return false;
    this.wrapped.add(buffer);
    return true;
  }
  free(buffer: ArrayBuffer): void {
    if (this.allocated.delete(buffer)) structuredClone(buffer, { transfer: [buffer] }); // detach, as the addon does
    else if (!this.wrapped.delete(buffer)) throw new Error("free: not Metal memory");
  }
  runSync(commands: readonly MetalCommand[]): void {
    this.runs.push([...commands]);
    if (this.gpuError) throw new Error(this.gpuError);
    // Between barriers, last dispatch first.
    let group: [MetalCommand, number][] = [];
    const flush = () => {
      for (const [c, i] of group.reverse()) this.execute(c, i);
      group = [];
    };
    commands.forEach((c, i) => {
      if (c.barrier) flush();
      group.push([c, i]);
    });
    flush();
  }
  async runAsync(commands: readonly MetalCommand[]): Promise<void> {
    await new Promise((r) => setTimeout(r, 1));
    this.runSync(commands);
  }

  private execute(c: MetalCommand, i: number): void {
    const emitted = this.running!.emitted.kernels[i]!;
    const kernel: Kernel = this.running!.program.kernels.find((k) => k.name === emitted.name)!;
    expect((c.pipeline as PipelineHandle).entry).toBe(emitted.entry);
    const meta = c.buffers[emitted.metaLayout.index];
    if (!(meta instanceof Uint8Array)) throw new Error(`${emitted.name}: no metadata bytes in slot ${emitted.metaLayout.index}`);
    for (const f of emitted.metaLayout.fields) {
      expect(new DataView(meta.buffer, meta.byteOffset).getUint32(f.offset, true)).toBe(f.value);
    }
    const bufs = new Map<string, Float64Array>();
    const views = new Map<string, ReturnType<typeof hostView>>();
    for (const b of emitted.buffers) {
      const slot = c.buffers[b.index];
      if (!slot || slot instanceof Uint8Array) throw new Error(`${emitted.name}: slot ${b.index} holds no buffer`);
      if (!this.allocated.has(slot.buffer) && !this.wrapped.has(slot.buffer)) throw new Error(`${emitted.name}: slot ${b.index} is not Metal memory`);
      const type = kernel.buffers.find((k) => k.name === b.name)!.type;
      const view = hostView(type.dtype, slot.buffer, size(type.shape), slot.offset);
      views.set(b.name, view);
      bufs.set(b.name, hostToNumbers(type.dtype, view));
    }
    runKernel(kernel, bufs, { mode: "dtype" });
    for (const b of emitted.buffers) {
      if (b.access === "read") continue;
      const type = kernel.buffers.find((k) => k.name === b.name)!.type;
      (views.get(b.name)! as Uint8Array).set(numbersToHost(type.dtype, bufs.get(b.name)!) as Uint8Array);
    }
  }
}

function setup(program: PlannedProgram, fake = new FakeMetal()) {
  const device = new MetalDevice(fake, INFO);
  const emitted = device.emit(program);
  fake.learn(program, emitted);
  return { fake, device, emitted };
}

const planned = (name: string, strategy: FusionStrategy = "full"): PlannedProgram =>
  plan(fuse(parseFunc(programText(name)), { strategy }));

function randomArgs(program: Program, seed: number): Tensor[] {
  const rand = mulberry32(seed);
  return program.params.map((n) => {
    const type = program.buffers.find((b) => b.name === n)!.type;
    const values = Array.from({ length: size(type.shape) }, () =>
      type.dtype === "int32" ? Math.floor(rand() * 5) : Math.round((rand() * 4 - 2) * 64) / 64,
    );
    return { type, data: hostToNumbers(type.dtype, numbersToHost(type.dtype, values)) };
  });
}

/** A device buffer holding a tensor's values, on `device` (Metal memory) or the JavaScript heap. */
function upload(device: MetalDevice | typeof interpDevice, t: Tensor): DeviceBuffer {
  const b = device.alloc(t.type);
  b.data.set(numbersToHost(t.type.dtype, t.data));
  return b;
}

const numbers = (b: DeviceBuffer): number[] => Array.from(hostToNumbers(b.type.dtype, b.data));

// ---------------------------------------------------------------- opening

describe("openMetal", () => {
  const fake = new FakeMetal();
  it("explains each reason Metal is missing", () => {
    expect(openMetal({ platform: "linux", load: () => fake })).toBe(
      "not macOS (this is linux): the Metal device needs macOS 13 or later on Apple Silicon",
    );
    expect(openMetal({ platform: "darwin", load: () => "the addon was built without Metal" })).toBe(
      "the addon was built without Metal",
    );
    const none: MetalAddon = Object.assign(new FakeMetal(), { deviceInfo: () => null });
    expect(openMetal({ platform: "darwin", load: () => none })).toMatch(/^no Metal device/);
    const intel: MetalAddon = Object.assign(new FakeMetal(), {
      deviceInfo: () => ({ ...INFO, name: "AMD Radeon Pro 5500M", appleSilicon: false }),
    });
    expect(openMetal({ platform: "darwin", load: () => intel })).toBe(
      "AMD Radeon Pro 5500M is not an Apple Silicon GPU (needs the Apple7 family: M1 or later)",
    );
    const ok = openMetal({ platform: "darwin", load: () => fake });
    expect(typeof ok === "string" ? ok : ok.info.name).toBe("Fake M1");
  });

  it.skipIf(process.platform === "darwin")("says why on this machine", () => {
    expect(metalProblem()).toBe(`not macOS (this is ${process.platform}): the Metal device needs macOS 13 or later on Apple Silicon`);
  });
});

// ---------------------------------------------------------------- barriers and commands

/** An emitted kernel with only what barrier placement reads. */
function kernelWith(name: string, access: readonly ("read" | "write" | "readwrite")[]): EmittedKernel {
  return {
    name,
    entry: `e_${name}`,
    hostEntry: `h_${name}`,
    kind: "elementwise",
    variant: "elementwise.strided",
    grid: [1, 1, 1],
    threadsPerGroup: 32,
    buffers: access.map((a, index) => ({ name: `b${index}`, index, access: a, atomic: false, minBytes: 4 })),
    metaLayout: { index: access.length, bytes: 4, fields: [] },
    threadgroupBytes: 0,
    cooperative: false,
    mslVersion: "2.3",
  };
}

function dispatchOf(k: EmittedKernel, bindings: readonly Binding[], barrierBefore = false): Dispatch {
  return { kernel: k.name, entry: k.entry, groups: 1, threadsPerGroup: 32, cooperative: false, bindings, barrierBefore };
}

const arena = (offset: number): Binding => ({ kind: "arena", offset, bytes: 256 });

describe("commandsFor", () => {
  const k = kernelWith("k0", ["read", "read", "read", "write"]);
  const pipeline: MetalPipeline = { handle: {}, maxTotalThreadsPerThreadgroup: 1024, threadExecutionWidth: 32, staticThreadgroupMemoryLength: 0 };
  const meta = new Uint8Array([7, 0, 0, 0]);
  const d = dispatchOf(k, [{ kind: "param", index: 1 }, { kind: "const", name: "c0" }, arena(512), { kind: "result", index: 0 }, { kind: "meta", bytes: meta }]);
  const [p0, p1, r0, c0, ar] = [1, 2, 3, 4, 5].map((n) => new ArrayBuffer(256 * n));

  it("binds each slot to the run's memory at the right offset", () => {
    const mem = {
      params: [{ buffer: p0!, offset: 0 }, { buffer: p1!, offset: 64 }],
      results: [{ buffer: r0!, offset: 0 }],
      arena: ar,
      consts: new Map([["c0", { buffer: c0!, offset: 0 }]]),
    };
    const [cmd] = commandsFor([d], [pipeline], [true], mem);
    expect(cmd!.barrier).toBe(true);
    expect(cmd!.pipeline).toBe(pipeline.handle);
    expect(cmd!.buffers).toEqual([
      { buffer: p1, offset: 64 },
      { buffer: c0, offset: 0 },
      { buffer: ar, offset: 512 },
      { buffer: r0, offset: 0 },
      meta,
    ]);
  });

  it("fails with a DeviceError when a binding has no memory", () => {
    const mem = { params: [], results: [], arena: undefined, consts: new Map() };
    expect(() => commandsFor([d], [pipeline], [false], mem)).toThrow(new DeviceError("kernel k0, slot 0: no memory for input 1"));
  });
});

describe("checkLaunches", () => {
  it("names the kernel and its ops when the pipeline allows fewer threads than it runs", () => {
    const program = planned("softmax");
    const { emitted } = setup(program);
    const ds = emitted.kernels.map((e) => dispatchOf(e, []));
    const small = (n: number): MetalPipeline => ({ handle: {}, maxTotalThreadsPerThreadgroup: n, threadExecutionWidth: 32, staticThreadgroupMemoryLength: 0 });
    const want = emitted.kernels[0]!.threadsPerGroup;
    expect(() => checkLaunches(program, emitted, ds, ds.map(() => small(want)), INFO)).not.toThrow();
    expect(() => checkLaunches(program, emitted, ds, ds.map(() => small(want / 2)), INFO)).toThrow(
      new RegExp(`kernel k0 \\(computing div, exp.*\\) runs ${want} threads per threadgroup, but its Metal pipeline allows at most ${want / 2}`),
    );
    expect(() => checkLaunches(program, emitted, ds, ds.map(() => small(want)), { maxThreadgroupMemoryLength: 4 })).toThrow(
      /threadgroup memory; this GPU has 4/,
    );
  });
});

// ---------------------------------------------------------------- running

describe("MetalDevice over the fake GPU", () => {
  const NAMES = ["softmax", "layernorm", "adam", "cross-entropy", "dense-relu"];
  for (const strategy of ["full", "none"] as FusionStrategy[]) {
    it(`computes what the program interpreter computes (${strategy} fusion, arena and barriers)`, () => {
      for (const [i, name] of NAMES.entries()) {
        const program = planned(name, strategy);
        const { device, emitted } = setup(program);
        const args = randomArgs(program, 17 + i);
        const exe = device.prepareProgram(program, emitted);
        const out = exe.run(args.map((a) => upload(device, a)));
        const want = interpretProgram(program, args);
        expect(out.map(numbers), name).toEqual(want.map((t) => Array.from(t.data)));
      }
    });
  }

  it("a barrier removed is caught: the fake GPU runs unseparated dispatches out of order", () => {
    const program = planned("softmax", "none");
    const args = randomArgs(program, 5);
    const run = (dropBarriers: boolean) => {
      // A new device each time: a fresh (garbage-filled) arena, nothing left from a good run.
      const { device, emitted, fake } = setup(program);
      const original = fake.runSync.bind(fake);
      if (dropBarriers) fake.runSync = (cmds) => original(cmds.map((c) => ({ ...c, barrier: false })));
      return device.prepareProgram(program, emitted).run(args.map((a) => upload(device, a))).map(numbers);
    };
    expect(run(false)).toEqual(interpretProgram(program, args).map((t) => Array.from(t.data)));
    expect(run(true)).not.toEqual(run(false));
  });

  const affine = () =>
    plan(
      fuse(
        parseFunc(`func @affine(%x: f32[2,3]) -> (f32[2,3], f32[2,3], f32[2,3], f32[2,3]) {
  %0 = constant {dtype = f32, shape = [2, 3], data = [1, 2, 3, 4, 5, 6]} : f32[2,3]
  %1 = mul %x, %0 : f32[2,3]
  %2 = add %1, %x : f32[2,3]
  return %2, %0, %x, %2
}`),
      ),
    );
  const X: TensorType = { dtype: "float32", shape: [2, 3] };
  const x = { type: X, data: Float64Array.from([0.5, -1, 2, 0, 3, -2]) };

  it("returns written results, constants, inputs and repeated results, each in its own memory", () => {
    const program = affine();
    const { device, emitted, fake } = setup(program);
    const exe = device.prepareProgram(program, emitted);
    const input = upload(device, x);
    const [y, c, same, again] = exe.run([input]);
    // y = x * c + x, by hand.
    expect(numbers(y!)).toEqual([1, -3, 8, 0, 18, -14]);
    expect(numbers(c!)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(numbers(same!)).toEqual([0.5, -1, 2, 0, 3, -2]);
    expect(numbers(again!)).toEqual([1, -3, 8, 0, 18, -14]);
    const buffers = [y, c, same, again, input].map((b) => b!.data.buffer);
    expect(new Set(buffers).size).toBe(5);
    for (const b of buffers) expect(fake.allocated.has(b as ArrayBuffer)).toBe(true);
  });

  it("binds Metal memory in place both ways: inputs as given, results as returned", () => {
    const program = affine();
    const { device, emitted, fake } = setup(program);
    const exe = device.prepareProgram(program, emitted);
    const input = upload(device, x);
    const [y] = exe.run([input]);
    const slots = fake.runs[0]!.flatMap((c) => c.buffers).filter((s) => s && !(s instanceof Uint8Array));
    const bound = slots.map((s) => (s as { buffer: ArrayBuffer }).buffer);
    expect(bound).toContain(input.data.buffer);
    expect(bound).toContain(y!.data.buffer);
  });

  it("copies an input from elsewhere into Metal memory, or wraps it in place when Metal can", () => {
    const program = affine();
    const { device, emitted, fake } = setup(program);
    const exe = device.prepareProgram(program, emitted);
    const heap = upload(interpDevice, x);
    const before = device.cache.stats().activeBytes;
    const [y] = exe.run([heap]);
    expect(numbers(y!)).toEqual([1, -3, 8, 0, 18, -14]);
    const boundOf = (run: MetalCommand[]) =>
      run.flatMap((c) => c.buffers).flatMap((s) => (s && !(s instanceof Uint8Array) ? [s.buffer] : []));
    expect(boundOf(fake.runs[0]!)).not.toContain(heap.data.buffer);
    // The staging copy went back to the cache; only the four results remain.
    expect(device.cache.stats().activeBytes - before).toBe(4 * 256);

    fake.wrappable = true;
    const [z] = exe.run([heap]);
    expect(numbers(z!)).toEqual([1, -3, 8, 0, 18, -14]);
    expect(boundOf(fake.runs[1]!)).toContain(heap.data.buffer);
    expect(fake.wrapped.has(heap.data.buffer as ArrayBuffer)).toBe(false);
  });

  it("refuses an input whose memory was already given back, and leaks nothing", () => {
    const program = affine();
    const { device, emitted } = setup(program);
    const exe = device.prepareProgram(program, emitted);
    const input = upload(device, x);
    input.release();
    const before = device.cache.stats().activeBytes;
    expect(() => exe.run([input])).toThrow(new DeviceError("an input's memory was freed before the run (a disposed array?)"));
    expect(device.cache.stats().activeBytes).toBe(before);
  });

  it("compiles a library once and reports compile errors against kernels", () => {
    const program = planned("softmax");
    const { device, emitted, fake } = setup(program);
    device.prepareProgram(program, emitted);
    device.prepareProgram(program, emitted);
    expect(fake.compiled).toHaveLength(1);

    const other = planned("layernorm");
    const e2 = device.emit(other);
    const line = e2.source.split("\n").findIndex((l) => l.startsWith(`kernel void ${e2.kernels[0]!.entry}(`)) + 2;
    fake.compileError = `program_source:${line}:3: error: unknown type name 'flaot'`;
    expect(() => device.prepareProgram(other, e2)).toThrow(CompileError);
    expect(() => device.prepareProgram(other, e2)).toThrow(/in kernel k0 \(MSL function smelt_row_\w+\), computing/);
  });

  it("rejects a kernel whose pipeline allows fewer threads than it launches", () => {
    const program = planned("softmax");
    const { device, emitted, fake } = setup(program);
    fake.maxThreads = 16;
    expect(() => device.prepareProgram(program, emitted)).toThrow(DeviceError);
  });

  it("turns a GPU failure into a DeviceError and gives the run's memory back", () => {
    const program = planned("softmax", "none");
    const { device, emitted, fake } = setup(program);
    const exe = device.prepareProgram(program, emitted);
    const input = upload(device, randomArgs(program, 1)[0]!);
    const before = device.cache.stats().activeBytes;
    fake.gpuError = "Caused GPU Timeout Error (00000002:kIOAccelCommandBufferCallbackErrorTimeout)";
    expect(() => exe.run([input])).toThrow(
      new DeviceError(`running @softmax on Fake M1: ${fake.gpuError}`),
    );
    expect(device.cache.stats().activeBytes).toBe(before);
  });

  it("runAsync settles later with the same results", async () => {
    const program = planned("layernorm", "none");
    const { device, emitted } = setup(program);
    const args = randomArgs(program, 9);
    const exe = device.prepareProgram(program, emitted);
    let settled = false;
    const pending = exe.runAsync(args.map((a) => upload(device, a))).then((r) => {
      settled = true;
      return r;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    const out = await pending;
    expect(out.map(numbers)).toEqual(interpretProgram(program, args).map((t) => Array.from(t.data)));
  });

  it("holds the arena and constants until dispose, and counts whole buffers", () => {
    const program = affine();
    const noneProgram = planned("softmax", "none");
    const { device, emitted } = setup(program);
    const exe = device.prepareProgram(program, emitted);
    // One 24-byte constant: one 256-byte buffer.
    expect(device.cache.stats().activeBytes).toBe(256);
    exe.dispose();
    expect(device.cache.stats()).toMatchObject({ activeBytes: 0, cacheBytes: 256 });
    expect(() => exe.run([])).toThrow(/was disposed/);

    const fake2 = new FakeMetal();
    const d2 = setup(noneProgram, fake2);
    const e2 = d2.device.prepareProgram(noneProgram, d2.emitted);
    // A 768-byte arena takes a 1024-byte buffer.
    expect(noneProgram.plan.arenaBytes).toBe(768);
    expect(d2.device.cache.stats().activeBytes).toBe(1024);
    e2.dispose();
    d2.device.clearCache();
    expect(fake2.allocated.size).toBe(0);
  });
});
