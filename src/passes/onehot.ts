// The scatter_add of a take_along_axis gradient as a one-hot. The frontend gathers from the
// flattened source at `index * stride + iota_0 * stride_0 + ...`, so the gradient scatters into a
// flat zero buffer at the same positions: one zero-fill kernel and one kernel of atomic adds.
// When those positions enumerate the target row by row (each update has a cell of its own), the
// scatter is `select(index == iota, a + update, a)` over the target seen as [..., classes, ...]:
// elementwise, so it fuses into whatever reads it. Used by fusion (strategy full) only: unfused,
// the one-hot is several kernels where the scatter was two.
import { type Func, type Op, size, type TensorType, type Value } from "../ir/index.js";
import { splatValue } from "./fold.js";
import { type RewriteContext, type Rule, rewrite } from "./rewrite.js";
import { dce } from "./simplify.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Inclusive bounds of an int32 value. */
type Range = readonly [lo: number, hi: number];
const FULL: Range = [INT32_MIN, INT32_MAX];

const inInt32 = (r: Range): Range => (r[0] >= INT32_MIN && r[1] <= INT32_MAX ? r : FULL);

// A value's bounds hold wherever it appears: a rewrite replaces a value only by an equal one.
const ranges = new WeakMap<Value, Range>();

/** Bounds of an int32 value from the ops that made it; FULL when they say nothing. */
export function rangeOf(v: Value, ctx: RewriteContext): Range {
  if (v.type.dtype !== "int32") return FULL;
  let r = ranges.get(v);
  if (r === undefined) {
    const def = ctx.producer(v);
    r = def ? rangeOfOp(def, ctx) : FULL;
    ranges.set(v, r);
  }
  return r;
}

function rangeOfOp(op: Op, ctx: RewriteContext): Range {
  const arg = (i: number) => rangeOf(op.operands[i]!, ctx);
  switch (op.op) {
    case "constant": {
      const data = Array.from(op.attrs.data);
      return data.length === 0 ? FULL : [Math.min(...data), Math.max(...data)];
    }
    case "iota":
      return [0, Math.max(0, op.attrs.shape[op.attrs.axis]! - 1)];
    case "broadcast":
    case "reshape":
    case "transpose":
    case "slice":
    case "flip":
      return arg(0);
    case "convert":
      return op.operands[0]!.type.dtype === "bool" ? [0, 1] : FULL;
    case "add": {
      const [a, b] = [arg(0), arg(1)];
      return inInt32([a[0] + b[0], a[1] + b[1]]);
    }
    case "sub": {
      const [a, b] = [arg(0), arg(1)];
      return inInt32([a[0] - b[1], a[1] - b[0]]);
    }
    case "mul": {
      const [a, b] = [arg(0), arg(1)];
      const corners = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]];
      return inInt32([Math.min(...corners), Math.max(...corners)]);
    }
    case "min": {
      const [a, b] = [arg(0), arg(1)];
      return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
    }
    case "max": {
      const [a, b] = [arg(0), arg(1)];
      return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
    }
    case "select": {
      const [a, b] = [arg(1), arg(2)];
      return [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
    }
    default:
      return FULL;
  }
}

/** int32 min(x, c) → x when x ≤ c everywhere, max(x, c) → x when x ≥ c everywhere: exact. */
export const clampRule: Rule = (op, ctx) => {
  if ((op.op !== "min" && op.op !== "max") || op.result.type.dtype !== "int32") return undefined;
  const [a, b] = op.operands as [Value, Value];
  for (const [x, c] of [
    [a, b],
    [b, a],
  ] as const) {
    const k = splatValue(c, ctx);
    if (k === undefined) continue;
    const [lo, hi] = rangeOf(x, ctx);
    if (op.op === "min" ? hi <= k : lo >= k) return x;
  }
  return undefined;
};

interface Term {
  readonly x: Value;
  readonly coef: number;
}

/** `v` as a sum of `x * coef` over an add chain (coef from a splat factor, else 1). */
function termsOf(v: Value, ctx: RewriteContext): Term[] {
  const def = ctx.producer(v);
  if (def?.op === "add") return [...termsOf(def.operands[0]!, ctx), ...termsOf(def.operands[1]!, ctx)];
  if (def?.op === "mul") {
    const [a, b] = def.operands as [Value, Value];
    const cb = splatValue(b, ctx);
    if (cb !== undefined) return [{ x: a, coef: cb }];
    const ca = splatValue(a, ctx);
    if (ca !== undefined) return [{ x: b, coef: ca }];
  }
  return [{ x: v, coef: 1 }];
}

