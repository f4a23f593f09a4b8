// The host device against the interpreter: random funcs, every fusion strategy, the CPU's own
// kernel variants and the very kernels Metal runs (fibers resumed forward, reversed and
// shuffled); and what users see of it: the default device, zero copy, memory accounting.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type DeviceBuffer, upload } from "../../runtime/device.js";
import { HostDevice, hostProblem } from "../../runtime/host.js";
import { storageOf } from "../../runtime/memory.js";
import * as sm from "../../src/index.js";
import { fromHost, interpret, numbersToHost, printProgram } from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import { type FusionStrategy } from "../../src/passes/fuse.js";
import { lowerFunc } from "../../src/passes/pipeline.js";
import { randomFunc } from "../support/randomFunc.js";
import { mismatch, PROGRAM } from "../support/tolerance.js";

const problem = hostProblem();
if (problem) console.log(`test/runtime/host.test.ts: skipped, the host device is not available: ${problem}`);

describe.skipIf(problem !== undefined)("the host device", () => {
  const devices = problem
    ? []
    : [
        new HostDevice("host"),
        new HostDevice("host-metal", { variants: "metal" }),
        new HostDevice("host-metal-reverse", { variants: "metal", order: "reverse" }),
        new HostDevice("host-metal-shuffle", { variants: "metal", order: "shuffle", seed: 7 }),
      ];

  for (const strategy of ["full", "elementwise", "none"] as FusionStrategy[]) {
    it(`computes what the interpreter computes on random funcs (fusion ${strategy})`, () => {
      fc.assert(
        fc.property(randomFunc({ maxOps: 8 }), ({ func, inputs }) => {
          const want = interpret(func, inputs);
          const planned = lowerFunc(func, { strategy }).planned;
          for (const d of devices) {
            const held = inputs.map((t) => upload(d, t.type, numbersToHost(t.type.dtype, t.data)));
            const exe = d.prepareProgram(planned);
            let out: DeviceBuffer[] = [];
            try {
              out = exe.run(held);
              want.forEach((w, i) => {
                const got = fromHost(out[i]!.type.dtype, out[i]!.type.shape, out[i]!.data);
                const m = mismatch(w, got, false, PROGRAM, d.name);
                if (m) throw new Error(`${d.name}, result ${i}: ${m}\n${printFunc(func)}\n${printProgram(planned)}`);
              });
            } finally {
              [...held, ...out].forEach((b) => b.release());
              exe.dispose();
            }
          }
        }),
        { numRuns: 15 },
      );
    }, 120_000);
  }

  describe("through the public API", () => {
    let before: string;
    beforeAll(() => {
      before = sm.defaultDevice();
      sm.setDefaultDevice("host");
    });
    afterAll(() => sm.setDefaultDevice(before));

    it("is listed first where Metal is not: the default unless SMELT_DEVICE says otherwise", () => {
      expect(sm.devices()).toContain("host");
      if (process.platform !== "darwin") expect(sm.devices()[0]).toBe("host");
      expect(before).toBe(process.env["SMELT_DEVICE"] ?? "interp"); // test/support/device.setup.ts
    });

    it("is the default of a fresh process without SMELT_DEVICE", async () => {
      const saved = process.env["SMELT_DEVICE"];
      delete process.env["SMELT_DEVICE"];
      vi.resetModules();
      try {
        const fresh = await import("../../src/index.js");
        expect(fresh.defaultDevice()).toBe(fresh.devices()[0]);
        if (process.platform !== "darwin") expect(fresh.defaultDevice()).toBe("host");
      } finally {
        if (saved !== undefined) process.env["SMELT_DEVICE"] = saved;
        vi.resetModules();
      }
    });

    it("hands dataSync() a view of the memory the kernel wrote, and wraps such a view without a copy", () => {
      const a = sm.array([1, 2, 3]).mul(2).add(1);
      const data = a.dataSync();
      expect(Array.from(data)).toEqual([3, 5, 7]);
      expect(storageOf(data)).toBeDefined();
      // The same memory on a second read, and in an array made from the view.
      expect(a.dataSync().buffer).toBe(data.buffer);
      const b = sm.array(data as Float32Array);
      expect(b.dataSync().buffer).toBe(data.buffer);
      // A kernel reading b reads that memory: write through the view, compute again.
      data[0] = 10;
      expect(Array.from(b.add(0).dataSync())).toEqual([10, 5, 7]);
      a.dispose();
      // b still holds the memory.
      expect(Array.from(b.dataSync())).toEqual([10, 5, 7]);
      b.dispose();
    });

    it("counts device memory: an array's bytes are active until it is disposed", () => {
      const x = sm.array(new Float32Array(1000));
      const start = sm.memory.stats().activeBytes;
      const y = x.add(1);
      sm.eval(y);
      expect(sm.memory.stats().activeBytes - start).toBeGreaterThanOrEqual(4000);
      y.dispose();
      expect(sm.memory.stats().activeBytes).toBe(start);
      x.dispose();
    });

    it("runs compiled functions: lower().msl() is the library it runs", () => {
      const f = sm.compile((x: sm.Array, w: sm.Array) => sm.softmax(x.matmul(w)));
      const x = sm.array([[1, 2], [3, 4]]);
      const w = sm.array([[0.5, -1], [2, 0]]);
      const got = f(x, w).tolist() as number[][];
      const z = [[4.5, -1], [9.5, -3]];
      const want = z.map((r) => r.map((v) => Math.exp(v) / r.reduce((s, u) => s + Math.exp(u), 0)));
      got.flat().forEach((v, i) => expect(v).toBeCloseTo(want.flat()[i]!, 5));
      const msl = f.lower(x, w).msl();
      expect(msl).toMatch(/kernel void smelt_\w+\(/);
      expect(msl).toContain("smelt_host_range_");
    });
  });
});

describe("SMELT_HOST", () => {
  it("reads comma-separated words and names an unknown one", async () => {
    const { hostOptionsFromEnv } = await import("../../runtime/host.js");
    expect(hostOptionsFromEnv(undefined)).toEqual({ variants: "host" });
    expect(hostOptionsFromEnv("metal, reverse,debug")).toEqual({ variants: "metal", order: "reverse", debug: true });
    expect(() => hostOptionsFromEnv("metal,fast")).toThrow(/SMELT_HOST: unknown option "fast"/);
  });
});
