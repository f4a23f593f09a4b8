// Kernel IR to one MSL library per program. The renderer is C-family; every spelling comes from
// the dialect table. A kernel body is written as a tree of blocks (the kernel, loops, guarded
// statements); each scalar expression becomes one `const` in the outermost block where all its
// loop indices and reductions are bound, so loop-invariant work is hoisted by construction and
// a value used twice is computed once.
//
// Schedules: elementwise and scatter kernels run one thread per grid point (elementwise: several
// contiguous points per thread when every index is the flat index). Reduce and row kernels run
// one threadgroup per grid point: threads split each reduction's loops, partials meet through
// simd functions and threadgroup memory, and row stores are split across threads. Reductions
// nested in another's loop run serially inside it. Matmul kernels are tiled (see matmul.ts), or
// run one thread per element.
//
// On the host, a barrier-free kernel's body is an inline function the kernel calls: the range
// trampoline loops over threads calling it directly, since the host header's attributes on the
// kernel's parameters (annotations) would otherwise stay in the loop and keep it from vectorizing.
import {
  CompileError,
  type DType,
  type Expr,
  exprChildren,
  type Kernel,
  type KernelKind,
  type Loop,
  type Program,
  type Reduction,
  type Store,
  isFloat,
  itemsize,
  size,
} from "../ir/index.js";
import { Block, decompose, FLAT, loopName, product, roundUp, splice, spliceIfElse } from "./blocks.js";
import { type Builtin, type Dialect, MSL } from "./dialect.js";
import {
  blockCount,
  type BlockShape,
  defaultBlock,
  type DotAlgebra,
  type MatmulPlan,
  matmulPlan,
  simdgroupLaunch,
  type TileWriter,
  writeBlocked,
  writeSimdgroup,
} from "./matmul.js";
import { type HelperName, helperLibrary, literal, renderOp, type ScalarContext } from "./scalar.js";
import { type MslVersion, maxVersion, validateMsl } from "./validate.js";

export interface EmitOptions {
  /**
   * Reduce and row kernels as one threadgroup per grid point, with barriers and simd functions
   * (default). `false` runs every kernel one thread per grid point with no synchronization,
   * which a CPU runs far faster than emulated threadgroups.
   */
  readonly cooperative?: boolean;
  /**
   * Matmul kernels: 32x32 tiles of simdgroup_matrix fragments (what Metal runs; the default),
   * register blocks per thread without barriers (the host's fast path; the default when
   * `cooperative` is false), or one thread per element. A kernel the tiles do not fit runs
   * naive, with the reason in a comment of its MSL.
   */
  readonly matmul?: MatmulVariant;
  /** The blocked variant's block of C per thread (default: up to 64 rows by 32 columns). */
  readonly matmulBlock?: BlockShape;
  readonly dialect?: Dialect;
}

export type MatmulVariant = "naive" | "simdgroup" | "blocked";

/** How a kernel is scheduled. */
export type KernelVariant =
  | "elementwise.contiguous"
  | "elementwise.strided"
  | "threadgroup"
  | "serial"
  | "matmul.naive"
  | "matmul.simdgroup"
  | "matmul.blocked"
  | "scatter.atomic";

export interface MetaField {
  readonly name: string;
  /** Byte offset of this uint32 field. */
  readonly offset: number;
  readonly value: number;
}

/** The `constant` struct every kernel takes in its last buffer slot, with the values to put there. */
export interface MetaLayout {
  readonly index: number;
  readonly bytes: number;
  readonly fields: readonly MetaField[];
}

export interface EmittedBuffer {
  /** The program buffer bound at this slot. */
  readonly name: string;
  readonly index: number;
  readonly access: "read" | "write" | "readwrite";
  /** Accessed through atomics (add-stores). */
  readonly atomic: boolean;
  /**
   * Bytes the bound buffer must span: its size, rounded up to whole 32-bit words for a 16-bit
   * buffer taking add-stores (those are compare-and-swap loops on the containing word).
   */
  readonly minBytes: number;
}

export interface EmittedKernel {
  /** The kernel's name in the program (`k0`, ...). */
  readonly name: string;
  /** The MSL function: a structural hash, shared by identical kernels of any program. */
  readonly entry: string;
  /** The host trampoline (`extern "C"`, see smelt_msl_host.h). */
  readonly hostEntry: string;
  /** The host range trampoline of a barrier-free kernel (`smelt_host_range_...`). */
  readonly hostRangeEntry?: string;
  readonly kind: KernelKind;
  readonly variant: KernelVariant;
  /** Threadgroups per grid (one-dimensional dispatch). */
  readonly grid: readonly [number, number, number];
  readonly threadsPerGroup: number;
  readonly buffers: readonly EmittedBuffer[];
  readonly metaLayout: MetaLayout;
  readonly threadgroupBytes: number;
  /** Uses barriers or simd functions: on the host, its threads run as fibers. */
  readonly cooperative: boolean;
  readonly mslVersion: MslVersion;
}

export interface EmittedProgram {
  readonly source: string;
  readonly kernels: readonly EmittedKernel[];
  /** The language version the whole library needs. */
  readonly mslVersion: MslVersion;
}

const META_STRUCT = "smelt_meta";
const META_PARAM = "meta";
const ENTRY_PLACEHOLDER = "__SMELT_ENTRY__";
const MAX_THREADS = 1024;
const INT_MAX = "2147483647";

export function emitProgram(program: Program, opts: EmitOptions = {}): EmittedProgram {
  const d = opts.dialect ?? MSL;
  const emitted = program.kernels.map((k) => emitKernel(k, opts));
  const helpers = new Set<HelperName>();
  emitted.forEach((e) => e.helpers.forEach((h) => helpers.add(h)));
  const prelude = [
    `struct ${META_STRUCT} {`,
    "  uint n;  // grid points",
    "};",
    ...helperLibrary(d, helpers).flatMap((h) => ["", h]),
  ].join("\n");
  let version = validateMsl(prelude, [], "the library prelude");
  const seen = new Set<string>();
  const parts = [`// smelt program @${program.name}`, ...d.preamble, "", prelude];
  for (const e of emitted) {
    version = maxVersion(version, e.info.mslVersion);
    if (seen.has(e.info.entry)) continue;
    seen.add(e.info.entry);
    parts.push("", e.text, d.hostOnly.begin, e.host, d.hostOnly.end);
  }
  return { source: parts.join("\n") + "\n", kernels: emitted.map((e) => e.info), mslVersion: version };
}

