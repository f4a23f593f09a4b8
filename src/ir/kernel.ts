// Kernel IR: what fusion produces and codegen consumes. A program is a list of kernels over
// named flat buffers. A kernel is a parallel grid of loops; at each grid point it computes its
// reductions in order (each over loops of its own), then performs its stores (each possibly over
// loops of its own, as the row pattern does). Every value is a scalar expression DAG whose
// leaves are loop indices, constants, loads, and earlier reductions.
import type { Attrs } from "./attrs.js";
import type { DType } from "./dtype.js";
import type { Loc } from "./loc.js";
import type { ElementwiseName } from "./ops/elementwise.js";
import type { TensorType } from "./types.js";

/** Scalar operations: the elementwise primitives, and `mod` for index arithmetic. */
export type ScalarOp = Exclude<ElementwiseName, "stop_gradient"> | "mod";

/**
 * `dot` sums the exact products of its body's two `mul` operands (a fused multiply-add on the
 * GPU), so a fused matmul rounds exactly as the graph's `matmul` does.
 */
export type ReduceOp = "sum" | "dot" | "prod" | "max" | "min" | "argmax" | "argmin";

export interface Loop {
  /** `p0..` for the grid, `r0..` for reductions, `c0..` for store loops; unique in a kernel. */
  readonly v: string;
  readonly extent: number;
}

export type Expr =
  /** A loop index (int32). */
  | { readonly k: "idx"; readonly v: string; readonly dtype: "int32" }
  | { readonly k: "const"; readonly value: number; readonly dtype: DType }
  /** Element `index` of a buffer (row-major flat index, always in range). */
  | { readonly k: "load"; readonly buf: string; readonly index: Expr; readonly dtype: DType }
  | {
      readonly k: "op";
      readonly op: ScalarOp;
      readonly args: readonly Expr[];
      readonly dtype: DType;
      /** Only `convert` has attributes. */
      readonly attrs?: Attrs["convert"];
    }
  /** The value of an earlier reduction of the same kernel at this grid point. */
  | { readonly k: "reduced"; readonly name: string; readonly dtype: DType }
  /** Word `word` of Threefry-2x32 of the key words and the counter pair (0, counter). */
  | {
      readonly k: "random";
      readonly key0: Expr;
      readonly key1: Expr;
      readonly counter: Expr;
      readonly word: 0 | 1;
      readonly dtype: "uint32";
    };

export interface Reduction {
  readonly name: string;
  readonly op: ReduceOp;
  /**
   * Loops of enclosing reductions this one is computed inside (one value per grid point and per
   * iteration of these loops): a small reduction nested in a larger one, as in a cross-entropy
   * mean over rows of per-row log-sum-exps. Empty for a reduction at grid level.
   */
  readonly scope: readonly Loop[];
  /** Reduced in row-major order over these loops (argmax/argmin: exactly one loop). */
  readonly loops: readonly Loop[];
  readonly body: Expr;
  /** The result's dtype: the body's, int32 for argmax/argmin. */
  readonly dtype: DType;
}

export interface Store {
  readonly buf: string;
  readonly loops: readonly Loop[];
  readonly index: Expr;
  readonly value: Expr;
  /** "add" accumulates into the buffer (scatter-add: atomics on a GPU). */
  readonly mode: "set" | "add";
  /** When present, the store happens only where it is true (scatter-add drops out-of-range indices). */
  readonly guard?: Expr;
}

export type KernelKind = "elementwise" | "reduce" | "row" | "matmul" | "scatter";

export interface KernelBuffer {
  readonly name: string;
  readonly type: TensorType;
  readonly access: "read" | "write" | "readwrite";
}

/** Codegen may use these; the semantics do not depend on them. */
export interface ScheduleHints {
  readonly threadsPerGroup?: number;
  readonly elementsPerThread?: number;
  /** Contractions: the operands and the [batch, m, n, k] extents, for the tiled variants. */
  readonly matmul?: {
    readonly a: string;
    readonly b: string;
    readonly batch: number;
    readonly m: number;
    readonly n: number;
    readonly k: number;
  };
}

export interface Kernel {
  readonly name: string;
  readonly kind: KernelKind;
  readonly buffers: readonly KernelBuffer[];
  readonly grid: readonly Loop[];
  readonly reductions: readonly Reduction[];
  readonly stores: readonly Store[];
  readonly hints: ScheduleHints;
  /** The graph ops this kernel computes, for error messages and dumps. */
  readonly sources: readonly { readonly op: string; readonly loc?: Loc }[];
}

export type BufferKind = "param" | "result" | "temp" | "const";

export interface ProgramBuffer {
  readonly name: string;
  readonly type: TensorType;
  readonly kind: BufferKind;
  /** `const` buffers: their values, row-major. */
  readonly data?: Float64Array;
}

export interface FusionNote {
  /** The value (graph-IR printed name) where a kernel ended or a value was materialized. */
  readonly value: string;
  readonly reason: string;
}

export interface Program {
  readonly name: string;
  readonly buffers: readonly ProgramBuffer[];
  /** Buffer names of the func's params and results, in order (a result may repeat a buffer). */
  readonly params: readonly string[];
  readonly results: readonly string[];
  readonly kernels: readonly Kernel[];
  readonly report: readonly FusionNote[];
}

