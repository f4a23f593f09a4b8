import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type DType,
  type Expr,
  iadd,
  idx,
  imod,
  imul,
  lit,
  printProgram,
  SmeltError,
  sop,
} from "../../src/ir/index.js";
import { plan, printPlanned } from "../../src/passes/plan.js";
import { f32, ProgramBuilder, type StoreSpec, ty } from "./programs.js";

const add = (a: Expr, b: Expr): Expr => sop("add", [a, b], "float32");
const mul = (a: Expr, b: Expr): Expr => sop("mul", [a, b], "float32");
const one = lit(1, "float32");
const two = lit(2, "float32");

/** x: f32[256] (1024 bytes); t0 = x + 1; t1 = t0 * 2; out0 = t1 + x. */
function chain(): ProgramBuilder {
  const b = new ProgramBuilder().param("x", f32(256)).temp("t0", f32(256)).temp("t1", f32(256)).result("out0", f32(256));
  b.kernel([{ out: "t0", value: add(b.at("x"), one) }]);
  b.kernel([{ out: "t1", value: mul(b.at("t0"), two) }]);
  b.kernel([{ out: "out0", value: add(b.at("t1"), b.at("x")) }]);
  return b;
}

describe("plan: live ranges and offsets", () => {
  it("gives a chain's output the space of the input that dies in the same elementwise kernel", () => {
    const m = plan(chain().build()).plan;
    expect(m.liveRanges).toEqual({ t0: [0, 1], t1: [1, 2] });
    expect(m.inPlace).toEqual([{ kernel: "k1", output: "t1", input: "t0" }]);
    expect(m.offsets).toEqual({ t0: 0, t1: 0 });
    expect(m.arenaBytes).toBe(1024);
    expect(m.peakBytes).toBe(1024);
    expect(m.naivePeakBytes).toBe(2048);
  });

  it("keeps an input that a later kernel still reads", () => {
    const b = new ProgramBuilder().param("x", f32(256)).temp("t0", f32(256)).temp("t1", f32(256)).result("out0", f32(256));
    b.kernel([{ out: "t0", value: add(b.at("x"), one) }]);
    b.kernel([{ out: "t1", value: mul(b.at("t0"), two) }]);
    b.kernel([{ out: "out0", value: add(b.at("t1"), b.at("t0")) }]);
    const m = plan(b.build()).plan;
    expect(m.liveRanges).toEqual({ t0: [0, 2], t1: [1, 2] });
    expect(m.inPlace).toEqual([]);
    expect(m.offsets).toEqual({ t0: 0, t1: 1024 });
    expect(m.arenaBytes).toBe(2048);
  });

  it("does not write a transpose over its input", () => {
    // t1[i, j] = t0[j, i] over a 16x16 grid: thread (i, j) would overwrite t0[i, j] that thread (j, i) still reads.
    const build = (transposed: boolean) => {
      const b = new ProgramBuilder().param("x", f32(16, 16)).temp("t0", f32(16, 16)).temp("t1", f32(16, 16)).result("out0", f32(16, 16));
      b.kernel([{ out: "t0", value: add(b.at("x"), one) }], { grid: [256] });
      const rowMajor = iadd(imul(idx("p0"), 16), idx("p1"));
      const from = transposed ? iadd(imul(idx("p1"), 16), idx("p0")) : iadd(imul(idx("p0"), 16), idx("p1"));
      b.kernel([{ out: "t1", value: b.at("t0", from), index: rowMajor }], { grid: [16, 16] });
      b.kernel([{ out: "out0", value: b.at("t1") }], { grid: [256] });
      return plan(b.build()).plan;
    };
    const t = build(true);
    expect(t.inPlace).toEqual([]);
    expect(t.offsets).toEqual({ t0: 0, t1: 1024 });
    expect(t.arenaBytes).toBe(2048);
    const same = build(false);
    expect(same.inPlace).toEqual([{ kernel: "k1", output: "t1", input: "t0" }]);
    expect(same.arenaBytes).toBe(1024);
  });

  it("needs equal element counts and item sizes", () => {
    const build = (outType: ReturnType<typeof f32>) => {
      const b = new ProgramBuilder().param("x", f32(256)).temp("t0", f32(256)).temp("t1", outType).result("out0", outType);
      b.kernel([{ out: "t0", value: add(b.at("x"), one) }]);
      b.kernel([{ out: "t1", value: mul(b.at("t0"), two) }]);
      b.kernel([{ out: "out0", value: b.at("t1") }]);
      return plan(b.build()).plan;
    };
    const half = build(f32(128)); // 512 bytes
    expect(half.inPlace).toEqual([]);
    expect(half.offsets).toEqual({ t0: 0, t1: 1024 });
    expect(half.arenaBytes).toBe(1536);
    const f16 = build(ty("float16", 256)); // same count, half the bytes per element
    expect(f16.inPlace).toEqual([]);
    expect(f16.offsets).toEqual({ t0: 0, t1: 1024 });
    const i32 = build(ty("int32", 256)); // same count, same item size
    expect(i32.inPlace).toEqual([{ kernel: "k1", output: "t1", input: "t0" }]);
  });

  /** x: f32[16,16], w: f32[16,16]; k1 is a matmul t1 = t0 @ w or x @ w, its epilogue reading t0. */
  const matmul = (operand: "t0" | "x") => {
    const b = new ProgramBuilder().param("x", f32(16, 16)).param("w", f32(16, 16)).temp("t0", f32(16, 16)).temp("t1", f32(16, 16));
    b.result("out0", f32(16, 16));
    const at = iadd(imul(idx("p0"), 16), idx("p1"));
    b.kernel([{ out: "t0", value: add(b.at("x"), one) }], { grid: [256] });
    const dot = mul(b.at(operand, iadd(imul(idx("p0"), 16), idx("r0"))), b.at("w", iadd(imul(idx("r0"), 16), idx("p1"))));
    const red = { name: "red0", op: "dot", scope: [], loops: [{ v: "r0", extent: 16 }], body: dot, dtype: "float32" } as const;
    const epilogue = sop("max", [add({ k: "reduced", name: "red0", dtype: "float32" }, b.at("t0", at)), lit(0, "float32")], "float32");
    b.kernel([{ out: "t1", value: epilogue, index: at }], { kind: "matmul", grid: [16, 16], reductions: [red] });
    b.kernel([{ out: "out0", value: b.at("t1") }], { grid: [256] });
    return plan(b.build()).plan;
  };

  it("writes a matmul's epilogue over a temp only the epilogue reads", () => {
    // Each grid point reads t0 at the element it writes, after its dot product: t1 takes t0's place.
    const m = matmul("x");
    expect(m.inPlace).toEqual([{ kernel: "k1", output: "t1", input: "t0" }]);
    expect(m.arenaBytes).toBe(1024);
  });

  it("never writes over a temp a reduction reads", () => {
    // t0 is also the matmul's left operand: grid point (i, j) writes t1[i, j] while (i, j') still reads row i.
    const m = matmul("t0");
    expect(m.inPlace).toEqual([]);
    expect(m.arenaBytes).toBe(2048);
  });

  /** A softmax-like row kernel over x: f32[4,8]: t1[p0, c0] = exp(t0[p0, c0] - max over the row read at `rowOf`). */
  const rowKernel = (rowOf: Expr) => {
    const b = new ProgramBuilder().param("x", f32(4, 8)).temp("t0", f32(4, 8)).temp("t1", f32(4, 8)).result("out0", f32(4, 8));
    b.kernel([{ out: "t0", value: add(b.at("x"), one) }], { grid: [32] });
    const body = b.at("t0", iadd(imul(rowOf, 8), idx("r0")));
    const red = { name: "red0", op: "max", scope: [], loops: [{ v: "r0", extent: 8 }], body, dtype: "float32" } as const;
    const at = iadd(imul(idx("p0"), 8), idx("c0"));
    const value = sop("exp", [sop("sub", [b.at("t0", at), { k: "reduced", name: "red0", dtype: "float32" }], "float32")], "float32");
    b.kernel([{ out: "t1", value, index: at, loops: [{ v: "c0", extent: 8 }] }], { kind: "row", grid: [4], reductions: [red] });
    b.kernel([{ out: "out0", value: b.at("t1") }], { grid: [32] });
    return plan(b.build()).plan;
  };

  it("writes a row kernel's row over the row its reductions read", () => {
    // The row's max is complete before any element of the row is stored.
    const m = rowKernel(idx("p0"));
    expect(m.inPlace).toEqual([{ kernel: "k1", output: "t1", input: "t0" }]);
    expect(m.arenaBytes).toBe(256);
  });

  it("never writes a row over an input its reductions read in another row", () => {
    // Row p0 reads row 3 - p0, which another threadgroup may already have overwritten.
    const m = rowKernel(sop("sub", [lit(3, "int32"), idx("p0")], "int32"));
    expect(m.inPlace).toEqual([]);
    expect(m.arenaBytes).toBe(512);
  });

  it("never writes over an input that a later store of the same kernel still reads", () => {
    // A thread runs k1's stores in order: t1 over t0 would clobber t0[p0] before t2 reads it.
    const b = new ProgramBuilder()
      .param("x", f32(256))
      .temp("t0", f32(256))
      .temp("t1", f32(256))
      .temp("t2", f32(256))
      .result("out0", f32(256));
    b.kernel([{ out: "t0", value: add(b.at("x"), one) }]);
    b.kernel([
      { out: "t1", value: mul(b.at("t0"), two) },
      { out: "t2", value: add(b.at("t0"), one) },
    ]);
    b.kernel([{ out: "out0", value: add(b.at("t1"), b.at("t2")) }]);
    const m = plan(b.build()).plan;
    expect(m.inPlace).toEqual([{ kernel: "k1", output: "t2", input: "t0" }]);
    expect(m.offsets).toEqual({ t0: 0, t1: 1024, t2: 0 });
    expect(m.arenaBytes).toBe(2048);
    expect(m.naivePeakBytes).toBe(3072);
  });

  /** Temps A (1024 B), B (256 B), C (512 B), D (256 B) over six kernels k0..k5. */
  const fourTemps = (): ProgramBuilder => {
    const b = new ProgramBuilder()
      .param("x", f32(256))
      .param("y", f32(64))
      .param("z", f32(128))
      .temp("A", f32(256))
      .temp("B", f32(64))
      .temp("C", f32(128))
      .temp("D", f32(64))
      .result("out0", f32(128))
      .result("out1", f32(64));
    b.kernel([{ out: "A", value: add(b.at("x"), one) }]);
    b.kernel([{ out: "B", value: mul(b.at("y"), two) }]);
    b.kernel([{ out: "C", value: mul(b.at("z"), two) }]);
    b.kernel([{ out: "out0", value: add(b.at("A"), b.at("C")) }]);
    b.kernel([{ out: "D", value: add(b.at("y"), lit(3, "float32")) }]);
    b.kernel([{ out: "out1", value: add(b.at("B"), b.at("D")) }]);
    return b;
  };

  it("puts a new temp in the smallest free block that fits", () => {
    // A: 1024 B, B: 256 B, C: 512 B, D: 256 B. After k3 the free blocks are [0, 1024) and
    // [1280, 1792); D goes in the second (first fit would take 0).
    const b = fourTemps();
    const m = plan(b.build(), { schedule: false }).plan;
    expect(m.liveRanges).toEqual({ A: [0, 3], B: [1, 5], C: [2, 3], D: [4, 5] });
    expect(m.offsets).toEqual({ A: 0, B: 1024, C: 1280, D: 1280 });
    expect(m.arenaBytes).toBe(1792);
    expect(m.naivePeakBytes).toBe(2048);
    expect(m.inPlace).toEqual([]);
  });

  it("runs independent kernels in the order that frees temps soonest when that lowers the peak", () => {
    // The program above: B (256 B) and D (256 B) feed k5 and nothing needs them first. Ready
    // kernels that grow the live bytes least run first: k1 (+256), k4 (+256), k5 (-512), k2
    // (+512), k0 (+1024), k3 (-1536). C then reuses B and D's space: 1536 bytes, not 1792.
    const b = fourTemps();
    const p = plan(b.build());
    expect(p.kernels.map((k) => k.name)).toEqual(["k1", "k4", "k5", "k2", "k0", "k3"]);
    expect(p.plan.liveRanges).toEqual({ A: [4, 5], B: [0, 2], C: [3, 5], D: [1, 2] });
    expect(p.plan.offsets).toEqual({ A: 512, B: 0, C: 0, D: 256 });
    expect(p.plan.arenaBytes).toBe(1536);
  });

  it("keeps the given order when reordering does not lower the peak", () => {
    const p = plan(chain().build());
    expect(p.kernels.map((k) => k.name)).toEqual(["k0", "k1", "k2"]);
  });

  it("grows a free block at the end of the arena rather than starting a new one", () => {
    // A [0, 256) stays; B [256, 512) dies at k2; C needs 512 B: it starts at 256 and the arena ends at 768.
    const b = new ProgramBuilder()
      .param("x", f32(64))
      .param("z", f32(128))
      .temp("A", f32(64))
      .temp("B", f32(64))
      .temp("C", f32(128))
      .result("out0", f32(64))
      .result("out1", f32(128));
    b.kernel([{ out: "A", value: add(b.at("x"), one) }]);
    b.kernel([{ out: "B", value: mul(b.at("x"), two) }]);
    b.kernel([{ out: "out0", value: add(b.at("B"), b.at("x")) }]);
    b.kernel([{ out: "C", value: mul(b.at("z"), two) }]);
    b.kernel([{ out: "out1", value: add(b.at("C"), b.at("A", imod(idx("p0"), 64))) }]);
    const m = plan(b.build()).plan;
    expect(m.offsets).toEqual({ A: 0, B: 256, C: 256 });
    expect(m.arenaBytes).toBe(768);
  });

  it("aligns every temp to 256 bytes", () => {
    // 100 f32 = 400 B takes 512; 3 bools take 256.
    const b = new ProgramBuilder().param("x", f32(100)).temp("t0", f32(100)).temp("t1", ty("bool", 3)).result("out0", f32(100));
    b.kernel([{ out: "t0", value: add(b.at("x"), one) }]);
    b.kernel([{ out: "t1", value: sop("gt", [b.at("x"), lit(0, "float32")], "bool") }]);
    b.kernel([{ out: "out0", value: sop("select", [b.at("t1", lit(0, "int32")), b.at("t0"), one], "float32") }]);
    const m = plan(b.build()).plan;
    expect(m.offsets).toEqual({ t0: 0, t1: 512 });
    expect(m.arenaBytes).toBe(768);
    expect(m.naivePeakBytes).toBe(768);
  });

  it("keeps params, results and consts out of the arena", () => {
    const b = new ProgramBuilder().param("x", f32(256)).buffer("c0", f32(256), "const").temp("t0", f32(256)).result("out0", f32(256));
    b.kernel([{ out: "t0", value: add(b.at("x"), b.at("c0")) }]);
    b.kernel([{ out: "out0", value: mul(b.at("t0"), b.at("c0")) }]);
    const m = plan(b.build()).plan;
    expect(Object.keys(m.offsets)).toEqual(["t0"]);
    expect(Object.keys(m.liveRanges)).toEqual(["t0"]);
    expect(m.arenaBytes).toBe(1024);
  });

  it("keeps a scatter-add target alive from its copy to its last reader", () => {
    const b = new ProgramBuilder()
      .param("a", f32(8))
      .param("i", ty("int32", 3))
      .param("u", f32(3))
      .temp("t0", f32(8))
      .temp("t1", f32(8))
      .result("out0", f32(8));
    b.kernel([{ out: "t0", value: b.at("a") }]);
    b.kernel([{ out: "t0", value: b.at("u"), index: b.at("i"), mode: "add" }], { kind: "scatter", grid: [3] });
    b.kernel([{ out: "t1", value: mul(b.at("t0"), two) }]);
    b.kernel([{ out: "out0", value: add(b.at("t1"), b.at("a")) }]);
    const m = plan(b.build()).plan;
    expect(m.liveRanges).toEqual({ t0: [0, 2], t1: [2, 3] });
    expect(m.inPlace).toEqual([{ kernel: "k2", output: "t1", input: "t0" }]);
    expect(m.arenaBytes).toBe(256);
  });

  it("keeps a temp written again later (never read in between) alive until that write", () => {
    const b = new ProgramBuilder().param("x", f32(64)).temp("t0", f32(64)).temp("t1", f32(64)).result("out0", f32(64));
    b.kernel([{ out: "t0", value: b.at("x") }]);
    b.kernel([{ out: "t1", value: b.at("x") }]);
    b.kernel([{ out: "t0", value: b.at("x") }]);
    b.kernel([{ out: "out0", value: add(b.at("t0"), b.at("t1")) }]);
    const m = plan(b.build()).plan;
    expect(m.liveRanges).toEqual({ t0: [0, 3], t1: [1, 3] });
    expect(m.offsets).toEqual({ t0: 0, t1: 256 });
  });

  it("hands over no temp that is first touched by the kernel that would take it", () => {
    // t1 is read by k0 before anything writes it: it has no place yet, so t0 gets its own.
    const b = new ProgramBuilder().param("x", f32(64)).temp("t0", f32(64)).temp("t1", f32(64)).result("out0", f32(64));
    b.kernel([{ out: "t0", value: add(b.at("x"), b.at("t1")) }]);
    b.kernel([{ out: "out0", value: b.at("t0") }]);
    const m = plan(b.build()).plan;
    expect(m.inPlace).toEqual([]);
    expect(m.liveRanges).toEqual({ t0: [0, 1], t1: [0, 0] });
    expect(m.offsets).toEqual({ t0: 0, t1: 256 });
  });
});