export interface KernelText {
  /** The kernel function. */
  readonly text: string;
  /** Its host trampoline, to be placed under the dialect's host-only guard. */
  readonly host: string;
  readonly helpers: ReadonlySet<HelperName>;
  readonly info: EmittedKernel;
}

/** One kernel's function, validated; the helpers it calls are emitted by `emitProgram`. */
export function emitKernel(k: Kernel, opts: EmitOptions = {}): KernelText {
  const d = opts.dialect ?? MSL;
  const w = new KernelWriter(d, k, opts);
  const body = w.write();
  const entry = `smelt_${KIND_TAG[k.kind]}_${hash64(body)}`;
  const text = body.split(ENTRY_PLACEHOLDER).join(entry);
  const partial = w.info(entry);
  const mslVersion = validateMsl(text, [{ name: k.name, entry, threadsPerGroup: partial.threadsPerGroup }]);
  return { text, host: w.trampoline(entry), helpers: w.helpers, info: { ...partial, mslVersion } };
}

const KIND_TAG: { readonly [K in KernelKind]: string } = {
  elementwise: "ew",
  reduce: "red",
  row: "row",
  matmul: "mm",
  scatter: "sc",
};

/** 64 bits of a string hash (two multiplicative 32-bit lanes, cross-mixed at the end), as hex. */
function hash64(s: string): string {
  let h1 = 0x9e3779b9;
  let h2 = 0x85ebca6b;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 15), 0x2c1b3c6d) ^ Math.imul(h2 ^ (h2 >>> 13), 0x297a2d39);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
  return hex(h2) + hex(h1);
}

interface Linear {
  readonly coef: ReadonlyMap<string, number>;
  readonly c: number;
}

// ---------------------------------------------------------------- reductions

type AccType = "float" | "int" | "uint";

/** How a reduction accumulates: in float32 for floats, wrapping for integers, uint for bool. */
interface Algebra {
  readonly type: AccType;
  readonly identity: string;
  /** argmax/argmin: the helper that says whether (b, bi) beats (a, ai). */
  readonly takes?: HelperName;
  lift(x: string): string;
  combine(a: string, b: string): string;
  /** Partials meet through simd_sum rather than a shuffle butterfly. */
  readonly simdSum: boolean;
}

const accType = (t: DType): AccType => (t === "int32" ? "int" : t === "uint32" || t === "bool" ? "uint" : "float");
const SUFFIX: { readonly [A in AccType]: "f32" | "i32" | "u32" } = { float: "f32", int: "i32", uint: "u32" };

function algebra(ctx: ScalarContext, r: Reduction): Algebra {
  const t = r.body.dtype;
  const type = accType(t);
  const lift = (x: string) => (t === "float16" || t === "bfloat16" ? `float(${x})` : t === "bool" ? `uint(${x})` : x);
  const lowest = { float: `(-${ctx.d.infinity})`, int: "(-2147483647 - 1)", uint: "0u" }[type];
  const highest = { float: ctx.d.infinity, int: INT_MAX, uint: "4294967295u" }[type];
  const wrapped = (sym: string) => (a: string, b: string) =>
    type === "int" ? `int(uint(${a}) ${sym} uint(${b}))` : `(${a} ${sym} ${b})`;
  const zero = { float: "0.0f", int: "0", uint: "0u" }[type];
  const one = { float: "1.0f", int: "1", uint: "1u" }[type];
  const base = { type, lift, simdSum: false };
  switch (r.op) {
    case "sum":
    case "dot":
      return { ...base, identity: zero, combine: wrapped("+"), simdSum: true };
    case "prod":
      return { ...base, identity: one, combine: wrapped("*") };
    case "max":
    case "min": {
      const max = r.op === "max";
      if (type === "float") {
        const h: HelperName = max ? "max_f32" : "min_f32";
        return {
          ...base,
          identity: max ? lowest : highest,
          combine: (a, b) => {
            ctx.need(h);
            return `smelt_${h}(${a}, ${b})`;
          },
        };
      }
      const cmp = max ? ">=" : "<=";
      return { ...base, identity: max ? lowest : highest, combine: (a, b) => `(${a} ${cmp} ${b} ? ${a} : ${b})` };
    }
    case "argmax":
    case "argmin": {
      const takes = `${r.op}_${SUFFIX[type]}` as HelperName;
      ctx.need(takes);
      return {
        ...base,
        identity: r.op === "argmax" ? lowest : highest,
        takes,
        combine: () => {
          throw new Error("codegen: arg reductions combine pairs");
        },
      };
    }
    default:
      return r.op satisfies never;
  }
}

/** The reduction's value from its accumulator (and index, for argmax/argmin). */
function finish(d: Dialect, r: Reduction, acc: string, index: string): string {
  if (r.op === "argmax" || r.op === "argmin") return index;
  switch (r.dtype) {
    case "float16":
    case "bfloat16":
      return `${d.types[r.dtype]}(${acc})`;
    case "bool":
      return `(${acc} != 0u)`;
    default:
      return acc;
  }
}

/** `acc` after adding the exact product x * y: one rounding in float, wrapping for integers. */
function dotStep(d: Dialect, type: AccType, x: string, y: string, acc: string): string {
  switch (type) {
    case "float":
      return `${d.math.fma}(${x}, ${y}, ${acc})`;
    case "int":
      return `int(uint(${x}) * uint(${y}) + uint(${acc}))`;
    case "uint":
      return `${x} * ${y} + ${acc}`;
    default:
      return type satisfies never;
  }
}

// ---------------------------------------------------------------- the writer

interface Param {
  readonly slot: number;
  readonly cname: string;
  readonly decl: string;
  readonly atomic: boolean;
  /** A 16-bit buffer seen as atomic 32-bit words, two elements each. */
  readonly packed: DType | undefined;
  readonly minBytes: number;
}

class KernelWriter implements ScalarContext, TileWriter {
  readonly helpers = new Set<HelperName>();
  private counter = 0;
  private readonly deps = new Map<Expr, ReadonlySet<string>>();
  private readonly linears = new Map<Expr, Linear | null>();
  private readonly pures = new Map<Expr, boolean>();
  private readonly canonical = new Map<Expr, Expr>();
  private readonly byKey = new Map<string, Expr>();
  private readonly ids = new Map<Expr, number>();
  private readonly reductions: ReadonlyMap<string, Reduction>;
  private readonly params: ReadonlyMap<string, Param>;
  private readonly gridStrides: readonly number[];
  private readonly schedule: Schedule;

