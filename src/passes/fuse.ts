// Fusion: decides which values are materialized in buffers and lowers the func to kernels.
//
// Every value not materialized is computed inline, at the index its consumer asks for: movement
// ops become index arithmetic, elementwise ops become scalar expressions, and a reduction (or a
// matmul) becomes a loop of the kernel that needs it, when that kernel asks for it at one index
// per grid point. Which values to materialize is found by iteration: start from what the
// strategy forces, build every kernel, and materialize whatever turned out to be used by
// several kernels and too dear to recompute, nested in another loop, or over the buffer limit.
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

export type FusionStrategy = "none" | "elementwise" | "full";

export interface FuseOptions {
  readonly strategy?: FusionStrategy;
  /** Metal allows 31 buffer slots; one holds the kernel's metadata. */
  readonly maxBuffers?: number;
  /** An inlined value used by several kernels is recomputed when it costs at most this many ops. */
  readonly recomputeLimit?: number;
}

const MAX_ROUNDS = 64;
/** A reduction nests inside another's loop only when it is this small (each thread runs it serially). */
const NEST_LIMIT = 256;

/** Lowers a func to kernel IR. */
export function fuse(func: Func, opts: FuseOptions = {}): Program {
  const f = new Fuser(func, {
    strategy: opts.strategy ?? "full",
    maxBuffers: opts.maxBuffers ?? 30,
    recomputeLimit: opts.recomputeLimit ?? 8,
  });
  return f.run();
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
function valueNames(func: Func): Map<Value, string> {
  const m = new Map<Value, string>();
  func.params.forEach((p, i) => m.set(p, `%${p.name ?? `arg${i}`}`));
  func.body.forEach((op, i) => m.set(op.result, `%${i}`));
  return m;
}

class Fuser {
  private readonly def = new Map<Value, Op>();
  private readonly users = new Map<Value, Op[]>();
  private readonly names: Map<Value, string>;
  /** Materialized values and why. */
  private readonly materialized = new Map<Value, string>();
  /** Values stored only because the func returns them: consumers may still recompute them. */
  private readonly storeOnly = new Set<Value>();
  private readonly results: Set<Value>;

  constructor(
    private readonly func: Func,
    private readonly opts: Options,
  ) {
    for (const op of func.body) {
      this.def.set(op.result, op);
      for (const v of op.operands) {
        const u = this.users.get(v) ?? [];
        u.push(op);
        this.users.set(v, u);
      }
    }
    this.names = valueNames(func);
    this.results = new Set(func.results);
  }

  run(): Program {
    this.seed();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const built = this.buildAll();
      if (built.needs.size === 0) return this.finish(built.kernels);
      const progress = this.materializeLatestFirst(built.needs);
      if (!progress) {
        const asks = [...built.needs.values()].join("; ");
        throw new Error(`fuse: @${this.func.name} asks again for values already materialized (${asks})`);
      }
    }
    throw new Error(`fuse: no fixed point for @${this.func.name} after ${MAX_ROUNDS} rounds`);
  }

  /**
   * Materializes the latest of the needed values first and skips the values it already covers
   * (those it computes inline): storing the end of a shared chain un-shares all of the chain.
   */
  private materializeLatestFirst(needs: ReadonlyMap<Value, string>): boolean {
    const order = new Map(this.func.body.map((o, i) => [o.result, i]));
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

  private buildAll(): { kernels: KernelDraft[]; needs: Map<Value, string> } {
    const kernels: KernelDraft[] = [];
    const needs = new Map<Value, string>();
    const inlinedBy = new Map<Value, number[]>();
    const roots = this.func.body.map((o) => o.result).filter((v) => this.materialized.has(v) && this.needsKernel(v));
    for (const root of roots) {
      for (const draft of this.buildRoot(root)) {
        for (const [v, why] of draft.needs) if (!needs.has(v)) needs.set(v, why);
        const uses = [...draft.inlined, ...[...draft.writes].filter((v) => this.storeOnly.has(v))];
        uses.forEach((v) => {
          const l = inlinedBy.get(v) ?? [];
          l.push(kernels.length);
          inlinedBy.set(v, l);
        });
        kernels.push(draft);
      }
    }
    // Sharing is decided first: storing a shared value often removes the other reasons.
    const structural = new Map(needs);
    needs.clear();
    // A value inlined into several kernels: recompute it when cheap, else materialize it once.
    for (const [v, ks] of inlinedBy) {
      const uses = new Set(ks).size;
      if (uses < 2) continue;
      const d = this.def.get(v)!;
      const cls = registry[d.op].fusion;
      if (cls === "reduce" || cls === "contraction") {
        needs.set(v, `${d.op} result needed by ${uses} kernels`);
        continue;
      }
      const cost = this.cost(v);
      if (cost.ops > this.opts.recomputeLimit || cost.buffers > 3) {
        needs.set(v, `used by ${uses} kernels; recomputing costs ${cost.ops} ops over ${cost.buffers} buffers`);
      }
    }
    if (needs.size) return { kernels, needs };
    if (structural.size) return { kernels, needs: structural };
    for (const k of kernels) {
      if (k.buffers.size <= this.opts.maxBuffers) continue;
      const v = this.largestInlined(k);
      if (v) needs.set(v, `kernel would take ${k.buffers.size} buffers (limit ${this.opts.maxBuffers} + metadata)`);
    }
    return { kernels, needs };
  }

  private needsKernel(v: Value): boolean {
    const d = this.def.get(v)!;
    return !(d.op === "constant") && size(v.type.shape) > 0;
  }

  /** Ops and distinct buffers in the inline expression of `v`. */
  private cost(v: Value, seen = new Set<Value>(), bufs = new Set<Value>()): { ops: number; buffers: number } {
    let ops = 0;
    const walk = (x: Value) => {
      if (seen.has(x)) return;
      seen.add(x);
      if (this.isBuffer(x)) {
        bufs.add(x);
        return;
      }
      const d = this.def.get(x)!;
      const cls = registry[d.op].fusion;
      if (cls !== "movement") ops++;
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
    if (rows.length === 0) return [first.draft(root)];
    if (first.reductionValues.includes(root)) {
      // The root is itself a reduction (a matmul of row-normalized input, say): each of its
      // elements would recompute the rows, so the rows are computed once instead.
      for (const i of rows) {
        first.require(first.reductionValues[i]!, "a row reduction feeding another reduction is computed once, not once per element");
      }
      return [first.draft(root)];
    }
    // Any other reduction here is per element (a matmul element, or one nested in a row
    // reduction): inside the row pattern it would be recomputed for every element of the row.
    const perElement = first.reductions.map((_, i) => i).filter((i) => !isRow(i));
    if (perElement.length > 0) {
      for (const i of perElement) {
        first.require(first.reductionValues[i]!, "a per-element reduction feeding a row pattern is computed once, not once per row element");
      }
      return [first.draft(root)];
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
    return [row.draft(root)];
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
    const drafts = [copy.draft(root)];
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
    drafts.push(add.draft(root, "scatter"));
    return drafts;
  }

  // ------------------------------------------------------------ assembling the program

  private finish(drafts: KernelDraft[]): Program {
    const fused = this.opts.strategy === "none" ? drafts : mergeKernels(drafts, this.opts.strategy === "full");
    // Merging can leave a stored temp that no kernel reads any more (its loads were replaced by
    // the expression that computed it): drop the store, and the buffer with it.
    const read = new Set(fused.flatMap((k) => [...k.reads]));
    const merged = fused
      .map((k) => k.withStores(k.stores.filter((s) => this.results.has(s.value) || read.has(s.value))))
      .filter((k) => k.stores.length > 0);
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
      if (why && op.op !== "constant" && bufferName.has(op.result)) report.push({ value: this.names.get(op.result)!, reason: why });
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
  bufferFor(v: Value): boolean {
    return this.isBuffer(v);
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

  get writes(): Set<Value> {
    return new Set(this.stores.map((s) => s.value));
  }

  get buffers(): Set<Value> {
    return new Set([...this.reads, ...this.writes]);
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
    if (this.fuser.bufferFor(v)) return this.loadValue(v, index);
    this.inlined.add(v);
    return this.compute(v, index);
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
    return `${v.id}:${index.map((e) => this.id(e)).join(",")}`;
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
  private cons(e: Expr): Expr {
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
        k = `o${e.op}:${e.dtype}:${e.args.map((a) => this.id(a)).join(",")}`;
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
    const extent = d.op === "matmul" ? d.operands[0]!.type.shape.at(-1)! : size(d.operands[0]!.type.shape) / Math.max(1, size(v.type.shape));
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
      if (this.reductions.length === 0 && this.fuser.bufferFor(a) && this.fuser.bufferFor(b)) {
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

/** A kernel whose stores are one per grid point: it can share a grid with another. */
const mergeable = (k: KernelDraft): boolean =>
  k.kind !== "row" && k.kind !== "scatter" && k.stores.every((s) => s.mode === "set" && s.loops.length === 0 && !s.guard);

/**
 * Merges kernels over the same grid into one (an optimizer update's outputs; a gradient matmul
 * and the update that consumes it), moving a later kernel up to an earlier one when nothing in
 * between writes what it reads. A later kernel may read what the earlier one writes when it reads
 * it at the index it was written: the stored expression replaces the load. Reductions the two
 * share are computed once.
 */
function mergeKernels(drafts: KernelDraft[], withReductions: boolean): KernelDraft[] {
  // MLX-style fusion merges elementwise kernels only: no epilogues on reductions or matmuls.
  const candidate = (k: KernelDraft) => mergeable(k) && (withReductions || k.kind === "elementwise");
  const out: KernelDraft[] = [];
  for (const k of drafts) {
    let merged: KernelDraft | undefined;
    if (candidate(k)) {
      for (let j = out.length - 1; j >= 0 && !merged; j--) {
        const a = out[j]!;
        if (candidate(a) && sameGrid(a.grid, k.grid)) merged = tryMerge(a, k);
        if (merged) out[j] = merged;
        else if (!disjoint(a.writes, k.reads)) break;
      }
    }
    if (!merged) out.push(k);
  }
  return out;
}

function tryMerge(a: KernelDraft, k: KernelDraft): KernelDraft | undefined {
  if (!disjoint(k.writes, a.reads)) return undefined;
  // Loads of what `a` stores, at the index it stores them, become the stored expressions.
  const stored = new Map(a.stores.map((s) => [`v${s.value.id}`, s]));
  let pointwise = true;
  const renamed = new Map<string, string>();
  const substitute = (e: Expr): Expr => {
    if (e.k === "load") {
      const s = stored.get(e.buf);
      if (!s) return e;
      if (!exprEqual(e.index, s.index)) pointwise = false;
      return s.expr;
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
    const same =
      r.scope.length === 0
        ? reductions.find((x) => x.op === r.op && x.scope.length === 0 && sameLoops(x.loops, r.loops) && exprEqual(x.body, body))
        : undefined;
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
    reductions.length === 0 ? "elementwise" : reductions.length === 1 && reductions[0]!.op === "dot" ? "matmul" : "reduce";
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

const sameLoops = (a: readonly Loop[], b: readonly Loop[]) =>
  a.length === b.length && a.every((l, i) => l.v === b[i]!.v && l.extent === b[i]!.extent);

const sameGrid = (a: readonly Loop[], b: readonly Loop[]) =>
  a.length === b.length && a.every((l, i) => l.extent === b[i]!.extent && l.v === b[i]!.v);

const disjoint = (a: ReadonlySet<Value>, b: ReadonlySet<Value>) => [...a].every((x) => !b.has(x));