describe("plan: donation", () => {
  /** out0 = x * 2 (+ a second kernel out1 = x + 1 when `readLater`). */
  const update = (readLater: boolean) => {
    const b = new ProgramBuilder().param("x", f32(256)).param("g", f32(256)).result("out0", f32(256));
    if (readLater) b.result("out1", f32(256));
    b.kernel([{ out: "out0", value: add(b.at("x"), b.at("g")) }]);
    if (readLater) b.kernel([{ out: "out1", value: add(b.at("x"), one) }]);
    return b.build();
  };

  it("lets a result take a donated param's storage where the param dies", () => {
    expect(plan(update(false), { donate: ["x"] }).plan.inPlace).toEqual([{ kernel: "k0", output: "out0", input: "x" }]);
    expect(plan(update(false), { donate: ["x"] }).plan.arenaBytes).toBe(0);
    expect(plan(update(false)).plan.inPlace).toEqual([]);
    expect(plan(update(true), { donate: ["x"] }).plan.inPlace).toEqual([{ kernel: "k1", output: "out1", input: "x" }]);
    const both = plan(update(true), { donate: ["x", "g"] }).plan.inPlace;
    expect(both).toEqual([
      { kernel: "k0", output: "out0", input: "g" },
      { kernel: "k1", output: "out1", input: "x" },
    ]);
  });

  it("never reuses a donated param the program also returns", () => {
    const b = new ProgramBuilder().param("x", f32(256)).result("out0", f32(256));
    b.kernel([{ out: "out0", value: mul(b.at("x"), two) }]);
    const p = b.returning("out0", "x").build();
    expect(plan(p, { donate: ["x"] }).plan.inPlace).toEqual([]);
  });

  it("rejects donating a buffer that is not a param", () => {
    expect(() => plan(chain().build(), { donate: ["t0"] })).toThrow(SmeltError);
    expect(() => plan(chain().build(), { donate: ["nope"] })).toThrow(/not a param/);
  });
});