  constructor(
    readonly d: Dialect,
    private readonly k: Kernel,
    opts: EmitOptions,
  ) {
    this.reductions = new Map(k.reductions.map((r) => [r.name, r]));
    this.params = this.makeParams();
    const strides: number[] = [];
    let s = 1;
    for (let i = k.grid.length - 1; i >= 0; i--) {
      strides[i] = s;
      s *= k.grid[i]!.extent;
    }
    this.gridStrides = strides;
    this.schedule = this.chooseSchedule(opts);
  }

  need(h: HelperName): void {
    this.helpers.add(h);
  }

  private fail(detail: string): never {
    throw new CompileError(`kernel ${this.k.name}: ${detail}`);
  }

  private fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  // ------------------------------------------------------------ signature

  private makeParams(): Map<string, Param> {
    const atomic = new Set(this.k.stores.filter((s) => s.mode === "add").map((s) => s.buf));
    const out = new Map<string, Param>();
    this.k.buffers.forEach((b, slot) => {
      const dtype = b.type.dtype;
      const cname = `b${slot}`;
      const space = this.d.addressSpace.device;
      const bytes = size(b.type.shape) * itemsize(dtype);
      let decl = `${space} ${b.access === "read" ? "const " : ""}${this.d.types[dtype]}*`;
      let packed: DType | undefined;
      if (atomic.has(b.name)) {
        const at = this.d.atomicTypes[dtype];
        if (at) decl = `${space} ${at}*`;
        else if (dtype === "float16" || dtype === "bfloat16") {
          decl = `${space} ${this.d.atomicTypes.uint32}*`;
          packed = dtype;
        } else this.fail(`add-stores into ${dtype} buffer %${b.name}: ${dtype} has no atomic add`);
      }
      const minBytes = packed ? roundUp(bytes, 4) : bytes;
      out.set(b.name, { slot, cname, decl, atomic: atomic.has(b.name), packed, minBytes });
    });
    return out;
  }

  private param(buf: string): Param {
    return this.params.get(buf) ?? this.fail(`buffer %${buf} is not in its buffer list`);
  }

  private builtinsUsed(): Builtin[] {
    switch (this.schedule.variant) {
      case "threadgroup":
        return ["groupInGrid", "threadInGroup", "threadsPerGroup", "lane", "simdgroup", "simdgroupsPerGroup"];
      case "matmul.simdgroup":
        return ["groupInGrid", "threadInGroup", "simdgroup"];
      default:
        return ["threadInGrid"];
    }
  }

  private b(which: Builtin): string {
    return this.d.builtins[which].name;
  }

  builtin(which: Builtin): string {
    return this.b(which);
  }

  private signature(entry: string): string[] {
    const ps = [...this.params.values()].map((p) => `${p.decl} ${p.cname} ${this.d.buffer(p.slot)}`);
    ps.push(`${this.d.addressSpace.constant} ${META_STRUCT}& ${META_PARAM} ${this.d.buffer(this.params.size)}`);
    for (const which of this.builtinsUsed()) {
      const bi = this.d.builtins[which];
      ps.push(`${bi.type} ${bi.name} ${bi.attr}`);
    }
    return [`${this.d.kernelPrefix} ${entry}(`, ...ps.map((p, i) => `    ${p}${i < ps.length - 1 ? "," : ") {"}`)];
  }

  /** The parameters of a barrier-free kernel's body function. */
  private threadParams(): string[] {
    const gid = this.d.builtins.threadInGrid;
    const decls = [...this.params.values()].map((p) => `${p.decl} ${p.cname}`);
    return [...decls, `${this.d.addressSpace.constant} ${META_STRUCT}& ${META_PARAM}`, `${gid.type} ${gid.name}`];
  }

  /** A call of the body function, with the buffers under their parameter names. */
  private threadCall(entry: string, meta: string, gid: string): string {
    return `${entry}_thread(${[...[...this.params.values()].map((p) => p.cname), meta, gid].join(", ")});`;
  }

  /** The host's trampolines: per thread, and for a barrier-free kernel, per range of groups. */
  trampoline(entry: string): string {
    const casts = [...this.params.values()].map((p) => `(${p.decl})buffers[${p.slot}]`);
    const meta = `*(${this.d.addressSpace.constant} ${META_STRUCT}*)buffers[${this.params.size}]`;
    const args = [...casts, meta, ...this.builtinsUsed().map((which) => `t->${this.d.hostThreadField[which]}`)];
    const lane = this.schedule.variant === "matmul.simdgroup" ? [`  ${this.d.hostLane} = t->lane;`] : [];
    const perThread = [
      `extern "C" void smelt_host_${entry}(void* const* buffers, const smelt_thread* t) {`,
      ...lane,
      `  ${entry}(`,
      ...args.map((a, i) => `      ${a}${i < args.length - 1 ? "," : ");"}`),
      "}",
    ];
    if (this.schedule.cooperative) return perThread.join("\n");
    return [...perThread, ...this.rangeTrampoline(entry, casts)].join("\n");
  }

  /**
   * Runs every thread of groups [group_begin, group_end). The metadata is copied to a local, so
   * that its fields are loop-invariant values the compiler sees; threads whose points are all in
   * the grid run in a first loop, where the kernel's bounds test folds away and the loop can
   * vectorize.
   */
  private rangeTrampoline(entry: string, casts: readonly string[]): string[] {
    const s = this.schedule;
    const call = this.threadCall(entry, `*(${this.d.addressSpace.constant} ${META_STRUCT}*)&m`, "t");
    const lines = [
      `extern "C" void smelt_host_range_${entry}(void* const* buffers, unsigned group_begin, unsigned group_end,`,
      `                                        unsigned threads_per_group, unsigned groups) {`,
      ...[...this.params.values()].map((p, i) => `  ${p.decl} ${p.cname} = ${casts[i]};`),
      `  const ${META_STRUCT} m = *(const ${META_STRUCT}*)buffers[${this.params.size}];`,
      "  const unsigned begin = group_begin * threads_per_group;",
      "  const unsigned end = group_end * threads_per_group;",
    ];
    if (s.variant === "matmul.blocked") {
      lines.push(`  for (unsigned t = begin; t < end; t++) ${call}`, "}");
      return lines;
    }
    lines.push(
      `  const unsigned whole = m.n${s.perThread > 1 ? ` / ${s.perThread}u` : ""};`,
      "  const unsigned split = end < whole ? end : whole;",
      "  unsigned t = begin;",
      `  for (; t < split; t++) ${call}`,
      `  for (; t < end; t++) ${call}`,
      "}",
    );
    return lines;
  }

  // ------------------------------------------------------------ schedule

