// Fusion: decides which values are materialized in buffers and lowers the func to kernels.
//
// Every value not materialized is computed inline, at the index its consumer asks for: movement
// ops become index arithmetic, elementwise ops become scalar expressions, and a reduction (or a
// matmul) becomes a loop of the kernel that needs it, when that kernel asks for it at one index
// per grid point. Which values to materialize is decided in steps:
// - what the strategy forces (results, constants, scatters; every op under "none"; reductions
//   and their operands under "elementwise");
// - the sharing rule, in one sweep from the results back: a value several kernels compute
//   inline is materialized when it is too dear to recompute;
// - rounds of building every kernel, each materializing what a kernel asks for (a reduction
//   needed inside a row loop, over the nesting limit, or computed again for grid points it does
//   not depend on; the buffer limit), until no kernel asks;
// - under "full", a local search that takes sharing decisions back one value at a time when the
//   program then launches fewer kernels or moves fewer bytes.
// Under "full", scatters that are take_along_axis gradients become one-hots first (onehot.ts).
// Kernels over the same grid are merged at the end.
import {
  type DType,
  type Expr,
  type Func,
  type FusionNote,
  type Kernel,
  type KernelBuffer,
  type KernelKind,
  type Loop,
  type Op,
  type Program,
  type ProgramBuffer,
  type Reduction,
  type Store,
  type Value,
  cvt,
  exprEqual,
  itemsize,
  freeVars,
  mapExpr,
  iadd,
  idiv,
  idx,
  imod,
  imul,
  lit,
  load,
  registry,
  size,
  sop,
  strides,
  typeStr,
} from "../ir/index.js";
import type { ReduceOp } from "../ir/kernel.js";
import { oneHotScatters } from "./onehot.js";
import { rowRenaming } from "./regions.js";

export type FusionStrategy = "none" | "elementwise" | "full";

export interface FuseOptions {
  readonly strategy?: FusionStrategy;
  /** Metal allows 31 buffer slots; one holds the kernel's metadata. */
  readonly maxBuffers?: number;
  /** An inlined value used by several kernels is recomputed when it costs at most this many ops. */
  readonly recomputeLimit?: number;
}

const MAX_ROUNDS = 64;

interface Cost {
  readonly ops: number;
  readonly buffers: number;
}

/** The materialization decisions, as the search saves and restores them. */
interface Decisions {
  readonly materialized: ReadonlyMap<Value, string>;
  readonly forSharing: ReadonlySet<Value>;
  readonly storeOnly: ReadonlySet<Value>;
  readonly pinned: ReadonlySet<Value>;
}

/** How a kernel sees a value: read from a buffer, computed inline, or inline because the search says so. */
type Status = "buffer" | "inline" | "pinned";

/** What a build looked at: body positions and the status each had. */
interface Looked {
  readonly at: readonly number[];
  readonly was: readonly Status[];
}
/** A reduction nests inside another's loop only when it is this small (each thread runs it serially). */
const NEST_LIMIT = 256;

/** A reduction over at most this many elements may be computed again by each kernel that uses it. */
const SMALL_REDUCTION = 32;
/** Each trial of the search settles the whole program again: a long program tries its latest values only. */
const MAX_TRIALS = 32;

/** Lowers a func to kernel IR. */
export function fuse(func: Func, opts: FuseOptions = {}): Program {
  const strategy = opts.strategy ?? "full";
  const options = { strategy, maxBuffers: opts.maxBuffers ?? 30, recomputeLimit: opts.recomputeLimit ?? 8 };
  // The report names values as the given func prints them.
  const names = valueNames(func);
  return new Fuser(strategy === "full" ? oneHotScatters(func) : func, options, names).run();
}

interface Options {
  readonly strategy: FusionStrategy;
  readonly maxBuffers: number;
  readonly recomputeLimit: number;
}

const REDUCE_OP: Partial<Record<string, ReduceOp>> = {
  reduce_sum: "sum",
  reduce_prod: "prod",
  reduce_max: "max",
  reduce_min: "min",
  argmax: "argmax",
  argmin: "argmin",
};

/** The graph-IR name of a value, as the printer shows it (for the fusion report). */
function valueNames(func: Func): ReadonlyMap<Value, string> {
  const m = new Map<Value, string>();
  func.params.forEach((p, i) => m.set(p, `%${p.name ?? `arg${i}`}`));
  func.body.forEach((op, i) => m.set(op.result, `%${i}`));
  return m;
}

class Fuser {
  private readonly def = new Map<Value, Op>();
  /** Materialized values and why. */
  private readonly materialized = new Map<Value, string>();
  /** Values stored only because the func returns them: consumers may still recompute them. */
  private readonly storeOnly = new Set<Value>();
  private readonly results: Set<Value>;
  /** Each op's result -> its position in the body. */
  private readonly order = new Map<Value, number>();

  constructor(
    private readonly func: Func,
    private readonly opts: Options,
    private readonly names: ReadonlyMap<Value, string>,
  ) {
    for (const op of func.body) {
      this.order.set(op.result, this.order.size);
      this.def.set(op.result, op);
    }
    this.results = new Set(func.results);
  }

  run(): Program {
    this.seed();
    this.shareLatestFirst();
    // Nothing is pinned yet: settling cannot give up.
    const drafts = this.settle()!;
    return this.finish(this.opts.strategy === "full" ? this.unshare(drafts) : drafts);
  }

