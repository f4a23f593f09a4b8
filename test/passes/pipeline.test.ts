// lowerFunc end to end: the stages it reports, and planned programs of real funcs that compute
// what the graph interpreter computes even when every in-place pair shares one array.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Func,
  FuncBuilder,
  interpret,
  type InterpContext,
  printProgram,
  runKernel,
  size,
  type Tensor,
  tensor,
  typeStr,
} from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import type { FusionStrategy } from "../../src/passes/fuse.js";
import { type LowerStage, lowerFunc } from "../../src/passes/pipeline.js";
import { alignUp, bufferBytes, type PlannedProgram, printPlanned } from "../../src/passes/plan.js";
import { randomFunc } from "../support/randomFunc.js";
import { firstDifference } from "../support/compare.js";

const STRATEGIES: readonly FusionStrategy[] = ["none", "elementwise", "full"];

/**
 * Runs the kernels over one array per buffer, except that an in-place output is the very array
 * of its input (a donated param's included), as the executor will bind them. The kernel
 * interpreter evaluates a whole store before writing it, so this catches an output clobbering
 * an input that a later store reads, not one read at another index (plan.test.ts covers that).
 */
function runAliased(p: PlannedProgram, args: readonly Tensor[], ctx: InterpContext = { mode: "dtype" }): Tensor[] {
  const bufs = new Map<string, Float64Array>();
  for (const b of p.buffers) {
    bufs.set(b.name, b.kind === "const" ? Float64Array.from(b.data ?? []) : new Float64Array(size(b.type.shape)).fill(NaN));
  }
  p.params.forEach((n, i) => bufs.set(n, Float64Array.from(args[i]!.data)));
  for (const x of p.plan.inPlace) bufs.set(x.output, bufs.get(x.input)!);
  for (const k of p.kernels) runKernel(k, bufs, ctx);
  const types = new Map(p.buffers.map((b) => [b.name, b.type]));
  return p.results.map((n) => ({ type: types.get(n)!, data: Float64Array.from(bufs.get(n)!) }));
}


/** Live ranges from the kernels' declared buffer lists; temps alive together never share bytes. */
function checkNoOverlap(p: PlannedProgram): void {
  const range = new Map<string, [number, number]>();
  p.kernels.forEach((k, i) => {
    for (const b of k.buffers) {
      const r = range.get(b.name);
      if (r) r[1] = i;
      else range.set(b.name, [i, i]);
    }
  });
  const temps = p.buffers.filter((b) => b.kind === "temp" && range.has(b.name));
  const shared = new Set(p.plan.inPlace.map((x) => `${x.input}>${x.output}`));
  for (const a of temps) {
    const off = p.plan.offsets[a.name]!;
    expect(off % 256).toBe(0);
    expect(off + alignUp(bufferBytes(a.type))).toBeLessThanOrEqual(p.plan.arenaBytes);
    for (const b of temps) {
      if (a.name >= b.name) continue;
      const [ra, rb] = [range.get(a.name)!, range.get(b.name)!];
      if (ra[1] < rb[0] || rb[1] < ra[0]) continue;
      if (shared.has(`${a.name}>${b.name}`) || shared.has(`${b.name}>${a.name}`)) continue;
      const [oa, ob] = [p.plan.offsets[a.name]!, p.plan.offsets[b.name]!];
      const disjoint = oa + bufferBytes(a.type) <= ob || ob + bufferBytes(b.type) <= oa;
      expect(disjoint, `%${a.name} and %${b.name} overlap\n${printPlanned(p)}`).toBe(true);
    }
  }
}

function checkLowered(func: Func, inputs: readonly Tensor[], strategy: FusionStrategy, donate: readonly string[]): void {
  const { planned } = lowerFunc(func, { strategy, donate });
  checkNoOverlap(planned);
  const diff = firstDifference(runAliased(planned, inputs), interpret(func, inputs));
  if (diff !== undefined) {
    throw new Error(`${strategy}: planned program differs from the func: ${diff}\n${printFunc(func)}\n${printPlanned(planned)}`);
  }
}

/** y = exp(x) * w + x, z = transpose(y): x and w are f32[4,8]. */
function sample(): Func {
  const b = new FuncBuilder("f");
  const x = b.param({ dtype: "float32", shape: [4, 8] }, "x");
  const w = b.param({ dtype: "float32", shape: [4, 8] }, "w");
  const e = b.op("exp", [x], {});
  const y = b.op("add", [b.op("mul", [e, w], {}), x], {});
  const z = b.op("transpose", [y], { perm: [1, 0] });
  return b.build([y, z]);
}

const ramp = (n: number, scale: number) => Array.from({ length: n }, (_, i) => (i - n / 2) * scale);

describe("lowerFunc", () => {
  it("reports each stage's text in order", () => {
    const seen: [LowerStage, string][] = [];
    const r = lowerFunc(sample(), { strategy: "full", after: (stage, text) => seen.push([stage, text]) });
    expect(seen.map(([s]) => s)).toEqual(["simplified", "fused", "planned"]);
    expect(seen[0]![1]).toBe(printFunc(r.simplified));
    expect(seen[1]![1]).toBe(printProgram(r.program));
    expect(seen[2]![1]).toBe(printPlanned(r.planned));
    expect(r.stats.kernels).toBe(r.planned.kernels.length);
    expect(r.stats.peakBytes).toBe(r.planned.plan.peakBytes);
  });

  it("lets an update write its result over a donated param, and still computes the same", () => {
    // w' = w - 0.5 * g: one elementwise kernel reading w at the index it writes.
    const b = new FuncBuilder("step");
    const w = b.param({ dtype: "float32", shape: [64] }, "w");
    const g = b.param({ dtype: "float32", shape: [64] }, "g");
    const half = b.op("constant", [], { data: Float64Array.of(0.5), dtype: "float32", shape: [] });
    const step = b.op("mul", [g, b.op("broadcast", [half], { shape: [64] })], {});
    const f = b.build([b.op("sub", [w, step], {})]);
    const { planned } = lowerFunc(f, { strategy: "full", donate: ["w"] });
    expect(planned.kernels).toHaveLength(1);
    expect(planned.plan.inPlace).toEqual([{ kernel: "k0", output: planned.results[0], input: "w" }]);
    const inputs = [tensor("float32", [64], ramp(64, 0.25)), tensor("float32", [64], ramp(64, -0.5))];
    expect(firstDifference(runAliased(planned, inputs), interpret(f, inputs))).toBeUndefined();
  });

  it("computes what the func computes under every strategy, with in-place arrays shared", () => {
    const inputs = [tensor("float32", [4, 8], ramp(32, 0.125)), tensor("float32", [4, 8], ramp(32, -0.25))];
    for (const strategy of STRATEGIES) checkLowered(sample(), inputs, strategy, ["x", "w"]);
  });
});

describe("lowerFunc on random funcs", () => {
  for (const strategy of STRATEGIES) {
    it(`plans without overlap and keeps the value (strategy ${strategy}, params donated)`, () => {
      fc.assert(
        fc.property(randomFunc({ maxOps: 8 }), ({ func, inputs }) => {
          const donate = func.params.map((p, i) => p.name ?? `arg${i}`);
          checkLowered(func, inputs, strategy, donate);
        }),
        { numRuns: 150 },
      );
    });
  }
});
