// Hand-built kernel-IR programs for the planning and stats tests: each kernel's buffer list is
// derived from its loads and stores, so a test states only what the kernel computes.
import {
  type BufferKind,
  type DType,
  type Expr,
  idx,
  type Kernel,
  type KernelBuffer,
  type KernelKind,
  load,
  type Loop,
  type Program,
  type ProgramBuffer,
  type Reduction,
  size,
  type Store,
  type TensorType,
} from "../../src/ir/index.js";

export const ty = (dtype: DType, ...shape: number[]): TensorType => ({ dtype, shape });
export const f32 = (...shape: number[]): TensorType => ty("float32", ...shape);

export interface StoreSpec {
  readonly out: string;
  readonly value: Expr;
  /** Default: p0 over a one-dimensional grid. */
  readonly index?: Expr;
  readonly mode?: "set" | "add";
  /** Store loops (a row kernel's), default none. */
  readonly loops?: readonly Loop[];
}

export interface KernelOpts {
  readonly kind?: KernelKind;
  /** Default: one loop p0 over the first output's size. */
  readonly grid?: readonly number[];
  readonly reductions?: readonly Reduction[];
}

export class ProgramBuilder {
  private readonly buffers: ProgramBuffer[] = [];
  private readonly kernels: Kernel[] = [];
  private readonly params: string[] = [];
  private results: string[] = [];

  constructor(private readonly name = "p") {}

  buffer(name: string, type: TensorType, kind: BufferKind): this {
    const data = kind === "const" ? { data: new Float64Array(size(type.shape)) } : {};
    this.buffers.push({ name, type, kind, ...data });
    if (kind === "param") this.params.push(name);
    if (kind === "result") this.results.push(name);
    return this;
  }
  param(name: string, type: TensorType): this {
    return this.buffer(name, type, "param");
  }
  temp(name: string, type: TensorType): this {
    return this.buffer(name, type, "temp");
  }
  result(name: string, type: TensorType): this {
    return this.buffer(name, type, "result");
  }
  returning(...names: string[]): this {
    this.results = names;
    return this;
  }

  typeOf(name: string): TensorType {
    const b = this.buffers.find((x) => x.name === name);
    if (!b) throw new Error(`test program: no buffer ${name}`);
    return b.type;
  }

  /** `buf[index]`, by default at the grid point p0. */
  at(buf: string, index: Expr = idx("p0")): Expr {
    return load(buf, index, this.typeOf(buf).dtype);
  }

  kernel(stores: readonly StoreSpec[], opts: KernelOpts = {}): this {
    const extents = opts.grid ?? [size(this.typeOf(stores[0]!.out).shape)];
    const grid: Loop[] = extents.map((extent, i) => ({ v: `p${i}`, extent }));
    const built: Store[] = stores.map((s) => ({
      buf: s.out,
      loops: s.loops ?? [],
      index: s.index ?? idx("p0"),
      value: s.value,
      mode: s.mode ?? "set",
    }));
    const reads = new Set<string>();
    for (const r of opts.reductions ?? []) loadsOf(r.body, reads);
    for (const s of built) {
      loadsOf(s.index, reads);
      loadsOf(s.value, reads);
      if (s.mode === "add") reads.add(s.buf);
    }
    const writes = new Set(built.map((s) => s.buf));
    const buffers: KernelBuffer[] = [...new Set([...reads, ...writes])].map((name) => ({
      name,
      type: this.typeOf(name),
      access: writes.has(name) ? (reads.has(name) ? "readwrite" : "write") : "read",
    }));
    this.kernels.push({
      name: `k${this.kernels.length}`,
      kind: opts.kind ?? "elementwise",
      buffers,
      grid,
      reductions: [...(opts.reductions ?? [])],
      stores: built,
      hints: {},
      sources: [],
    });
    return this;
  }

  build(): Program {
    return {
      name: this.name,
      buffers: [...this.buffers],
      params: [...this.params],
      results: [...this.results],
      kernels: [...this.kernels],
      report: [],
    };
  }
}

function loadsOf(e: Expr, out: Set<string>): void {
  switch (e.k) {
    case "idx":
    case "const":
    case "reduced":
      return;
    case "load":
      out.add(e.buf);
      loadsOf(e.index, out);
      return;
    case "op":
      for (const a of e.args) loadsOf(a, out);
      return;
    case "random":
      loadsOf(e.key0, out);
      loadsOf(e.key1, out);
      loadsOf(e.counter, out);
      return;
    default:
      e satisfies never;
  }
}