  /**
   * Builds every kernel and materializes what they ask for, until they ask for nothing. Gives up
   * (undefined) when a kernel asks for a value the search is trying not to materialize. With
   * `pinShared` (a trial of the search), a value that becomes shared and is cheap to recompute
   * is kept inline instead (the difference of softmax's inputs and its max, once the max is).
   */
  private settle(pinShared = false): KernelDraft[] | undefined {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const built = this.buildAll();
      if (built.needs.size === 0) return built.kernels;
      for (const v of built.needs.keys()) if (this.pinned.has(v)) return undefined;
      const cheap = pinShared && built.sharing ? [...built.needs.keys()].filter((v) => this.cheapToRecompute(v)) : [];
      if (cheap.length > 0) {
        cheap.forEach((v) => this.inline(v));
        continue;
      }
      const progress = this.materializeLatestFirst(built.needs);
      if (built.sharing) for (const v of built.needs.keys()) if (this.isBuffer(v)) this.forSharing.add(v);
      if (!progress) {
        const asks = [...built.needs.values()].join("; ");
        throw new Error(`fuse: @${this.func.name} asks again for values already materialized (${asks})`);
      }
    }
    throw new Error(`fuse: no fixed point for @${this.func.name} after ${MAX_ROUNDS} rounds`);
  }

  /** Values materialized because several kernels use them (not for a structural reason). */
  private readonly forSharing = new Set<Value>();
  /** Values the search keeps inline: kernels that share them recompute them. */
  private readonly pinned = new Set<Value>();

  /**
   * Local search over the sharing decisions, which the rules make one value at a time: each
   * value materialized only because several kernels use it is tried inline again (latest
   * first, with the cheap values that become shared in its place), and stays inline when the
   * program then launches fewer kernels or moves fewer bytes and neither gets worse. Softmax's
   * max, exp and sum, each stored because the loss and the gradient both use it, all go back
   * into the row kernel that way. A value tried must stay cheap to recompute: an elementwise
   * chain within the recompute limit (scalar constants are free: they are literals in the
   * kernel), or a reduction over at most SMALL_REDUCTION elements; and no kernel may compute it
   * again for grid points it does not depend on (see requireOncePerElement).
   */
  private unshare(drafts: KernelDraft[]): KernelDraft[] {
    let best = drafts;
    let score = this.score(drafts);
    // A returned value keeps its store (and its kernel): only the others are tried.
    const candidates = [...this.forSharing].filter((v) => !this.results.has(v) && this.cheapToRecompute(v));
    candidates.sort((a, b) => this.order.get(b)! - this.order.get(a)!);
    for (const v of candidates.slice(0, MAX_TRIALS)) {
      if (!this.forSharing.has(v)) continue;
      const saved = this.decisions();
      this.inline(v);
      const trial = this.settle(true);
      const s = trial && this.score(trial);
      if (s && s.kernels <= score.kernels && s.bytes <= score.bytes && (s.kernels < score.kernels || s.bytes < score.bytes)) {
        [best, score] = [trial, s];
        continue;
      }
      this.restore(saved);
    }
    return best;
  }

  private decisions(): Decisions {
    const { materialized, forSharing, storeOnly, pinned } = this;
    return { materialized: new Map(materialized), forSharing: new Set(forSharing), storeOnly: new Set(storeOnly), pinned: new Set(pinned) };
  }

  private restore(d: Decisions): void {
    const refill = <T>(target: Set<T>, from: ReadonlySet<T>) => {
      target.clear();
      from.forEach((x) => target.add(x));
    };
    this.materialized.clear();
    d.materialized.forEach((why, v) => this.materialized.set(v, why));
    refill(this.forSharing, d.forSharing);
    refill(this.storeOnly, d.storeOnly);
    refill(this.pinned, d.pinned);
  }

  /** Takes `v` out of the materialized values for good (a returned value keeps its store). */
  private inline(v: Value): void {
    if (this.results.has(v)) {
      this.storeOnly.add(v);
      this.materialized.set(v, `returned by @${this.func.name}`);
    } else {
      this.materialized.delete(v);
    }
    this.forSharing.delete(v);
    this.pinned.add(v);
  }

  private cheapToRecompute(v: Value): boolean {
    const d = this.def.get(v)!;
    const cls = registry[d.op].fusion;
    if (cls === "reduce" || cls === "contraction") return reductionExtent(d) <= SMALL_REDUCTION;
    const c = this.inlineCost(v, true);
    return c.ops <= this.opts.recomputeLimit && c.buffers <= 3;
  }

  /** Kernels launched and bytes they move (each buffer a kernel touches, once). */
  private score(drafts: readonly KernelDraft[]): { kernels: number; bytes: number } {
    const kernels = this.assemble(drafts);
    let bytes = 0;
    for (const k of kernels) for (const v of k.buffers) bytes += size(v.type.shape) * itemsize(v.type.dtype);
    return { kernels: kernels.length, bytes };
  }

  /**
   * Materializes the latest of the needed values first and skips the values it already covers
   * (those it computes inline): storing the end of a shared chain un-shares all of the chain.
   */
  private materializeLatestFirst(needs: ReadonlyMap<Value, string>): boolean {
    const order = this.order;
    const latestFirst = [...needs].sort(([a], [b]) => (order.get(b) ?? -1) - (order.get(a) ?? -1));
    const covered = new Set<Value>();
    let progress = false;
    for (const [v, why] of latestFirst) {
      if (covered.has(v)) continue;
      progress = this.materialize(v, why) || progress;
      const stack = [...(this.def.get(v)?.operands ?? [])];
      while (stack.length) {
        const u = stack.pop()!;
        if (covered.has(u) || this.isBuffer(u)) continue;
        covered.add(u);
        stack.push(...(this.def.get(u)?.operands ?? []));
      }
    }
    return progress;
  }

  /** A value a rewrite before fusion made is named by its place in the rewritten func, primed. */
  private nameOf(v: Value): string {
    return this.names.get(v) ?? `%${this.order.get(v)}'`;
  }

  /** Returns whether anything changed. */
  private materialize(v: Value, why: string): boolean {
    if (this.materialized.has(v) && !this.storeOnly.has(v)) return false;
    this.storeOnly.delete(v);
    this.materialized.set(v, why);
    return true;
  }

  /** What the strategy forces before any kernel is built. */
  private seed(): void {
    const { strategy } = this.opts;
    for (const v of this.func.results) {
      const d = this.def.get(v);
      if (!d) continue;
      this.materialized.set(v, `returned by @${this.func.name}`);
      const cls = registry[d.op].fusion;
      if (cls === "elementwise" || cls === "movement" || cls === "random") this.storeOnly.add(v);
    }
    for (const op of this.func.body) {
      const v = op.result;
      const cls = registry[op.op].fusion;
      if (op.op === "constant" && size(v.type.shape) > 1) this.materialize(v, "constant data");
      if (cls === "scatter") this.materialize(v, "scatter_add writes its result in place");
      if (strategy === "none" && !(op.op === "constant")) {
        this.materialize(v, "strategy none: one kernel per primitive");
      }
      if (strategy === "elementwise") {
        if (cls === "reduce" || cls === "contraction" || cls === "gather" || cls === "random" || cls === "source") {
          if (op.op !== "constant") this.materialize(v, `strategy elementwise: ${cls} ops are kernels of their own`);
        }
        if (cls === "reduce" || cls === "contraction" || cls === "gather" || cls === "scatter") {
          for (const o of op.operands) {
            const src = this.throughViews(o);
            const sd = this.def.get(src);
            if (sd && registry[sd.op].fusion === "elementwise") {
              this.materialize(src, `strategy elementwise: operand of ${op.op} is not fused into it`);
            }
          }
        }
      }
    }
  }

  private throughViews(v: Value): Value {
    let d = this.def.get(v);
    while (d && registry[d.op].fusion === "movement") {
      v = d.operands[0]!;
      d = this.def.get(v);
    }
    return v;
  }

  private isBuffer(v: Value): boolean {
    return !this.def.has(v) || (this.materialized.has(v) && !this.storeOnly.has(v));
  }

  // ------------------------------------------------------------ building kernels

  private buildAll(): { kernels: KernelDraft[]; needs: Map<Value, string>; sharing: boolean } {
    this.statuses = this.func.body.map((o) => this.status(o.result));
    const kernels: KernelDraft[] = [];
    const needs = new Map<Value, string>();
    /** How many kernels compute each value inline (a draft counts each of its values once). */
    const inlinedBy = new Map<Value, number>();
    const roots = this.func.body.map((o) => o.result).filter((v) => this.materialized.has(v) && this.needsKernel(v));
    for (const root of roots) {
      for (const draft of this.buildCached(root)) {
        for (const [v, why] of draft.needs) if (!needs.has(v)) needs.set(v, why);
        const use = (v: Value) => inlinedBy.set(v, (inlinedBy.get(v) ?? 0) + 1);
        draft.inlined.forEach(use);
        for (const v of draft.writes) if (this.storeOnly.has(v) && !draft.inlined.has(v)) use(v);
        kernels.push(draft);
      }
    }
    // Sharing is decided first: storing a shared value often removes the other reasons.
    const structural = new Map(needs);
    needs.clear();
    for (const [v, uses] of inlinedBy) {
      const why = this.tooDearToShare(v, uses);
      if (why) needs.set(v, why);
    }
    if (needs.size) return { kernels, needs, sharing: true };
    if (structural.size) return { kernels, needs: structural, sharing: false };
    for (const k of kernels) {
      if (k.buffers.size <= this.opts.maxBuffers) continue;
      const v = this.largestInlined(k);
      if (v) needs.set(v, `kernel would take ${k.buffers.size} buffers (limit ${this.opts.maxBuffers} + metadata)`);
    }
    return { kernels, needs, sharing: false };
  }

  /** A value inlined into several kernels: recomputed when cheap, else materialized once (and why). */
  private tooDearToShare(v: Value, uses: number): string | undefined {
    if (uses < 2 || this.pinned.has(v)) return undefined;
    const d = this.def.get(v)!;
    const cls = registry[d.op].fusion;
    if (cls === "reduce" || cls === "contraction") return `${d.op} result needed by ${uses} kernels`;
    const cost = this.cost(v);
    if (cost.ops > this.opts.recomputeLimit || cost.buffers > 3) {
      return `used by ${uses} kernels; recomputing costs ${cost.ops} ops over ${cost.buffers} buffers`;
    }
    return undefined;
  }

  /**
   * Applies the sharing rule before any kernel is built, in one sweep from the results back: the
   * kernels that compute a value inline are those of its users, so each value is decided after
   * every value that reads it, as rounds of building would decide them latest first, without
   * building the whole program inline first. The rounds then find only what a build reveals.
   * Kernels are numbered by their root's position in the body, twice for a scatter (its copy and
   * its adds).
   */
  private shareLatestFirst(): void {
    const inline = new Map<Value, Set<number>>();
    const body = this.func.body;
    for (let i = body.length - 1; i >= 0; i--) {
      const v = body[i]!.result;
      const uses = new Set(inline.get(v));
      if (this.storeOnly.has(v) && this.needsKernel(v)) uses.add(2 * i);
      if (!this.isBuffer(v)) {
        const why = this.tooDearToShare(v, uses.size);
        if (why) {
          this.materialize(v, why);
          this.forSharing.add(v);
        }
      }
      const own: number[] = this.materialized.has(v) && this.needsKernel(v) ? [2 * i] : [];
      const through = this.isBuffer(v) ? [] : [...uses];
      body[i]!.operands.forEach((x, j) => {
        if (this.isBuffer(x)) return;
        const scatterAdds = body[i]!.op === "scatter_add" && j > 0;
        if (scatterAdds && size(body[i]!.operands[2]!.type.shape) === 0) return;
        const set = inline.get(x) ?? new Set<number>();
        for (const k of own) set.add(scatterAdds ? k + 1 : k);
        for (const k of through) set.add(k);
        inline.set(x, set);
      });
    }
  }

  /**
   * Drafts of each root from earlier rounds, with the status of every value they looked at (a
   * few versions: the search goes back to earlier states).
   */
  private readonly built = new Map<Value, { readonly drafts: KernelDraft[]; readonly looked: Looked }[]>();
  /** The ops' results the root being built asked about (by position in the body), and what they were. */
  private looked = new Map<number, Status>();
  /** Each op's result's status this round, by position (statuses change only between rounds). */
  private statuses: Status[] = [];

  /**
   * A root's kernels depend only on the status of the values they looked at: a round rebuilds
   * only the roots that looked at a value materialized (or pinned) since.
   */
  private buildCached(root: Value): KernelDraft[] {
    const versions = this.built.get(root) ?? [];
    const hit = versions.find((b) => this.unchanged(b.looked));
    if (hit) return hit.drafts;
    this.looked = new Map();
    const drafts = this.buildRoot(root);
    const looked = { at: [...this.looked.keys()], was: [...this.looked.values()] };
    this.built.set(root, [{ drafts, looked }, ...versions.slice(0, 3)]);
    return drafts;
  }

  private unchanged(looked: Looked): boolean {
    const { at, was } = looked;
    for (let i = 0; i < at.length; i++) if (this.statuses[at[i]!] !== was[i]) return false;
    return true;
  }

  private status(v: Value): Status {
    return this.isBuffer(v) ? "buffer" : this.pinned.has(v) ? "pinned" : "inline";
  }

  private needsKernel(v: Value): boolean {
    const d = this.def.get(v)!;
    return !(d.op === "constant") && size(v.type.shape) > 0;
  }

  /** Costs, with the values each walk looked at and whether each was a buffer then. */
  private readonly costs = new Map<Value, { readonly cost: Cost; readonly at: readonly Value[]; readonly was: readonly boolean[] }>();

  /** `inlineCost(v)`, reused while no value its walk looked at has changed status. */
  private cost(v: Value): Cost {
    const hit = this.costs.get(v);
    if (hit && hit.at.every((x, i) => this.isBuffer(x) === hit.was[i])) return hit.cost;
    const at: Value[] = [];
    const cost = this.inlineCost(v, false, at);
    this.costs.set(v, { cost, at, was: at.map((x) => this.isBuffer(x)) });
    return cost;
  }

  /**
   * Ops and distinct buffers in the inline expression of `v` (scalar constants free, if asked);
   * `looked` collects the values whose status the walk depended on.
   */
  private inlineCost(v: Value, constantsFree = false, looked: Value[] = []): Cost {
    const seen = new Set<Value>();
    const bufs = new Set<Value>();
    let ops = 0;
    // `v` itself counts as inline, even while it is materialized.
    const walk = (x: Value) => {
      if (seen.has(x)) return;
      seen.add(x);
      if (x !== v) looked.push(x);
      if (x !== v && this.isBuffer(x)) {
        bufs.add(x);
        return;
      }
      const d = this.def.get(x)!;
      const cls = registry[d.op].fusion;
      const free = cls === "movement" || (constantsFree && d.op === "constant" && size(x.type.shape) <= 1);
      if (!free) ops++;
      // An inline reduction is decided by its own sharing rule: the walk stops there.
      if (cls === "reduce" || cls === "contraction") return;
      d.operands.forEach(walk);
    };
    walk(v);
    return { ops, buffers: bufs.size };
  }

  private largestInlined(k: KernelDraft): Value | undefined {
    let best: Value | undefined;
    let most = 0;
    for (const v of k.inlined) {
      const c = this.cost(v).buffers;
      if (c > most && c < k.buffers.size) [best, most] = [v, c];
    }
    return best;
  }

  private buildRoot(root: Value): KernelDraft[] {
    const d = this.def.get(root)!;
    if (d.op === "scatter_add") return this.buildScatter(d as Op<"scatter_add">);
    const shape = root.type.shape;
    // First pass: every dim in the grid. Dims no inlined reduction depends on then become a store
    // loop run by the whole threadgroup: the row pattern (softmax, layernorm).
    const first = new KernelBuilder(this, shape.map((n, i) => ({ v: `p${i}`, extent: n })), []);
    first.storeRoot(root);
    if (first.reductions.length === 0 || this.opts.strategy !== "full") return [first.draft(root)];
    // A row reduction is keyed by only some of the (non-trivial) grid dims.
    const gridDims = shape.flatMap((n, i) => (n > 1 ? [`p${i}`] : []));
    const isRow = (i: number) => first.reductions[i]!.scope.length === 0 && gridDims.some((v) => !first.reductionKeys[i]!.has(v));
    const rows = first.reductions.map((_, i) => i).filter(isRow);
    if (rows.length === 0) return [first.sharedDraft(root)];
    if (first.reductionValues.includes(root)) {
      // The root is itself a reduction (a matmul of row-normalized input, say): each of its
      // elements would recompute the rows, so the rows are computed once instead.
      for (const i of rows) {
        first.require(first.reductionValues[i]!, "a row reduction feeding another reduction is computed once, not once per element");
      }
      return [first.sharedDraft(root)];
    }
    // Any other reduction here is per element (a matmul element, or one nested in a row
    // reduction): inside the row pattern it would be recomputed for every element of the row.
    const perElement = first.reductions.map((_, i) => i).filter((i) => !isRow(i));
    if (perElement.length > 0) {
      for (const i of perElement) {
        first.require(first.reductionValues[i]!, "a per-element reduction feeding a row pattern is computed once, not once per row element");
      }
      // The rows become a row kernel once these are materialized.
      return [first.sharedDraft(root, new Set(rows))];
    }
    const keyed = new Set<string>();
    for (const i of rows) for (const v of first.reductionKeys[i]!) keyed.add(v);
    const rowDims = shape.map((_, i) => i).filter((i) => !keyed.has(`p${i}`) && shape[i]! > 1);
    const grid: Loop[] = [];
    const loops: Loop[] = [];
    const vars = shape.map((n, i) => {
      if (rowDims.includes(i)) {
        const l = { v: `c${loops.length}`, extent: n };
        loops.push(l);
        return l.v;
      }
      const l = { v: `p${grid.length}`, extent: n };
      grid.push(l);
      return l.v;
    });
    const row = new KernelBuilder(this, grid, loops, vars);
    row.storeRoot(root);
    return [row.sharedDraft(root)];
  }

  private buildScatter(op: Op<"scatter_add">): KernelDraft[] {
    const root = op.result;
    const [a, indices, updates] = op.operands as [Value, Value, Value];
    const axis = op.attrs.axis;
    const copy = new KernelBuilder(
      this,
      root.type.shape.map((n, i) => ({ v: `p${i}`, extent: n })),
      [],
    );
    copy.storeValueAs(root, a);
    const drafts = [copy.sharedDraft(root)];
    if (size(updates.type.shape) === 0) return drafts;
    const add = new KernelBuilder(
      this,
      updates.type.shape.map((n, i) => ({ v: `p${i}`, extent: n })),
      [],
    );
    const u = add.gridIndex();
    const ir = indices.type.shape.length;
    const n = a.type.shape[axis]!;
    let at = cvtIndex(add.emit(indices, u.slice(axis, axis + ir)));
    const inRange = sop("and", [sop("ge", [at, lit(0, "int32")], "bool"), sop("lt", [at, lit(n, "int32")], "bool")], "bool");
    at = sop("max", [sop("min", [at, lit(n - 1, "int32")], "int32"), lit(0, "int32")], "int32");
    const target = [...u.slice(0, axis), at, ...u.slice(axis + ir)];
    add.addStore(root, target, add.emit(updates, u), "add", inRange);
    drafts.push(add.sharedDraft(root, new Set(), "scatter"));
    return drafts;
  }

  // ------------------------------------------------------------ assembling the program

  /** The kernels launched: drafts over one grid merged, stores nothing reads dropped. */
  private assemble(drafts: readonly KernelDraft[]): KernelDraft[] {
    const fused = this.opts.strategy === "none" ? drafts : mergeKernels(drafts, this.opts.strategy === "full");
    // Merging can leave a stored temp that no kernel reads any more (its loads were replaced by
    // the expression that computed it): drop the store, and the buffer with it.
    const read = new Set(fused.flatMap((k) => [...k.reads]));
    return fused
      .map((k) => k.withStores(k.stores.filter((s) => this.results.has(s.value) || read.has(s.value))))
      .filter((k) => k.stores.length > 0);
  }

  private finish(drafts: KernelDraft[]): Program {
    const merged = this.assemble(drafts);
    const written = new Set(merged.flatMap((k) => [...k.writes]));
    const bufferName = new Map<Value, string>();
    const taken = new Set<string>();
    const unique = (base: string) => {
      let n = base;
      for (let i = 1; taken.has(n); i++) n = `${base}_${i}`;
      taken.add(n);
      return n;
    };
    const buffers: ProgramBuffer[] = [];
    this.func.params.forEach((p, i) => {
      const name = unique(p.name ?? `arg${i}`);
      bufferName.set(p, name);
      buffers.push({ name, type: p.type, kind: "param" });
    });
    let temps = 0;
    let consts = 0;
    for (const op of this.func.body) {
      const v = op.result;
      if (!this.materialized.has(v)) continue;
      // A temp that no kernel writes any more has no buffer (empty ones keep theirs: no kernel
      // writes an empty value, but a load over an empty loop may still name it).
      if (op.op !== "constant" && !written.has(v) && !this.results.has(v) && size(v.type.shape) > 0) continue;
      if (op.op === "constant") {
        if (size(v.type.shape) <= 1) continue;
        const name = unique(`c${consts++}`);
        bufferName.set(v, name);
        buffers.push({ name, type: v.type, kind: "const", data: (op as Op<"constant">).attrs.data });
        continue;
      }
      const name = unique(this.results.has(v) ? `out${this.func.results.indexOf(v)}` : `t${temps++}`);
      bufferName.set(v, name);
      buffers.push({ name, type: v.type, kind: this.results.has(v) ? "result" : "temp" });
    }
    // A scalar constant returned as a result still needs a buffer and a kernel to fill it.
    const extra: KernelDraft[] = [];
    for (const v of this.func.results) {
      if (bufferName.has(v)) continue;
      const name = unique(`out${this.func.results.indexOf(v)}`);
      bufferName.set(v, name);
      buffers.push({ name, type: v.type, kind: "result" });
      const b = new KernelBuilder(this, v.type.shape.map((n, i) => ({ v: `p${i}`, extent: n })), []);
      b.storeRoot(v);
      extra.push(b.draft(v));
    }
    const kernels = [...merged, ...extra].map((d, i) => d.toKernel(`k${i}`, bufferName, this.drafted));
    const report: FusionNote[] = [];
    for (const op of this.func.body) {
      const why = this.materialized.get(op.result);
      if (why && op.op !== "constant" && bufferName.has(op.result)) report.push({ value: this.nameOf(op.result), reason: why });
    }
    return {
      name: this.func.name,
      buffers,
      params: this.func.params.map((p) => bufferName.get(p)!),
      results: this.func.results.map((v) => bufferName.get(v)!),
      kernels,
      report,
    };
  }

  // ------------------------------------------------------------ queried by kernel builders

  private readonly drafted = new Map<string, Value>();
  /** Loads are drafted with the value's id as the buffer (`v<id>`), named at the end. */
  draftName(v: Value): string {
    const n = `v${v.id}`;
    this.drafted.set(n, v);
    return n;
  }

  defOf(v: Value): Op | undefined {
    return this.def.get(v);
  }
  /** Whether `v` is read from a buffer; else it is computed inline ("pinned": and must stay so). */
  statusOf(v: Value): Status {
    const at = this.order.get(v);
    // A param is always a buffer.
    if (at === undefined) return "buffer";
    const s = this.statuses[at]!;
    this.looked.set(at, s);
    return s;
  }
}