  private chooseSchedule(opts: EmitOptions): Schedule {
    const k = this.k;
    const cooperative = opts.cooperative ?? true;
    const points = product(k.grid);
    const hinted = k.hints.threadsPerGroup;
    const clampThreads = (n: number) => Math.min(MAX_THREADS, Math.max(this.d.simdWidth, roundUp(n, this.d.simdWidth)));
    let note: string | undefined;
    if (k.kind === "matmul") {
      const tiled = this.tiledMatmul(opts.matmul ?? (cooperative ? "simdgroup" : "blocked"), opts.matmulBlock, clampThreads);
      if (typeof tiled !== "string") return tiled;
      note = tiled || undefined;
    }
    if (cooperative && (k.kind === "reduce" || k.kind === "row")) {
      const work = Math.max(
        1,
        ...k.reductions.filter((r) => r.scope.length === 0).map((r) => product(r.loops)),
        ...k.stores.map((s) => product(s.loops)),
      );
      const threads = clampThreads(hinted ?? Math.min(work, 256));
      const tops = k.reductions.filter(cooperativeReduction);
      const words = tops.length * (threads / this.d.simdWidth);
      const indexWords = tops.filter((r) => r.op === "argmax" || r.op === "argmin").length * (threads / this.d.simdWidth);
      return {
        variant: "threadgroup",
        cooperative: true,
        threads,
        groups: points,
        perThread: 1,
        tgWords: words,
        tgIndexWords: indexWords,
      };
    }
    const contiguous = k.kind === "elementwise" && this.isContiguous();
    // Several points per thread amortize a GPU thread's start; on the host the loop over threads
    // is the vector loop, and a small loop of points inside it would be the one vectorized.
    const perThread = contiguous && cooperative ? Math.max(1, k.hints.elementsPerThread ?? 4) : 1;
    const threadsNeeded = Math.ceil(points / perThread);
    const threads = clampThreads(hinted ?? Math.min(threadsNeeded, 256));
    const variant: KernelVariant =
      k.kind === "elementwise"
        ? contiguous
          ? "elementwise.contiguous"
          : "elementwise.strided"
        : k.kind === "matmul"
          ? "matmul.naive"
          : k.kind === "scatter"
            ? "scatter.atomic"
            : "serial";
    return {
      variant,
      cooperative: false,
      threads,
      groups: Math.ceil(threadsNeeded / threads),
      perThread,
      tgWords: 0,
      tgIndexWords: 0,
      ...(note ? { note } : {}),
    };
  }

  /** The tiled schedule of a matmul kernel, or why it runs naive ("" when asked to). */
  private tiledMatmul(
    want: MatmulVariant,
    given: BlockShape | undefined,
    clampThreads: (n: number) => number,
  ): Schedule | string {
    if (want === "naive") return "";
    const plan = matmulPlan(this.k);
    const why =
      typeof plan === "string"
        ? plan
        : want === "simdgroup" && !isFloat(plan.dot.body.dtype)
          ? `simdgroup_matrix multiplies floats, not ${plan.dot.body.dtype}`
          : undefined;
    if (typeof plan === "string" || why) return `matmul.${want} does not apply (${why}): one thread per element`;
    const base = { perThread: 1, tgWords: 0, tgIndexWords: 0, plan };
    if (want === "simdgroup") {
      const { groups, threads, threadgroupBytes } = simdgroupLaunch(plan);
      return { ...base, variant: "matmul.simdgroup", cooperative: true, threads, groups, tgBytes: threadgroupBytes };
    }
    const shape = given ?? defaultBlock(plan);
    if (!(Number.isInteger(shape.rows) && Number.isInteger(shape.cols) && shape.rows >= 1 && shape.cols >= 1)) {
      this.fail(`matmul block ${shape.rows}x${shape.cols} is not a positive size`);
    }
    const blocks = blockCount(plan, shape);
    // Blocks are large: one per group lets a runtime spread them over its workers (a host's
    // pool divides groups; 23 blocks in one group of 32 threads would all run on one core).
    return { ...base, block: shape, variant: "matmul.blocked", cooperative: false, threads: 1, groups: blocks };
  }

  /** Every store and every load that moves with the grid is at the grid's flat index. */
  private isContiguous(): boolean {
    if (product(this.k.grid) <= 1) return false;
    const loads: Extract<Expr, { k: "load" }>[] = [];
    const seen = new Set<Expr>();
    const walk = (e: Expr) => {
      if (seen.has(e)) return;
      seen.add(e);
      if (e.k === "load") loads.push(e);
      exprChildren(e).forEach(walk);
    };
    for (const s of this.k.stores) {
      if (s.loops.length || !this.isFlat(s.index)) return false;
      [s.index, s.value, ...(s.guard ? [s.guard] : [])].forEach(walk);
    }
    return loads.every((l) => this.isFlat(l.index) || this.depsOf(l.index).size === 0);
  }

  info(entry: string): Omit<EmittedKernel, "mslVersion"> {
    const s = this.schedule;
    const metaIndex = this.params.size;
    return {
      name: this.k.name,
      entry,
      hostEntry: `smelt_host_${entry}`,
      ...(s.cooperative ? {} : { hostRangeEntry: `smelt_host_range_${entry}` }),
      kind: this.k.kind,
      variant: s.variant,
      grid: [s.groups, 1, 1],
      threadsPerGroup: s.threads,
      buffers: [...this.params.entries()].map(([name, p]) => ({
        name,
        index: p.slot,
        access: this.k.buffers[p.slot]!.access,
        atomic: p.atomic,
        minBytes: p.minBytes,
      })),
      metaLayout: { index: metaIndex, bytes: 4, fields: [{ name: "n", offset: 0, value: product(this.k.grid) }] },
      threadgroupBytes: s.tgBytes ?? 4 * (s.tgWords + s.tgIndexWords),
      cooperative: s.cooperative,
    };
  }

  // ------------------------------------------------------------ the body

  write(): string {
    const root = new Block(undefined, true);
    const s = this.schedule;
    if (s.note) root.lines.push(`// ${s.note}`);
    switch (s.variant) {
      case "threadgroup":
        this.writeGroup(root);
        break;
      case "matmul.simdgroup":
        writeSimdgroup(this, root, s.plan!);
        break;
      case "matmul.blocked":
        writeBlocked(this, root, s.plan!, s.block!);
        break;
      default:
        this.writeSerial(root);
    }
    const body = withoutDeadLets(root.lines.map((l) => `  ${l}`));
    if (s.cooperative) return [...this.signature(ENTRY_PLACEHOLDER), ...body, "}"].join("\n");
    const decls = this.threadParams();
    return [
      `${this.d.inlinePrefix} ${ENTRY_PLACEHOLDER}_thread(`,
      ...decls.map((p, i) => `    ${p}${i < decls.length - 1 ? "," : ") {"}`),
      ...body,
      "}",
      "",
      ...this.signature(ENTRY_PLACEHOLDER),
      `  ${this.threadCall(ENTRY_PLACEHOLDER, META_PARAM, this.b("threadInGrid"))}`,
      "}",
    ].join("\n");
  }