/** One axis of the target seen as a row-major array: an axis of the indices, or the classes. */
interface Axis {
  readonly stride: number;
  readonly extent: number;
  /** The axis of the indices it follows; undefined for the class axis. */
  readonly dim?: number;
}

/**
 * The target's shape as the indices enumerate it: `index = sum_d stride_d * iota_d + stride_c *
 * class` with `class` in [0, classes), where the strides are those of a row-major array over the
 * extents (so every index position has a cell of its own and every cell is in range). Axes come
 * outermost first; undefined when the index has another form.
 */
function enumeration(index: Value, n: number, ctx: RewriteContext): { axes: Axis[]; classes: Value } | undefined {
  const shape = index.type.shape;
  const axes: Axis[] = [];
  let classes: Value | undefined;
  for (const { x, coef } of termsOf(index, ctx)) {
    const def = ctx.producer(x);
    if (def?.op === "iota" && x.type.dtype === "int32") {
      const dim = def.attrs.axis;
      if (shape[dim] === 1) continue;
      if (axes.some((a) => a.dim === dim)) return undefined;
      axes.push({ stride: coef, extent: shape[dim]!, dim });
      continue;
    }
    const [lo, hi] = rangeOf(x, ctx);
    if (classes !== undefined || lo < 0 || hi < 0) return undefined;
    classes = x;
    axes.push({ stride: coef, extent: hi + 1 });
  }
  if (classes === undefined || axes.length !== shape.filter((d) => d > 1).length + 1) return undefined;
  axes.sort((a, b) => a.stride - b.stride);
  let stride = 1;
  for (const a of axes) {
    if (a.stride !== stride) return undefined;
    stride *= a.extent;
  }
  return stride === n ? { axes: axes.reverse(), classes } : undefined;
}

/** `x` (shaped like the indices) laid out over `target`: its axes in target order, the class axis broadcast. */
function toTarget(x: Value, axes: readonly Axis[], ctx: RewriteContext, loc: Op["loc"]): Value {
  const shape = x.type.shape;
  const dims = shape.map((_, d) => d).filter((d) => shape[d]! > 1);
  const target = axes.map((a) => a.extent);
  let v = x;
  const squeezed = dims.map((d) => shape[d]!);
  if (squeezed.length !== shape.length) v = ctx.emit("reshape", [v], { shape: squeezed }, loc);
  const ordered = axes.flatMap((a) => (a.dim === undefined ? [] : [dims.indexOf(a.dim)]));
  if (ordered.some((p, i) => p !== i)) v = ctx.emit("transpose", [v], { perm: ordered }, loc);
  const withClass = axes.map((a) => (a.dim === undefined ? 1 : a.extent));
  v = ctx.emit("reshape", [v], { shape: withClass }, loc);
  return ctx.emit("broadcast", [v], { shape: target }, loc);
}

/**
 * scatter_add over a 1-D target whose indices enumerate it (see `enumeration`): each update
 * lands in a cell of its own, so the sum is one add per hit cell, rounded once, as the scatter's.
 */
export const oneHotRule: Rule = (op, ctx) => {
  if (op.op !== "scatter_add" || op.attrs.axis !== 0) return undefined;
  const [a, index, updates] = op.operands as [Value, Value, Value];
  const n = size(a.type.shape);
  if (a.type.shape.length !== 1 || index.type.dtype !== "int32" || size(index.type.shape) === 0) return undefined;
  const found = enumeration(index, n, ctx);
  if (!found) return undefined;
  const { axes, classes } = found;
  const loc = op.loc;
  const target: TensorType = { dtype: a.type.dtype, shape: axes.map((x) => x.extent) };
  const at = axes.findIndex((x) => x.dim === undefined);
  const cls = ctx.emit("iota", [], { dtype: "int32", shape: [...target.shape], axis: at }, loc);
  const hit = ctx.emit("eq", [toTarget(classes, axes, ctx, loc), cls], {}, loc);
  const base = ctx.emit("reshape", [a], { shape: [...target.shape] }, loc);
  const added = ctx.emit("add", [base, toTarget(updates, axes, ctx, loc)], {}, loc);
  const out = ctx.emit("select", [hit, added, base], {}, loc);
  return ctx.emit("reshape", [out], { shape: [n] }, loc);
};

const oneHotRules: Rule = (op, ctx) => clampRule(op, ctx) ?? oneHotRule(op, ctx);

/** The func with enumerating scatters as one-hots (and int32 clamps its bounds make no-ops removed). */
export const oneHotScatters = (func: Func): Func => dce(rewrite(func, oneHotRules));