/** int32 index from an int32/uint32 index value, clamped into int32 range for uint32. */
function cvtIndex(e: Expr): Expr {
  if (e.dtype === "uint32") return cvt(sop("min", [e, lit(2147483647, "uint32")], "uint32"), "int32");
  return cvt(e, "int32");
}

// ------------------------------------------------------------ one kernel

interface StoreDraft {
  readonly value: Value;
  readonly loops: readonly Loop[];
  readonly index: Expr;
  readonly expr: Expr;
  readonly mode: "set" | "add";
  readonly guard?: Expr;
}

class KernelDraft {
  constructor(
    readonly kind: KernelKind,
    readonly grid: readonly Loop[],
    readonly reductions: readonly Reduction[],
    readonly stores: readonly StoreDraft[],
    /** Values read from buffers. */
    readonly reads: ReadonlySet<Value>,
    /** Values computed inline. */
    readonly inlined: ReadonlySet<Value>,
    readonly needs: ReadonlyMap<Value, string>,
    readonly sources: readonly Op[],
    readonly hints: Kernel["hints"],
  ) {}

  /** The kernel with only these stores, and only the reductions they still use. */
  withStores(stores: readonly StoreDraft[]): KernelDraft {
    if (stores.length === this.stores.length) return this;
    // The search assembles the same drafts often: the same stores give the same kernel.
    const key = stores.map((s) => this.stores.indexOf(s)).join(",");
    const hit = this.narrowed.get(key);
    if (hit) return hit;
    const narrowed = this.narrow(stores);
    this.narrowed.set(key, narrowed);
    return narrowed;
  }