  // ------------------------------------------------------------ what the tile writers use

  get dot(): DotAlgebra {
    const r = this.schedule.plan!.dot;
    const alg = algebra(this, r);
    return {
      acc: alg.type,
      zero: alg.identity,
      result: this.d.types[r.dtype],
      lift: alg.lift,
      step: (x, y, acc) => dotStep(this.d, alg.type, x, y, acc),
      finish: (acc) => finish(this.d, r, acc, ""),
    };
  }

  epilogue(b: Block): void {
    for (const group of groupByLoops(this.k.stores)) this.serialStores(group, b);
  }

  /** Binds the grid's variables in `g`, derived from the flat grid index `flat` (uint). */
  private bindGrid(g: Block, flat: string): void {
    g.vars.set(FLAT, { name: `${flat}_i`, def: `int(${flat})`, emitted: false });
    const defs = decompose(flat, this.k.grid);
    this.k.grid.forEach((l, i) => g.vars.set(l.v, { name: loopName(l.v), def: defs[i]!, emitted: false }));
  }

  private writeSerial(root: Block): void {
    const gid = this.b("threadInGrid");
    const per = this.schedule.perThread;
    const n = `${META_PARAM}.n`;
    if (per === 1) {
      root.lines.push(`if (${gid} >= ${n}) return;`);
      this.bindGrid(root, gid);
      this.gridBody(root, false);
      return;
    }
    // Whole runs of points take no bounds test, so that a loop over threads can vectorize.
    const pass = (tested: boolean): Block => {
      const outer = new Block(root, true);
      const g = new Block(outer, true);
      g.lines.push(`const uint i = ${gid} * ${per}u + j;`, ...(tested ? [`if (i >= ${n}) return;`] : []));
      this.bindGrid(g, "i");
      this.gridBody(g, false);
      splice(outer, `for (uint j = 0u; j < ${per}u; j++)`, g);
      return outer;
    };
    spliceIfElse(root, `${gid} < ${n} / ${per}u`, pass(false), pass(true));
  }

  private writeGroup(root: Block): void {
    const s = this.schedule;
    if (s.tgWords) root.lines.push(`${this.d.addressSpace.threadgroup} uint tg_value[${s.tgWords}];`);
    if (s.tgIndexWords) root.lines.push(`${this.d.addressSpace.threadgroup} int tg_index[${s.tgIndexWords}];`);
    // Uniform per threadgroup: a group that leaves, leaves whole, before any barrier.
    root.lines.push(`if (${this.b("groupInGrid")} >= ${META_PARAM}.n) return;`);
    this.bindGrid(root, this.b("groupInGrid"));
    this.gridBody(root, true);
  }

  /** The reductions at grid level, in order, then the stores. */
  private gridBody(g: Block, cooperative: boolean): void {
    let slot = 0;
    for (const r of this.k.reductions) {
      if (r.scope.length) continue; // computed where its enclosing loop uses it
      const alg = algebra(this, r);
      const name = !cooperativeReduction(r)
        ? this.empty(r, alg, g)
        : cooperative
          ? this.groupReduction(r, g, slot++)
          : this.serialReduction(r, g);
      g.reduced.set(r.name, name);
    }
    for (const group of groupByLoops(this.k.stores)) {
      if (cooperative) this.groupStores(group, g);
      else this.serialStores(group, g);
    }
  }

  // ------------------------------------------------------------ expressions

  private depsOf(e: Expr): ReadonlySet<string> {
    const hit = this.deps.get(e);
    if (hit) return hit;
    const out = new Set<string>();
    const add = (x: Expr) => this.depsOf(x).forEach((v) => out.add(v));
    switch (e.k) {
      case "idx":
        out.add(e.v);
        break;
      case "const":
        break;
      case "load":
        add(e.index);
        break;
      case "op":
        e.args.forEach(add);
        break;
      case "random":
        [e.key0, e.key1, e.counter].forEach(add);
        break;
      case "reduced": {
        const r = this.reduction(e.name);
        if (r.scope.length === 0) {
          out.add(`@${r.name}`);
          break;
        }
        const own = new Set(r.loops.map((l) => l.v));
        this.depsOf(r.body).forEach((v) => {
          if (!own.has(v)) out.add(v);
        });
        r.scope.forEach((l) => out.add(l.v));
        break;
      }
      default:
        e satisfies never;
    }
    this.deps.set(e, out);
    return out;
  }

  private reduction(name: string): Reduction {
    return this.reductions.get(name) ?? this.fail(`reduction %${name} is not defined`);
  }

  private linear(e: Expr): Linear | null {
    if (this.linears.has(e)) return this.linears.get(e)!;
    let out: Linear | null = null;
    if (e.dtype === "int32") {
      if (e.k === "const") out = { coef: new Map(), c: e.value };
      else if (e.k === "idx") out = { coef: new Map([[e.v, 1]]), c: 0 };
      else if (e.k === "op" && (e.op === "add" || e.op === "sub" || e.op === "mul")) {
        const a = this.linear(e.args[0]!);
        const b = this.linear(e.args[1]!);
        if (a && b) out = combineLinear(e.op, a, b);
      }
    }
    this.linears.set(e, out);
    return out;
  }

  /** `e` is the grid's row-major flat index. */
  private isFlat(e: Expr): boolean {
    if (e.k !== "idx" && e.k !== "op") return false;
    if (!this.k.grid.some((l) => l.extent > 1)) return false;
    const lin = this.linear(e);
    if (!lin || lin.c !== 0) return false;
    const grid = new Map(this.k.grid.map((l, i) => [l.v, i]));
    for (const v of lin.coef.keys()) if (!grid.has(v)) return false;
    return this.k.grid.every((l, i) => l.extent <= 1 || lin.coef.get(l.v) === this.gridStrides[i]);
  }

  /** Pure loop-index arithmetic: its int32 adds and products never overflow. */
  private isPure(e: Expr): boolean {
    const hit = this.pures.get(e);
    if (hit !== undefined) return hit;
    let out = false;
    if (e.k === "idx" || (e.k === "const" && e.dtype === "int32")) out = true;
    else if (e.k === "op" && e.dtype === "int32" && ["add", "sub", "mul", "div", "mod"].includes(e.op)) {
      out = e.args.every((a) => this.isPure(a));
    }
    this.pures.set(e, out);
    return out;
  }