describe("printPlanned", () => {
  it("appends each temp's place, size and live range and the in-place decisions to the program text", () => {
    const p = plan(chain().build());
    const text = printPlanned(p);
    const program = printProgram(p).split("\n");
    const lines = text.split("\n");
    expect(lines.slice(0, program.length - 1)).toEqual(program.slice(0, -1));
    expect(lines.slice(program.length - 1)).toEqual([
      "  memory plan: arena 1024 bytes (naive 2048 bytes)",
      "    %t0: f32[256] at [0, 1024) live k0..k1",
      "    %t1: f32[256] at [0, 1024) live k1..k2",
      "    in place: k1 writes %t1 over %t0",
      "}",
    ]);
  });
});

// ------------------------------------------------------------ random schedules

interface TempSpec {
  readonly dtype: DType;
  readonly n: number;
}
interface ReadSpec {
  readonly temp: number;
  /** Read at a different element than the grid point writes. */
  readonly shifted: boolean;
  /** Which of the kernel's stores (modulo their count) reads it. */
  readonly store: number;
}
interface KernelSpec {
  readonly writes: readonly number[];
  readonly reads: readonly ReadSpec[];
  readonly elementwise: boolean;
}

const schedule = fc
  .array(
    fc.record({
      dtype: fc.constantFrom<DType>("float32", "int32", "float16", "bool"),
      // Mostly a few shared sizes, so that outputs often match a dying input.
      n: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 8, 64, 300) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) }),
    }),
    {
      minLength: 1,
      maxLength: 8,
    },
  )
  .chain((temps) => {
    const t = fc.integer({ min: 0, max: temps.length - 1 });
    const kernel = fc.record({
      writes: fc.uniqueArray(t, { maxLength: 3 }),
      reads: fc.array(fc.record({ temp: t, shifted: fc.boolean(), store: fc.nat(3) }), { maxLength: 4 }),
      elementwise: fc.boolean(),
    });
    return fc.record({ temps: fc.constant(temps), kernels: fc.array(kernel, { minLength: 1, maxLength: 10 }) });
  });