  private readonly narrowed = new Map<string, KernelDraft>();

  private narrow(stores: readonly StoreDraft[]): KernelDraft {
    const byName = new Map(this.reductions.map((r) => [r.name, r]));
    const used = new Set<string>();
    const loaded = new Set<string>();
    const visit = (e: Expr) =>
      mapExpr(e, (x) => {
        if (x.k === "load") loaded.add(x.buf);
        if (x.k === "reduced" && !used.has(x.name)) {
          used.add(x.name);
          visit(byName.get(x.name)!.body);
        }
        return x;
      });
    for (const s of stores) [s.index, s.expr, ...(s.guard ? [s.guard] : [])].forEach(visit);
    const reductions = this.reductions.filter((r) => used.has(r.name));
    const reads = new Set([...this.reads].filter((v) => loaded.has(`v${v.id}`)));
    const { kind, grid, inlined, needs, sources, hints } = this;
    const k: KernelKind = kind === "matmul" && !reductions.some((r) => r.op === "dot") ? (reductions.length ? "reduce" : "elementwise") : kind;
    return new KernelDraft(k, grid, reductions, stores, reads, inlined, needs, sources, k === "matmul" ? hints : {});
  }

  private writeSet?: ReadonlySet<Value>;
  private bufferSet?: ReadonlySet<Value>;