// ---------------------------------------------------------------- builders

export const idx = (v: string): Expr => ({ k: "idx", v, dtype: "int32" });
export const lit = (value: number, dtype: DType): Expr => ({ k: "const", value, dtype });
export const load = (buf: string, index: Expr, dtype: DType): Expr => ({ k: "load", buf, index, dtype });
export const sop = (op: ScalarOp, args: readonly Expr[], dtype: DType): Expr => ({ k: "op", op, args, dtype });
export const cvt = (x: Expr, dtype: DType): Expr =>
  x.dtype === dtype ? x : { k: "op", op: "convert", args: [x], dtype, attrs: { dtype } };

/** Index arithmetic on int32 with the obvious constant folds, so printed indices stay readable. */
export function iadd(a: Expr, b: Expr): Expr {
  if (a.k === "const" && a.value === 0) return b;
  if (b.k === "const" && b.value === 0) return a;
  if (a.k === "const" && b.k === "const") return lit(a.value + b.value, "int32");
  return sop("add", [a, b], "int32");
}
export function imul(a: Expr, n: number): Expr {
  if (n === 0) return lit(0, "int32");
  if (n === 1) return a;
  if (a.k === "const") return lit(a.value * n, "int32");
  return sop("mul", [a, lit(n, "int32")], "int32");
}
export function idiv(a: Expr, n: number): Expr {
  if (n === 1) return a;
  if (a.k === "const") return lit(Math.floor(a.value / n), "int32");
  return sop("div", [a, lit(n, "int32")], "int32");
}
export function imod(a: Expr, n: number): Expr {
  if (n === 1) return lit(0, "int32");
  if (a.k === "const") return lit(a.value % n, "int32");
  return sop("mod", [a, lit(n, "int32")], "int32");
}

/** The loop variables an expression depends on (reductions count as the grid's). */
export function freeVars(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case "idx":
      out.add(e.v);
      break;
    case "const":
    case "reduced":
      break;
    case "load":
      freeVars(e.index, out);
      break;
    case "op":
      e.args.forEach((a) => freeVars(a, out));
      break;
    case "random":
      freeVars(e.key0, out);
      freeVars(e.key1, out);
      freeVars(e.counter, out);
      break;
    default:
      e satisfies never;
  }
  return out;
}

/** Structural equality of expressions (memoized: expressions are DAGs). */
export function exprEqual(a: Expr, b: Expr, seen: Map<Expr, Expr[]> = new Map()): boolean {
  if (a === b) return true;
  if (a.dtype !== b.dtype || a.k !== b.k) return false;
  if (seen.get(a)?.includes(b)) return true;
  const eq = (x: Expr, y: Expr) => exprEqual(x, y, seen);
  let same: boolean;
  switch (a.k) {
    case "idx":
      same = b.k === "idx" && a.v === b.v;
      break;
    case "const":
      same = b.k === "const" && Object.is(a.value, b.value);
      break;
    case "reduced":
      same = b.k === "reduced" && a.name === b.name;
      break;
    case "load":
      same = b.k === "load" && a.buf === b.buf && eq(a.index, b.index);
      break;
    case "op":
      same =
        b.k === "op" &&
        a.op === b.op &&
        a.attrs?.dtype === b.attrs?.dtype &&
        a.args.length === b.args.length &&
        a.args.every((x, i) => eq(x, b.args[i]!));
      break;
    case "random":
      same = b.k === "random" && a.word === b.word && eq(a.key0, b.key0) && eq(a.key1, b.key1) && eq(a.counter, b.counter);
      break;
    default:
      return a satisfies never;
  }
  if (same) seen.set(a, [...(seen.get(a) ?? []), b]);
  return same;
}

/**
 * Rebuilds an expression bottom-up; `f` may replace any node (given with its children already
 * rebuilt). Shared nodes stay shared.
 */
export function mapExpr(e: Expr, f: (e: Expr) => Expr, memo: Map<Expr, Expr> = new Map()): Expr {
  const hit = memo.get(e);
  if (hit) return hit;
  const rec = (x: Expr) => mapExpr(x, f, memo);
  let rebuilt: Expr;
  switch (e.k) {
    case "idx":
    case "const":
    case "reduced":
      rebuilt = e;
      break;
    case "load": {
      const index = rec(e.index);
      rebuilt = index === e.index ? e : { ...e, index };
      break;
    }
    case "op": {
      const args = e.args.map(rec);
      rebuilt = args.every((a, i) => a === e.args[i]) ? e : { ...e, args };
      break;
    }
    case "random": {
      const [key0, key1, counter] = [rec(e.key0), rec(e.key1), rec(e.counter)];
      rebuilt = key0 === e.key0 && key1 === e.key1 && counter === e.counter ? e : { ...e, key0, key1, counter };
      break;
    }
    default:
      return e satisfies never;
  }
  const out = f(rebuilt);
  memo.set(e, out);
  return out;
}

/** The operands of an expression node. */
export function exprChildren(e: Expr): readonly Expr[] {
  switch (e.k) {
    case "idx":
    case "const":
    case "reduced":
      return [];
    case "load":
      return [e.index];
    case "op":
      return e.args;
    case "random":
      return [e.key0, e.key1, e.counter];
    default:
      return e satisfies never;
  }
}