  /** `v` is bound in `cur` or a block around it (the flat index is not, where a tile reads operands). */
  private bound(v: string, cur: Block): boolean {
    for (let b: Block | undefined = cur; b; b = b.parent) if (b.vars.has(v)) return true;
    return false;
  }

  private varRef(v: string, cur: Block): string {
    for (let b: Block | undefined = cur; b; b = b.parent) {
      const bind = b.vars.get(v);
      if (!bind) continue;
      if (!bind.emitted) {
        b.lines.push(`const int ${bind.name} = ${bind.def};`);
        bind.emitted = true;
      }
      return bind.name;
    }
    return this.fail(`loop index ${v} is used outside its loop`);
  }

  /** The outermost block, at or inside which `e` can be computed: where all it depends on is bound. */
  private target(e: Expr, cur: Block): Block {
    const deps = [...this.depsOf(e)];
    let b = cur;
    while (b.parent && !b.fence && !deps.some((x) => b.owns(x))) b = b.parent;
    return b;
  }

  private memoized(e: Expr, cur: Block): string | undefined {
    for (let b: Block | undefined = cur; b; b = b.parent) {
      const hit = b.memo.get(e);
      if (hit) return hit;
    }
    return undefined;
  }

  /**
   * One object per structurally equal expression: fusion shares most subexpressions, but not
   * all (an index it rebuilt for a store equals the one a load of the same element was given).
   */
  private canon(e: Expr): Expr {
    const hit = this.canonical.get(e);
    if (hit) return hit;
    const id = (x: Expr) => this.ids.get(this.canon(x))!;
    let key: string;
    switch (e.k) {
      case "idx":
        key = `i:${e.v}`;
        break;
      case "const":
        key = `c:${e.dtype}:${Object.is(e.value, -0) ? "-0" : e.value}`;
        break;
      case "load":
        key = `l:${e.buf}:${e.dtype}:${id(e.index)}`;
        break;
      case "op":
        key = `o:${e.op}:${e.dtype}:${e.args.map(id).join(",")}`;
        break;
      case "reduced":
        key = `r:${e.name}`;
        break;
      case "random":
        key = `x:${e.word}:${id(e.key0)},${id(e.key1)},${id(e.counter)}`;
        break;
      default:
        return e satisfies never;
    }
    let rep = this.byKey.get(key);
    if (!rep) {
      rep = e;
      this.byKey.set(key, e);
      this.ids.set(e, this.ids.size);
    }
    this.canonical.set(e, rep);
    return rep;
  }

  /** An atom (a name or a literal) holding the value of `e` in block `cur`. */
  value(expr: Expr, cur: Block): string {
    const e = this.canon(expr);
    switch (e.k) {
      case "const":
        return literal(this.d, e.value, e.dtype);
      case "idx":
        return this.isFlat(e) && this.bound(FLAT, cur) ? this.varRef(FLAT, cur) : this.varRef(e.v, cur);
      case "reduced":
        if (this.reduction(e.name).scope.length === 0) return this.reducedRef(e.name, cur);
        break;
      default:
        if (this.isFlat(e) && this.bound(FLAT, cur)) return this.varRef(FLAT, cur);
    }
    const hit = this.memoized(e, cur);
    if (hit) return hit;
    const target = this.target(e, cur);
    const name = this.compute(e, target);
    target.memo.set(e, name);
    return name;
  }

  private reducedRef(name: string, cur: Block): string {
    for (let b: Block | undefined = cur; b; b = b.parent) {
      const hit = b.reduced.get(name);
      if (hit) return hit;
    }
    return this.fail(`reduction %${name} is used before it is computed`);
  }

  private let(b: Block, dtype: DType, code: string): string {
    const name = this.fresh("v");
    b.lines.push(`const ${this.d.types[dtype]} ${name} = ${code};`);
    return name;
  }

  private compute(e: Expr, b: Block): string {
    switch (e.k) {
      case "load": {
        const p = this.param(e.buf);
        const i = this.value(e.index, b);
        const at = `${p.cname}[${i}]`;
        if (p.packed) return this.let(b, e.dtype, this.packedLoad(p, i));
        return this.let(b, e.dtype, p.atomic ? `${this.d.atomicLoad}(&${at}, ${this.d.relaxed})` : at);
      }
      case "op":
        return this.let(b, e.dtype, renderOp(this, e, e.args.map((a) => this.value(a, b)), this.isPure(e)));
      case "random": {
        const args = [e.key0, e.key1, e.counter].map((a) => this.value(a, b));
        return `${this.randomPair(args, b)}.${e.word === 0 ? "x" : "y"}`;
      }
      case "reduced":
        return this.serialReduction(this.reduction(e.name), b);
      case "const":
      case "idx":
        return this.fail("constants and indices are atoms");
      default:
        return e satisfies never;
    }
  }

  /** Both words of one Threefry block are computed once. */
  private randomPair(args: readonly string[], b: Block): string {
    const key = args.join(",");
    for (let x: Block | undefined = b; x; x = x.parent) {
      const hit = x.pairs.get(key);
      if (hit) return hit;
    }
    this.need("threefry");
    const name = this.fresh("rnd");
    const [k0, k1, c] = args as [string, string, string];
    b.lines.push(`const uint2 ${name} = smelt_threefry(${k0}, ${k1}, 0u, ${c});`);
    b.pairs.set(key, name);
    return name;
  }

  // ------------------------------------------------------------ reductions

  /** One step of `r` in block `b`: folds the body at the current loop indices into the accumulator. */
  private step(r: Reduction, alg: Algebra, acc: string, index: string, b: Block): void {
    const d = this.d;
    if (r.op === "dot") {
      const body = r.body;
      if (body.k !== "op" || body.op !== "mul") this.fail(`the body of dot reduction %${r.name} is not a mul`);
      const [x, y] = body.args.map((a) => alg.lift(this.value(a, b))) as [string, string];
      b.lines.push(`${acc} = ${dotStep(d, alg.type, x, y, acc)};`);
      return;
    }
    const x = alg.lift(this.value(r.body, b));
    if (alg.takes) {
      const i = this.varRef(r.loops[0]!.v, b);
      b.lines.push(`if (smelt_${alg.takes}(${acc}, ${index}, ${x}, ${i})) {`, `  ${acc} = ${x};`, `  ${index} = ${i};`, "}");
      return;
    }
    b.lines.push(`${acc} = ${alg.combine(acc, x)};`);
  }