  get writes(): ReadonlySet<Value> {
    return (this.writeSet ??= new Set(this.stores.map((s) => s.value)));
  }

  get buffers(): ReadonlySet<Value> {
    return (this.bufferSet ??= new Set([...this.reads, ...this.writes]));
  }

  /** Loads were drafted as `v<id>`; `drafted` maps those names back to values. */
  toKernel(name: string, bufferName: ReadonlyMap<Value, string>, drafted: ReadonlyMap<string, Value>): Kernel {
    const rename = new Map<Expr, Expr>();
    const loadValue = (e: Extract<Expr, { k: "load" }>): Value => {
      const v = drafted.get(e.buf);
      if (!v) throw new Error(`fuse: unknown drafted buffer ${e.buf}`);
      return v;
    };
    const nameOfDraft = (draft: string) => nameOf(drafted.get(draft)!);
    const nameOf = (v: Value) => {
      const n = bufferName.get(v);
      if (n === undefined) throw new Error(`fuse: value ${typeStr(v.type)} has no buffer`);
      return n;
    };
    // Loads were drafted against values; buffer names are known only now.
    const fix = (e: Expr): Expr => {
      const hit = rename.get(e);
      if (hit) return hit;
      let out: Expr;
      switch (e.k) {
        case "idx":
        case "const":
        case "reduced":
          out = e;
          break;
        case "load":
          out = { ...e, buf: nameOf(loadValue(e)), index: fix(e.index) };
          break;
        case "op":
          out = { ...e, args: e.args.map(fix) };
          break;
        case "random":
          out = { ...e, key0: fix(e.key0), key1: fix(e.key1), counter: fix(e.counter) };
          break;
        default:
          return e satisfies never;
      }
      rename.set(e, out);
      return out;
    };
    const writes = this.writes;
    const buffers: KernelBuffer[] = [...this.buffers].map((v) => ({
      name: nameOf(v),
      type: v.type,
      access: writes.has(v) ? (this.reads.has(v) ? "readwrite" : "write") : "read",
    }));
    const stores: Store[] = this.stores.map((s) => {
      const base = { buf: nameOf(s.value), loops: s.loops, index: fix(s.index), value: fix(s.expr), mode: s.mode };
      return s.guard ? { ...base, guard: fix(s.guard) } : base;
    });
    const hints = this.hints.matmul
      ? { ...this.hints, matmul: { ...this.hints.matmul, a: nameOfDraft(this.hints.matmul.a), b: nameOfDraft(this.hints.matmul.b) } }
      : this.hints;
    return {
      name,
      kind: this.kind,
      buffers,
      grid: this.grid,
      reductions: this.reductions.map((r) => ({ ...r, body: fix(r.body) })),
      stores,
      hints,
      sources: this.sources.map((o) => (o.loc ? { op: o.op, loc: o.loc } : { op: o.op })),
    };
  }
}


class KernelBuilder {
  readonly reductions: Reduction[] = [];
  /** For each reduction, the loop variables its key depends on, and the value it computes. */
  readonly reductionKeys: Set<string>[] = [];
  readonly reductionValues: Value[] = [];
  private readonly reductionByKey = new Map<string, Reduction>();
  /** compute's results by value and index (`key`). */
  private readonly memo = new Map<string, Expr>();
  private readonly exprIds = new Map<Expr, number>();
  private readonly reads = new Set<Value>();
  private readonly inlined = new Set<Value>();
  private readonly needs = new Map<Value, string>();
  private readonly sources = new Set<Op>();
  private readonly stores: StoreDraft[] = [];
  private readonly gridVars: Set<string>;
  private matmulHint: Kernel["hints"]["matmul"];
  /** Loops of the reductions whose bodies are being emitted, outermost first. */
  private readonly enclosing: Loop[] = [];
  private rCount = 0;

  constructor(
    private readonly fuser: Fuser,
    private readonly grid: readonly Loop[],
    private readonly loops: readonly Loop[],
    /** The loop variable of each dim of the root's shape (default: the grid in order). */
    private readonly dimVars: readonly string[] = grid.map((l) => l.v),
  ) {
    this.gridVars = new Set(grid.map((l) => l.v));
  }

  /** Ask for `v` to be materialized (the kernel is rebuilt in the next round). */
  require(v: Value, why: string): void {
    if (!this.needs.has(v)) this.needs.set(v, why);
  }

  gridIndex(): Expr[] {
    return this.grid.map((l) => idx(l.v));
  }

  /** Computes `root` (even though its value is materialized) and stores it at every index. */
  storeRoot(root: Value): void {
    const index = this.dimVars.map((v) => idx(v));
    const expr = this.compute(root, index);
    this.addStore(root, index, expr, "set");
  }

  /** Stores the value of `src` as `root` (the copy half of scatter_add). */
  storeValueAs(root: Value, src: Value): void {
    const index = this.dimVars.map((v) => idx(v));
    this.addStore(root, index, this.emit(src, index), "set");
  }

  addStore(root: Value, index: readonly Expr[], expr: Expr, mode: "set" | "add", guard?: Expr): void {
    const flat = linearize(index, root.type.shape);
    const base = { value: root, loops: this.loops, index: flat, expr: cvt(expr, root.type.dtype), mode };
    this.stores.push(guard ? { ...base, guard } : base);
  }