const bytesOf = (t: TempSpec) => Math.ceil((t.n * (t.dtype === "bool" ? 1 : t.dtype === "float16" ? 2 : 4)) / 256) * 256;

/** Every kernel stores its temps (in order) and then a result of its own. */
function buildSchedule(temps: readonly TempSpec[], kernels: readonly KernelSpec[]) {
  const b = new ProgramBuilder().param("x", f32(1));
  temps.forEach((t, i) => b.temp(`t${i}`, ty(t.dtype, t.n)));
  kernels.forEach((_, i) => b.result(`r${i}`, f32(1)));
  kernels.forEach((k, i) => {
    const outs = [...k.writes.map((w) => `t${w}`), `r${i}`];
    const values: Expr[][] = outs.map(() => []);
    for (const r of k.reads) {
      const at = r.shifted ? sop("sub", [lit(7, "int32"), idx("p0")], "int32") : idx("p0");
      values[r.store % outs.length]!.push(b.at(`t${r.temp}`, at));
    }
    const stores: StoreSpec[] = outs.map((out, j) => ({
      out,
      value: values[j]!.reduce((a, e) => sop("add", [a, e], "float32"), b.at("x", lit(0, "int32"))),
    }));
    b.kernel(stores, { kind: k.elementwise ? "elementwise" : "reduce", grid: [8] });
  });
  return b.build();
}