  private declareAcc(alg: Algebra, b: Block): { acc: string; index: string } {
    const acc = this.fresh("acc");
    b.lines.push(`${alg.type} ${acc} = ${alg.identity};`);
    if (!alg.takes) return { acc, index: "" };
    const index = this.fresh("at");
    b.lines.push(`int ${index} = ${INT_MAX};`);
    return { acc, index };
  }

  /** A reduction's result over loops of no iterations (sum 0, product 1). */
  private empty(r: Reduction, alg: Algebra, b: Block): string {
    const name = this.fresh("red");
    b.lines.push(`const ${this.d.types[r.dtype]} ${name} = ${finish(this.d, r, alg.identity, "0")};`);
    return name;
  }

  /** `r` by one thread: nested loops in block `b`; returns the result's name. */
  private serialReduction(r: Reduction, b: Block): string {
    const alg = algebra(this, r);
    if (r.loops.some((l) => l.extent === 0)) return this.empty(r, alg, b);
    const { acc, index } = this.declareAcc(alg, b);
    this.nestLoops(b, r.loops, (body) => this.step(r, alg, acc, index, body));
    const name = this.fresh("red");
    b.lines.push(`const ${this.d.types[r.dtype]} ${name} = ${finish(this.d, r, acc, index)};`);
    return name;
  }

  /** Serial loops over `loops` inside `b`, with `fill` writing the innermost body. */
  private nestLoops(b: Block, loops: readonly Loop[], fill: (body: Block) => void): void {
    const blocks: { block: Block; header: string }[] = [];
    let inner = b;
    for (const l of loops) {
      const block = new Block(inner, false);
      const v = loopName(l.v);
      block.vars.set(l.v, { name: v, emitted: true });
      blocks.push({ block, header: `for (int ${v} = 0; ${v} < ${l.extent}; ${v}++)` });
      inner = block;
    }
    fill(inner);
    for (let i = blocks.length - 1; i >= 0; i--) splice(i ? blocks[i - 1]!.block : b, blocks[i]!.header, blocks[i]!.block);
  }

  /** A loop over `loops` split across the threadgroup's threads (flattened, strided by thread). */
  private groupLoop(b: Block, loops: readonly Loop[], fill: (body: Block) => void): void {
    const f = this.fresh("f");
    const body = new Block(b, false);
    const defs = decompose(f, loops);
    loops.forEach((l, i) => body.vars.set(l.v, { name: loopName(l.v), def: defs[i]!, emitted: false }));
    fill(body);
    const tid = this.b("threadInGroup");
    splice(b, `for (uint ${f} = ${tid}; ${f} < ${product(loops)}u; ${f} += ${this.b("threadsPerGroup")})`, body);
  }

  /**
   * `r` by the whole threadgroup: each thread folds its share, simdgroups combine their lanes,
   * and every thread combines the simdgroups' partials from threadgroup memory (so each holds
   * the result, and each reduction's own slots need only one barrier).
   */
  private groupReduction(r: Reduction, g: Block, slot: number): string {
    const d = this.d;
    const alg = algebra(this, r);
    const { acc, index } = this.declareAcc(alg, g);
    this.groupLoop(g, r.loops, (body) => this.step(r, alg, acc, index, body));
    this.simdCombine(alg, acc, index, g);
    const perGroup = this.schedule.threads / d.simdWidth;
    const base = slot * perGroup;
    const at = base ? `${base} + ${this.b("simdgroup")}` : this.b("simdgroup");
    const asWord = (x: string) => (alg.type === "uint" ? x : `${d.bitcast}<uint>(${x})`);
    const fromWord = (x: string) => (alg.type === "uint" ? x : `${d.bitcast}<${alg.type}>(${x})`);
    const store = [`  tg_value[${at}] = ${asWord(acc)};`];
    const argBase = this.argBase(slot);
    const plus = (n: number, x: string) => (n ? `${n} + ${x}` : x);
    if (alg.takes) store.push(`  tg_index[${plus(argBase, this.b("simdgroup"))}] = ${index};`);
    g.lines.push(`if (${this.b("lane")} == 0u) {`, ...store, "}", `${d.barrier};`);
    const total = this.declareAcc(alg, g);
    const s = this.fresh("s");
    const part = this.fresh("part");
    const loop = [`const ${alg.type} ${part} = ${fromWord(`tg_value[${plus(base, s)}]`)};`];
    if (alg.takes) {
      const pi = `tg_index[${plus(argBase, s)}]`;
      loop.push(
        `if (smelt_${alg.takes}(${total.acc}, ${total.index}, ${part}, ${pi})) {`,
        `  ${total.acc} = ${part};`,
        `  ${total.index} = ${pi};`,
        "}",
      );
    } else {
      loop.push(`${total.acc} = ${alg.combine(total.acc, part)};`);
    }
    g.lines.push(`for (uint ${s} = 0u; ${s} < ${this.b("simdgroupsPerGroup")}; ${s}++) {`, ...loop.map((l) => `  ${l}`), "}");
    const name = this.fresh("red");
    g.lines.push(`const ${d.types[r.dtype]} ${name} = ${finish(d, r, total.acc, total.index)};`);
    return name;
  }

  /** Slots of `tg_index` are numbered among the arg reductions only. */
  private argBase(slot: number): number {
    const earlier = this.k.reductions.filter(cooperativeReduction).slice(0, slot);
    const before = earlier.filter((x) => x.op === "argmax" || x.op === "argmin").length;
    return before * (this.schedule.threads / this.d.simdWidth);
  }

  /** Combines the lanes of each simdgroup; afterwards every lane holds its simdgroup's partial. */
  private simdCombine(alg: Algebra, acc: string, index: string, g: Block): void {
    const d = this.d;
    if (alg.simdSum) {
      g.lines.push(`${acc} = ${d.simdSum}(${acc});`);
      return;
    }
    // A butterfly: NaN-propagating max/min and (value, index) pairs have no simd builtin.
    const o = this.fresh("o");
    const other = this.fresh("other");
    const body = [`const ${alg.type} ${other} = ${d.simdShuffleXor}(${acc}, ushort(${o}));`];
    if (alg.takes) {
      const oi = this.fresh("otherAt");
      body.push(
        `const int ${oi} = ${d.simdShuffleXor}(${index}, ushort(${o}));`,
        `if (smelt_${alg.takes}(${acc}, ${index}, ${other}, ${oi})) {`,
        `  ${acc} = ${other};`,
        `  ${index} = ${oi};`,
        "}",
      );
    } else {
      body.push(`${acc} = ${alg.combine(acc, other)};`);
    }
    g.lines.push(`for (uint ${o} = ${d.simdWidth / 2}u; ${o} > 0u; ${o} >>= 1u) {`, ...body.map((l) => `  ${l}`), "}");
  }