  /**
   * The draft, once every reduction that does not depend on some grid dim is asked to be
   * materialized: each grid point along that dim would compute the same reduction again (a
   * matmul nested in another matmul's loop, a sum over all rows inside a row kernel).
   */
  sharedDraft(root: Value, rows: ReadonlySet<number> = new Set(), kind?: KernelKind): KernelDraft {
    this.reductions.forEach((r, i) => {
      if (rows.has(i)) return;
      const key = this.reductionKeys[i]!;
      const repeats = this.grid.reduce((n, l) => (key.has(l.v) ? n : n * l.extent), 1);
      const value = this.reductionValues[i]!;
      const op = () => this.fuser.defOf(value)!.op;
      const over = size(r.loops.map((l) => l.extent));
      if (repeats > 1) {
        this.require(value, `${op()} over ${over} elements would be computed ${repeats} times over, once per grid point it does not depend on`);
        return;
      }
      // Reached through a gather: more grid points than the value has elements ask for it.
      const points = this.grid.reduce((n, l) => (key.has(l.v) ? n * l.extent : n), 1);
      const distinct = size(value.type.shape);
      if (points > distinct) {
        this.require(value, `${op()} over ${over} elements would be computed at ${points} grid points for its ${distinct} values`);
      }
    });
    return this.draft(root, kind);
  }

  draft(root: Value, kind?: KernelKind): KernelDraft {
    const d = this.fuser.defOf(root);
    if (d) this.sources.add(d);
    const k: KernelKind =
      kind ??
      (this.reductions.length === 0
        ? "elementwise"
        : this.loops.length > 0
          ? "row"
          : this.reductions.length === 1 && this.reductions[0]!.op === "dot"
            ? "matmul"
            : "reduce");
    const hints = k === "matmul" && this.matmulHint ? { matmul: this.matmulHint } : {};
    return new KernelDraft(k, this.grid, this.reductions, this.stores, this.reads, this.inlined, this.needs, [...this.sources], hints);
  }



  /** The scalar value of `v` at `index` (one Expr per dim of v's shape). */
  emit(v: Value, index: readonly Expr[]): Expr {
    const status = this.fuser.statusOf(v);
    if (status === "buffer") return this.loadValue(v, index);
    if (status === "pinned") this.requireOncePerElement(v, index);
    this.inlined.add(v);
    return this.compute(v, index);
  }

  /**
   * A value the search keeps inline must not be computed again for grid points its index does
   * not depend on (an operand of a matmul, say): that recomputation is what materializing it saves.
   */
  private requireOncePerElement(v: Value, index: readonly Expr[]): void {
    const repeats = this.repeats(index);
    if (repeats > 1) this.require(v, `recomputed ${repeats} times over, once per grid point it does not depend on`);
  }

  /** How many grid points ask for the element at `index`: the extents of the grid dims it does not use. */
  private repeats(index: readonly Expr[]): number {
    const free = new Set<string>();
    index.forEach((e) => freeVars(e, free));
    return this.grid.reduce((n, l) => (free.has(l.v) ? n : n * l.extent), 1);
  }

  private loadValue(v: Value, index: readonly Expr[]): Expr {
    const d = this.fuser.defOf(v);
    if (d && d.op === "constant" && size(v.type.shape) <= 1) return this.constantScalar(d as Op<"constant">);
    this.reads.add(v);
    return this.cons(load(this.fuser.draftName(v), linearize(index, v.type.shape), v.type.dtype));
  }

  private constantScalar(op: Op<"constant">): Expr {
    return lit(op.attrs.data[0]!, op.attrs.dtype);
  }

  private key(v: Value, index: readonly Expr[]): string {
    let k = `${v.id}:`;
    for (const e of index) k += `,${this.id(e)}`;
    return k;
  }

  private id(e: Expr): number {
    let n = this.exprIds.get(e);
    if (n === undefined) {
      n = this.exprIds.size;
      this.exprIds.set(e, n);
    }
    return n;
  }

  /** Hash-consing: structurally equal expressions are one object, so sharing is visible. */
  private readonly table = new Map<string, Expr>();
  /** What `cons` returned: consing it again gives it back. */
  private readonly canonical = new Set<Expr>();
  private cons(e: Expr): Expr {
    if (this.canonical.has(e)) return e;
    // Keyed by the node's own fields and its operands' identities.
    let k: string;
    switch (e.k) {
      case "idx":
        k = `i${e.v}`;
        break;
      case "const":
        k = `c${e.dtype}:${Object.is(e.value, -0) ? "-0" : e.value}`;
        break;
      case "load":
        k = `l${e.buf}:${this.id(e.index)}`;
        break;
      case "reduced":
        k = `r${e.name}`;
        break;
      case "op":
        k = `o${e.op}:${e.dtype}`;
        for (const a of e.args) k += `,${this.id(a)}`;
        break;
      case "random":
        k = `x${e.word}:${this.id(e.key0)},${this.id(e.key1)},${this.id(e.counter)}`;
        break;
      default:
        return e satisfies never;
    }
    const hit = this.table.get(k);
    if (hit) return hit;
    this.table.set(k, e);
    this.canonical.add(e);
    return e;
  }

  private op(name: Parameters<typeof sop>[0], args: readonly Expr[], dtype: DType): Expr {
    return this.cons(sop(name, args.map((a) => this.cons(a)), dtype));
  }

  private compute(v: Value, index: readonly Expr[]): Expr {
    const key = this.key(v, index);
    const hit = this.memo.get(key);
    if (hit) return hit;
    const e = this.cons(this.computeUncached(v, index));
    this.memo.set(key, e);
    return e;
  }