/** [first kernel touching each temp, last kernel touching it], from the specs alone. */
function expectedRanges(kernels: readonly KernelSpec[]): Map<number, [number, number]> {
  const m = new Map<number, [number, number]>();
  kernels.forEach((k, i) => {
    for (const t of [...k.writes, ...k.reads.map((r) => r.temp)]) {
      const r = m.get(t);
      if (r) r[1] = i;
      else m.set(t, [i, i]);
    }
  });
  return m;
}

/** Whether `b` must run after `a` (a before b in the program): one writes a temp the other touches. */
function conflict(a: KernelSpec, b: KernelSpec): boolean {
  const touches = (k: KernelSpec) => new Set([...k.writes, ...k.reads.map((r) => r.temp)]);
  const [ta, tb] = [touches(a), touches(b)];
  return a.writes.some((t) => tb.has(t)) || b.writes.some((t) => ta.has(t));
}

describe("plan: random schedules", () => {
  it("never overlaps two temps that are alive at once, and fits the live bytes of every kernel", () => {
    fc.assert(
      fc.property(schedule, ({ temps, kernels: given }) => {
        const planned = plan(buildSchedule(temps, given));
        const m = planned.plan;
        // The kernels run in the planned order: every pair that conflicts keeps its order.
        const order = planned.kernels.map((k) => Number(k.name.slice(1)));
        expect([...order].sort((a, b) => a - b)).toEqual(given.map((_, i) => i));
        given.forEach((a, i) =>
          given.forEach((b, j) => {
            if (i < j && conflict(a, b)) expect(order.indexOf(i)).toBeLessThan(order.indexOf(j));
          }),
        );
        expect(m.peakBytes).toBeLessThanOrEqual(plan(buildSchedule(temps, given), { schedule: false }).plan.peakBytes);
        const kernels = order.map((i) => given[i]!);
        const ranges = expectedRanges(kernels);
        const name = (i: number) => `t${i}`;
        const index = (n: string) => Number(n.slice(1));
        expect(Object.keys(m.liveRanges).sort()).toEqual([...ranges.keys()].map(name).sort());
        for (const [t, r] of ranges) expect(m.liveRanges[name(t)]).toEqual(r);
        expect(Object.keys(m.offsets).sort()).toEqual(Object.keys(m.liveRanges).sort());

        // Each in-place decision, checked against the specs: a kernel (no reductions here, of
        // any kind) where the input dies and the output is born, same bytes per element and
        // count, every read of the input unshifted and in a store no later than the output's.
        const pairs = new Set<string>();
        for (const p of m.inPlace) {
          const ki = order.indexOf(Number(p.kernel.slice(1)));
          const k = kernels[ki]!;
          const [o, i] = [index(p.output), index(p.input)];
          expect(ranges.get(i)![1]).toBe(ki);
          expect(ranges.get(o)![0]).toBe(ki);
          expect(temps[o]!.n).toBe(temps[i]!.n);
          expect(bytesOf(temps[o]!)).toBe(bytesOf(temps[i]!));
          expect(k.writes).toContain(o);
          expect(k.writes).not.toContain(i);
          const nStores = k.writes.length + 1;
          const outStore = k.writes.indexOf(o);
          for (const r of k.reads.filter((r) => r.temp === i)) {
            expect(r.shifted).toBe(false);
            expect(r.store % nStores).toBeLessThanOrEqual(outStore);
          }
          expect(k.reads.some((r) => r.temp === o)).toBe(false);
          expect(m.offsets[p.output]).toBe(m.offsets[p.input]);
          pairs.add(`${p.input}>${p.output}`);
        }
        expect(new Set(m.inPlace.map((p) => p.input)).size).toBe(m.inPlace.length);

        const live = [...ranges.keys()];
        for (const t of live) {
          expect(m.offsets[name(t)]! % 256).toBe(0);
          expect(m.offsets[name(t)]! + bytesOf(temps[t]!)).toBeLessThanOrEqual(m.arenaBytes);
        }
        for (const a of live) {
          for (const b of live) {
            if (a >= b) continue;
            const [ra, rb] = [ranges.get(a)!, ranges.get(b)!];
            if (ra[1] < rb[0] || rb[1] < ra[0]) continue;
            if (pairs.has(`${name(a)}>${name(b)}`) || pairs.has(`${name(b)}>${name(a)}`)) continue;
            const [oa, ob] = [m.offsets[name(a)]!, m.offsets[name(b)]!];
            const disjoint = oa + bytesOf(temps[a]!) <= ob || ob + bytesOf(temps[b]!) <= oa;
            expect(disjoint, `t${a} and t${b} are both alive in kernels ${Math.max(ra[0], rb[0])}..`).toBe(true);
          }
        }
        kernels.forEach((_, k) => {
          const alive = live.filter((t) => ranges.get(t)![0] <= k && k <= ranges.get(t)![1]);
          const kernel = `k${order[k]}`;
          const shared = m.inPlace.filter((p) => p.kernel === kernel).reduce((s, p) => s + bytesOf(temps[index(p.input)]!), 0);
          const bytes = alive.reduce((s, t) => s + bytesOf(temps[t]!), 0) - shared;
          expect(m.arenaBytes).toBeGreaterThanOrEqual(bytes);
        });
        expect(m.peakBytes).toBe(m.arenaBytes);
        expect(m.arenaBytes).toBeLessThanOrEqual(m.naivePeakBytes);
        expect(m.naivePeakBytes).toBe(temps.reduce((s, t) => s + bytesOf(t), 0));
      }),
      { numRuns: 1000 },
    );
  });
});