  // ------------------------------------------------------------ stores

  private store(s: Store, b: Block): void {
    const p = this.param(s.buf);
    const i = this.value(s.index, b);
    const v = this.value(s.value, b);
    const at = `${p.cname}[${i}]`;
    const write = p.packed
      ? this.packedAdd(p, p.packed, i, v)
      : [s.mode === "add" ? `${this.d.atomicAdd}(&${at}, ${v}, ${this.d.relaxed});` : `${at} = ${v};`];
    if (s.guard) b.lines.push(`if (${this.value(s.guard, b)}) {`, ...write.map((l) => `  ${l}`), "}");
    else b.lines.push(...write);
  }

  /** Element `i` of a 16-bit buffer held as atomic words. */
  private packedLoad(p: Param, i: string): string {
    const d = this.d;
    const word = `${d.atomicLoad}(&${p.cname}[${i} >> 1], ${d.relaxed})`;
    return `${d.bitcast}<${d.types[p.packed!]}>(ushort(${word} >> ((uint(${i}) & 1u) * 16u)))`;
  }

  /**
   * `+=` on a 16-bit element: Metal has no 16-bit atomics, so a compare-and-swap loop on the
   * containing 32-bit word (little-endian halves) adds in float and rounds once, as the IR does.
   */
  private packedAdd(p: Param, t: DType, i: string, v: string): string[] {
    const d = this.d;
    const [old, shift, sum, word] = ["old", "shift", "sum", "word"].map((x) => this.fresh(x)) as [string, string, string, string];
    const w = `&${p.cname}[${i} >> 1]`;
    const T = d.types[t];
    return [
      `uint ${old} = ${d.atomicLoad}(${w}, ${d.relaxed});`,
      `const uint ${shift} = (uint(${i}) & 1u) * 16u;`,
      "for (;;) {",
      `  const ${T} ${sum} = ${T}(float(${d.bitcast}<${T}>(ushort(${old} >> ${shift}))) + float(${v}));`,
      `  const uint ${word} = (${old} & ~(0xFFFFu << ${shift})) | (uint(${d.bitcast}<ushort>(${sum})) << ${shift});`,
      `  if (${d.atomicCompareExchange}(${w}, &${old}, ${word}, ${d.relaxed}, ${d.relaxed})) break;`,
      "}",
    ];
  }

  private serialStores(stores: readonly Store[], g: Block): void {
    const loops = stores[0]!.loops;
    if (loops.some((l) => l.extent === 0)) return;
    if (loops.length === 0) {
      stores.forEach((s) => this.store(s, g));
      return;
    }
    this.nestLoops(g, loops, (body) => stores.forEach((s) => this.store(s, body)));
  }

  private groupStores(stores: readonly Store[], g: Block): void {
    const loops = stores[0]!.loops;
    if (loops.some((l) => l.extent === 0)) return;
    if (loops.length === 0) {
      // One store per grid point: the first thread makes it.
      const b = new Block(g, true);
      stores.forEach((s) => this.store(s, b));
      splice(g, `if (${this.b("threadInGroup")} == 0u)`, b);
      return;
    }
    this.groupLoop(g, loops, (body) => stores.forEach((s) => this.store(s, body)));
  }
}

/** A grid-level reduction over at least one element: the threadgroup computes it together. */
const cooperativeReduction = (r: Reduction): boolean => r.scope.length === 0 && r.loops.every((l) => l.extent > 0);

interface Schedule {
  readonly variant: KernelVariant;
  /** Why a matmul runs naive, for a comment in the kernel. */
  readonly note?: string;
  /** Tiled matmuls: the structure, and the blocked variant's block. */
  readonly plan?: MatmulPlan;
  readonly block?: BlockShape;
  /** Threadgroup memory, where not `tgWords` and `tgIndexWords` words. */
  readonly tgBytes?: number;
  readonly cooperative: boolean;
  readonly threads: number;
  readonly groups: number;
  /** Grid points per thread (serial kernels). */
  readonly perThread: number;
  /** Words of threadgroup memory for partials, and for arg-reduction indices. */
  readonly tgWords: number;
  readonly tgIndexWords: number;
}

function combineLinear(op: "add" | "sub" | "mul", a: Linear, b: Linear): Linear | null {
  if (op === "mul") {
    const [x, n] = a.coef.size === 0 ? [b, a.c] : b.coef.size === 0 ? [a, b.c] : [undefined, 0];
    if (!x) return null;
    return { coef: new Map([...x.coef].map(([v, c]) => [v, c * n])), c: x.c * n };
  }
  const sign = op === "add" ? 1 : -1;
  const coef = new Map(a.coef);
  for (const [v, c] of b.coef) coef.set(v, (coef.get(v) ?? 0) + sign * c);
  for (const [v, c] of coef) if (c === 0) coef.delete(v);
  return { coef, c: a.c + sign * b.c };
}

/**
 * Drops `const` definitions nothing reads (the operands of an op that folded away, say), so the
 * text has no unused variables. Those without a simd function or an atomic have no side
 * effects; removing one can make others dead.
 */
function withoutDeadLets(lines: readonly string[]): string[] {
  let out = [...lines];
  const def = /^\s*const \w+ ([A-Za-z_]\w*) = /;
  const effect = /\b(?:simd_\w+|atomic_\w+|threadgroup_barrier)\s*\(/;
  for (;;) {
    const uses = new Map<string, number>();
    for (const m of out.join("\n").matchAll(/\b[A-Za-z_]\w*\b/g)) uses.set(m[0], (uses.get(m[0]) ?? 0) + 1);
    const next = out.filter((l) => {
      const m = def.exec(l);
      return !m || effect.test(l) || uses.get(m[1]!)! > 1;
    });
    if (next.length === out.length) return out;
    out = next;
  }
}


/** Consecutive stores over the same loops share one loop. */
function groupByLoops(stores: readonly Store[]): Store[][] {
  const out: Store[][] = [];
  const same = (a: readonly Loop[], b: readonly Loop[]) =>
    a.length === b.length && a.every((l, i) => l.v === b[i]!.v && l.extent === b[i]!.extent);
  for (const s of stores) {
    const last = out[out.length - 1];
    if (last && same(last[0]!.loops, s.loops)) last.push(s);
    else out.push([s]);
  }
  return out;
}