  private computeUncached(v: Value, index: readonly Expr[]): Expr {
    const d = this.fuser.defOf(v);
    if (!d) return this.loadValue(v, index);
    this.sources.add(d);
    const dtype = v.type.dtype;
    const arg = (i: number, at: readonly Expr[] = index) => this.emit(d.operands[i]!, at);
    const inShape = (i: number) => d.operands[i]!.type.shape;
    switch (d.op) {
      case "stop_gradient":
        return arg(0);
      case "convert":
        return this.cons(cvt(arg(0), d.attrs.dtype));
      case "select":
        return this.op("select", [arg(0), arg(1), arg(2)], dtype);
      case "constant":
        return size(v.type.shape) <= 1 ? this.constantScalar(d) : this.loadValue(v, index);
      case "iota":
        return this.cons(cvt(index[d.attrs.axis]!, dtype));
      case "reshape": {
        const flat = linearize(index, v.type.shape);
        return arg(0, delinearize(flat, inShape(0)));
      }
      case "transpose": {
        const at = new Array<Expr>(index.length);
        d.attrs.perm.forEach((p, i) => (at[p] = index[i]!));
        return arg(0, at);
      }
      case "broadcast": {
        const s = inShape(0);
        const off = index.length - s.length;
        return arg(0, s.map((n, i) => (n === 1 ? lit(0, "int32") : index[i + off]!)));
      }
      case "slice": {
        const { start, step } = d.attrs;
        return arg(0, index.map((e, i) => iadd(imul(e, step[i]!), lit(start[i]!, "int32"))));
      }
      case "flip": {
        const s = inShape(0);
        return arg(0, index.map((e, i) => (d.attrs.axes.includes(i) ? this.op("sub", [lit(s[i]! - 1, "int32"), e], "int32") : e)));
      }
      case "pad": {
        const s = inShape(0);
        const { low } = d.attrs;
        let inside: Expr | undefined;
        const at = index.map((e, i) => {
          const shifted = iadd(e, lit(-low[i]!, "int32"));
          if (low[i] === 0 && d.attrs.high[i] === 0) return e;
          const ok = this.op(
            "and",
            [this.op("ge", [shifted, lit(0, "int32")], "bool"), this.op("lt", [shifted, lit(s[i]!, "int32")], "bool")],
            "bool",
          );
          inside = inside ? this.op("and", [inside, ok], "bool") : ok;
          return clampIndex(shifted, s[i]!, (n, a, t) => this.op(n, a, t));
        });
        if (size(s) === 0) return lit(d.attrs.value, dtype);
        const x = arg(0, at);
        return inside ? this.op("select", [inside, x, lit(d.attrs.value, dtype)], dtype) : x;
      }
      case "concatenate": {
        const axis = d.attrs.axis;
        const parts = d.operands.map((_, i) => i).filter((i) => inShape(i)[axis]! > 0);
        const offsets: number[] = [];
        let acc = 0;
        for (const i of parts) {
          offsets.push(acc);
          acc += inShape(i)[axis]!;
        }
        let out: Expr | undefined;
        for (let j = parts.length - 1; j >= 0; j--) {
          const i = parts[j]!;
          const local = iadd(index[axis]!, lit(-offsets[j]!, "int32"));
          const at = index.map((e, dim) => (dim === axis ? clampIndex(local, inShape(i)[axis]!, (n, a, t) => this.op(n, a, t)) : e));
          const x = arg(i, at);
          out = out === undefined ? x : this.op("select", [this.op("lt", [index[axis]!, lit(offsets[j + 1]!, "int32")], "bool"), x, out], dtype);
        }
        // Every part empty: so is the result, and whatever reads it loops over nothing.
        return out ?? lit(0, dtype);
      }
      case "gather": {
        const axis = d.attrs.axis;
        const ir = inShape(1).length;
        const n = inShape(0)[axis]!;
        const raw = cvtIndex(arg(1, index.slice(axis, axis + ir)));
        const at = clampIndex(raw, n, (o, a, t) => this.op(o, a, t));
        return arg(0, [...index.slice(0, axis), at, ...index.slice(axis + ir)]);
      }
      case "random_bits": {
        const key = d.operands[0]!;
        const k0 = this.emit(key, [lit(0, "int32")]);
        const k1 = this.emit(key, [lit(1, "int32")]);
        const flat = linearize(index, v.type.shape);
        const counter = this.cons(cvt(idiv(flat, 2), "uint32"));
        const w0 = this.cons({ k: "random", key0: k0, key1: k1, counter, word: 0, dtype: "uint32" });
        const w1 = this.cons({ k: "random", key0: k0, key1: k1, counter, word: 1, dtype: "uint32" });
        const even = this.op("eq", [imod(flat, 2), lit(0, "int32")], "bool");
        return this.op("select", [even, w0, w1], "uint32");
      }
      case "matmul":
        return this.reduction(v, index, "dot", d);
      case "reduce_sum":
      case "reduce_prod":
      case "reduce_max":
      case "reduce_min":
      case "argmax":
      case "argmin":
        return this.reduction(v, index, REDUCE_OP[d.op]!, d);
      case "scatter_add":
        return this.loadValue(v, index);
      default: {
        const cls = registry[d.op].fusion;
        if (cls !== "elementwise") throw new Error(`fuse: no lowering for ${d.op}`);
        return this.op(d.op, d.operands.map((_, i) => arg(i)), dtype);
      }
    }
  }

  /** A reduction (or matmul) as a loop of this kernel, or a request to materialize it. */
  private reduction(v: Value, index: readonly Expr[], op: ReduceOp, d: Op): Expr {
    const free = new Set<string>();
    index.forEach((e) => freeVars(e, free));
    const scope = this.enclosing.filter((l) => free.has(l.v));
    const inScope = [...free].every((x) => this.gridVars.has(x) || scope.some((l) => l.v === x));
    if (!inScope) {
      this.needs.set(v, `${d.op} is needed inside a row loop`);
      return this.loadValue(v, index);
    }
    const extent = reductionExtent(d);
    if (scope.length > 0 && extent > NEST_LIMIT) {
      this.needs.set(v, `${d.op} over ${extent} elements is needed inside another reduction's loop (nesting limit ${NEST_LIMIT})`);
      return this.loadValue(v, index);
    }
    const key = this.key(v, index);
    const known = this.reductionByKey.get(key);
    if (known) return this.cons({ k: "reduced", name: known.name, dtype: known.dtype });
    let loops: Loop[];
    let body: Expr;
    if (d.op === "matmul") {
      const [a, b] = d.operands as [Value, Value];
      const kDim = a.type.shape[a.type.shape.length - 1]!;
      const r = { v: `r${this.rCount++}`, extent: kDim };
      loops = [r];
      this.enclosing.push(r);
      const batch = index.slice(0, -2);
      const [i, j] = index.slice(-2) as [Expr, Expr];
      const x = this.emit(a, [...batch, i, idx(r.v)]);
      const y = this.emit(b, [...batch, idx(r.v), j]);
      body = this.op("mul", [x, y], v.type.dtype);
      this.enclosing.pop();
      if (this.reductions.length === 0 && this.fuser.statusOf(a) === "buffer" && this.fuser.statusOf(b) === "buffer") {
        const s = v.type.shape;
        this.matmulHint = {
          a: this.fuser.draftName(a),
          b: this.fuser.draftName(b),
          batch: size(s.slice(0, -2)),
          m: s[s.length - 2]!,
          n: s[s.length - 1]!,
          k: kDim,
        };
      }
    } else {
      const src = d.operands[0]!;
      const axes: readonly number[] = "axes" in d.attrs ? d.attrs.axes : [(d.attrs as { axis: number }).axis];
      loops = axes.map((ax) => ({ v: `r${this.rCount++}`, extent: src.type.shape[ax]! }));
      const at: Expr[] = [];
      let kept = 0;
      src.type.shape.forEach((_, dim) => {
        const j = axes.indexOf(dim);
        at.push(j >= 0 ? idx(loops[j]!.v) : index[kept++]!);
      });
      this.enclosing.push(...loops);
      body = this.emit(src, at);
      this.enclosing.length -= loops.length;
    }
    // Named only now: the body may have created (nested) reductions of its own.
    const red: Reduction = { name: `red${this.reductions.length}`, op, scope, loops, body, dtype: v.type.dtype };
    this.reductions.push(red);
    this.reductionByKey.set(key, red);
    this.reductionKeys.push(free);
    this.reductionValues.push(v);
    return this.cons({ k: "reduced", name: red.name, dtype: red.dtype });
  }
}

/** `min(max(e, 0), n - 1)`: loads stay in bounds even where a select discards them. */
function clampIndex(e: Expr, n: number, op: (name: "max" | "min", a: Expr[], t: DType) => Expr): Expr {
  if (n <= 1) return lit(0, "int32");
  return op("min", [op("max", [e, lit(0, "int32")], "int32"), lit(n - 1, "int32")], "int32");
}

function linearize(index: readonly Expr[], shape: readonly number[]): Expr {
  const st = strides(shape);
  let flat: Expr = lit(0, "int32");
  index.forEach((e, i) => {
    if (shape[i] !== 1) flat = iadd(flat, imul(e, st[i]!));
  });
  return flat;
}

function delinearize(flat: Expr, shape: readonly number[]): Expr[] {
  const st = strides(shape);
  return shape.map((n, i) => {
    if (n === 1) return lit(0, "int32");
    const q = idiv(flat, st[i]!);
    return i === 0 ? q : imod(q, n);
  });
}

// ------------------------------------------------------------ horizontal fusion

/** How many elements one result element of a reduction (or matmul) combines. */
function reductionExtent(d: Op): number {
  if (d.op === "matmul") return d.operands[0]!.type.shape.at(-1)!;
  return size(d.operands[0]!.type.shape) / Math.max(1, size(d.result.type.shape));
}

/** A kernel whose stores are one per grid point: it can share a grid with another. */
const mergeable = (k: KernelDraft): boolean =>
  k.kind !== "row" && k.kind !== "scatter" && k.stores.every((s) => s.mode === "set" && s.loops.length === 0 && !s.guard);

/**
 * Merges kernels over the same grid into one (an optimizer update's outputs; a gradient matmul
 * and the update that consumes it), moving a later kernel up to an earlier one when nothing in
 * between writes what it reads. A later kernel may read what the earlier one writes when it reads
 * it at the index it was written: the stored expression replaces the load. Reductions the two
 * share are computed once. A row kernel takes a later kernel too, which may then read the row it
 * stores inside its own reductions (the sum of a softmax's exponentials stored by the row).
 */
function mergeKernels(drafts: readonly KernelDraft[], withReductions: boolean): KernelDraft[] {
  // MLX-style fusion merges elementwise kernels only: no epilogues on reductions or matmuls.
  const candidate = (k: KernelDraft) => mergeable(k) && (withReductions || k.kind === "elementwise");
  const host = (a: KernelDraft) =>
    candidate(a) || (withReductions && a.kind === "row" && a.stores.every((s) => s.mode === "set" && !s.guard));
  const out: KernelDraft[] = [];
  for (const k of drafts) {
    let merged: KernelDraft | undefined;
    if (candidate(k)) {
      for (let j = out.length - 1; j >= 0 && !merged; j--) {
        const a = out[j]!;
        if (host(a) && sameGrid(a.grid, k.grid)) merged = tryMerge(a, k);
        if (merged) out[j] = merged;
        else if (!disjoint(a.writes, k.reads)) break;
      }
    }
    if (!merged) out.push(k);
  }
  return out;
}

/** Merges already tried (drafts are immutable, and the search assembles the same ones often). */
const merges = new WeakMap<KernelDraft, WeakMap<KernelDraft, KernelDraft | null>>();

function tryMerge(a: KernelDraft, k: KernelDraft): KernelDraft | undefined {
  let byK = merges.get(a);
  if (!byK) merges.set(a, (byK = new WeakMap()));
  let m = byK.get(k);
  if (m === undefined) byK.set(k, (m = merge(a, k) ?? null));
  return m ?? undefined;
}

function merge(a: KernelDraft, k: KernelDraft): KernelDraft | undefined {
  if (!disjoint(k.writes, a.reads)) return undefined;
  // Loads of what `a` stores, at the index it stores them, become the stored expressions; a
  // row store's expression with its loop variables renamed to those of the load.
  const stored = new Map(a.stores.map((s) => [`v${s.value.id}`, s]));
  const extents = new Map(k.reductions.flatMap((r) => [...r.scope, ...r.loops]).map((l) => [l.v, l.extent]));
  let pointwise = true;
  const renamed = new Map<string, string>();
  const substitute = (e: Expr): Expr => {
    if (e.k === "load") {
      const s = stored.get(e.buf);
      if (!s) return e;
      if (exprEqual(e.index, s.index)) return s.expr;
      const renaming = s.loops.length ? rowRenaming(s.index, e.index, new Map(s.loops.map((l) => [l.v, l.extent])), extents) : undefined;
      if (!renaming) {
        pointwise = false;
        return e;
      }
      return mapExpr(s.expr, (x) => (x.k === "idx" && renaming.has(x.v) ? idx(renaming.get(x.v)!) : x));
    }
    if (e.k === "reduced") {
      const name = renamed.get(e.name);
      return name === undefined ? e : { ...e, name };
    }
    return e;
  };
  const memo = new Map<Expr, Expr>();
  const rewrite = (e: Expr) => mapExpr(e, substitute, memo);
  const reductions = [...a.reductions];
  // Fresh loop names for k's own reductions, all decided up front: a nested reduction's scope
  // names the loops of an enclosing reduction that comes later in the list.
  let nextLoop = Math.max(-1, ...a.reductions.flatMap((r) => [...r.scope, ...r.loops].map((l) => Number(l.v.slice(1))))) + 1;
  const fresh = new Map<string, string>();
  for (const r of k.reductions) for (const l of r.loops) fresh.set(l.v, `r${nextLoop++}`);
  const relabel = (e: Expr): Expr => (e.k === "idx" && fresh.has(e.v) ? { ...e, v: fresh.get(e.v)! } : e);
  for (const r of k.reductions) {
    const body = rewrite(r.body);
    // Only a grid-level reduction is shared: a nested one belongs to its enclosing loop.
    const same = r.scope.length === 0 ? reductions.find((x) => sameReduction(x, r, body)) : undefined;
    if (same) {
      renamed.set(r.name, same.name);
      continue;
    }
    const name = `red${reductions.length}`;
    renamed.set(r.name, name);
    reductions.push({
      ...r,
      name,
      loops: r.loops.map((l) => ({ ...l, v: fresh.get(l.v)! })),
      scope: r.scope.map((l) => ({ ...l, v: fresh.get(l.v) ?? l.v })),
      body: mapExpr(body, relabel),
    });
  }
  const stores = k.stores.map((s) => ({ ...s, index: rewrite(s.index), expr: rewrite(s.expr) }));
  if (!pointwise) return undefined;
  const reads = new Set([...a.reads, ...[...k.reads].filter((v) => !a.writes.has(v))]);
  if (new Set([...reads, ...a.writes, ...k.writes]).size > 30) return undefined;
  const kind: KernelKind =
    a.kind === "row"
      ? "row"
      : reductions.length === 0
        ? "elementwise"
        : reductions.length === 1 && reductions[0]!.op === "dot"
          ? "matmul"
          : "reduce";
  const hints = kind === "matmul" ? (a.hints.matmul ? a.hints : k.hints) : {};
  return new KernelDraft(
    kind,
    a.grid,
    reductions,
    [...a.stores, ...stores],
    reads,
    new Set([...a.inlined, ...k.inlined]),
    new Map(),
    [...a.sources, ...k.sources],
    hints,
  );
}

/** Whether grid-level `x` computes what `r` (with body `body`) does, up to the names of their loops. */
function sameReduction(x: Reduction, r: Reduction, body: Expr): boolean {
  if (x.op !== r.op || x.scope.length > 0 || x.loops.length !== r.loops.length) return false;
  if (!x.loops.every((l, i) => l.extent === r.loops[i]!.extent)) return false;
  const to = new Map(r.loops.map((l, i) => [l.v, x.loops[i]!.v]));
  const renamed = mapExpr(body, (e) => (e.k === "idx" && to.has(e.v) ? idx(to.get(e.v)!) : e));
  return exprEqual(x.body, renamed);
}

const sameGrid = (a: readonly Loop[], b: readonly Loop[]) =>
  a.length === b.length && a.every((l, i) => l.extent === b[i]!.extent && l.v === b[i]!.v);

function disjoint(a: ReadonlySet<Value>, b: ReadonlySet<Value>): boolean {
  for (const x of a) if (b.has(x)) return false;
  return true;
}
