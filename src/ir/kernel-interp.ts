// The kernel-IR interpreter: runs a program's kernels in order on exact numbers, so that
// fusion is checked against the graph interpreter before any codegen exists. It evaluates each
// expression over a whole statement's index space at once (grid × the statement's loops) with
// the registry's own elementwise and reduction rules, so both interpreters share one semantics.
import { roundTo } from "./dtype.js";
import { SmeltError } from "./errors.js";
import { evalOp } from "./interp.js";
import type { Expr, Kernel, Loop, Program, ReduceOp } from "./kernel.js";
import type { InterpContext } from "./opdef.js";
import { size } from "./shape.js";
import { threefry2x32 } from "./threefry.js";
import { type Tensor, typeEq, typeStr } from "./types.js";

type Buffers = Map<string, Float64Array>;

/** A reduction's values, one per point of the grid and its scope loops (row-major). */
interface Reduced {
  readonly loops: readonly Loop[];
  readonly values: Float64Array;
}

/** Runs `program` on `args` (one per param); returns its results. */
export function interpretProgram(
  program: Program,
  args: readonly Tensor[],
  ctx: InterpContext = { mode: "dtype" },
): Tensor[] {
  if (args.length !== program.params.length) {
    throw new SmeltError(`program @${program.name} takes ${program.params.length} argument(s), got ${args.length}`);
  }
  const bufs: Buffers = new Map();
  const types = new Map(program.buffers.map((b) => [b.name, b.type]));
  for (const b of program.buffers) {
    // Poison: a read of a value no kernel wrote shows up as NaN in a float result.
    if (b.kind === "const") bufs.set(b.name, Float64Array.from(b.data ?? []));
    else bufs.set(b.name, new Float64Array(size(b.type.shape)).fill(NaN));
  }
  program.params.forEach((name, i) => {
    const a = args[i]!;
    const want = types.get(name)!;
    if (!typeEq(a.type, want)) {
      throw new SmeltError(`argument ${i} of @${program.name} is ${typeStr(a.type)}, expected ${typeStr(want)}`);
    }
    bufs.set(name, Float64Array.from(a.data));
  });
  for (const k of program.kernels) runKernel(k, bufs, ctx);
  return program.results.map((name) => ({ type: types.get(name)!, data: Float64Array.from(bufs.get(name)!) }));
}

/** The index space of one statement: the grid followed by the statement's own loops. */
interface Space {
  readonly loops: readonly Loop[];
  readonly size: number;
}

function space(grid: readonly Loop[], own: readonly Loop[]): Space {
  const loops = [...grid, ...own];
  return { loops, size: loops.reduce((a, l) => a * l.extent, 1) };
}

export function runKernel(k: Kernel, bufs: Buffers, ctx: InterpContext): void {
  const gridSize = k.grid.reduce((a, l) => a * l.extent, 1);
  const reduced = new Map<string, Reduced>();
  for (const r of k.reductions) {
    const sp = space(k.grid, [...r.scope, ...r.loops]);
    const body = r.op === "dot" ? exactProducts(r.body, sp, bufs, reduced, ctx, k) : evaluate(r.body, sp, bufs, reduced, ctx, k);
    const groups = gridSize * r.scope.reduce((a, l) => a * l.extent, 1);
    const inner = r.loops.reduce((a, l) => a * l.extent, 1);
    reduced.set(r.name, { loops: [...k.grid, ...r.scope], values: reduce(r.op, body, groups, inner, r.body.dtype, ctx) });
  }
  for (const s of k.stores) {
    const sp = space(k.grid, s.loops);
    const memo = new Map<Expr, Float64Array>();
    const value = evaluate(s.value, sp, bufs, reduced, ctx, k, memo);
    const index = evaluate(s.index, sp, bufs, reduced, ctx, k, memo);
    const guard = s.guard ? evaluate(s.guard, sp, bufs, reduced, ctx, k, memo) : undefined;
    const out = bufs.get(s.buf);
    const type = k.buffers.find((b) => b.name === s.buf)?.type;
    if (!out || !type) throw new SmeltError(`kernel ${k.name} stores to unknown buffer ${s.buf}`);
    for (let p = 0; p < sp.size; p++) {
      if (guard && guard[p] === 0) continue;
      const i = index[p]!;
      if (!(i >= 0 && i < out.length)) {
        throw new SmeltError(`kernel ${k.name} stores out of bounds: ${s.buf}[${i}] of ${out.length}`);
      }
      const v = s.mode === "add" ? out[i]! + value[p]! : value[p]!;
      out[i] = roundTo(type.dtype, v, ctx.mode);
    }
  }
}

/** The body of a `dot` reduction: products of its `mul` operands, not rounded (integers wrap). */
function exactProducts(
  body: Expr,
  sp: Space,
  bufs: Buffers,
  reduced: ReadonlyMap<string, Reduced>,
  ctx: InterpContext,
  k: Kernel,
): Float64Array {
  if (body.k !== "op" || body.op !== "mul") throw new SmeltError(`kernel ${k.name}: a dot reduction's body must be a mul`);
  const memo = new Map<Expr, Float64Array>();
  const a = evaluate(body.args[0]!, sp, bufs, reduced, ctx, k, memo);
  const b = evaluate(body.args[1]!, sp, bufs, reduced, ctx, k, memo);
  const out = new Float64Array(sp.size);
  const integer = body.dtype === "int32" || body.dtype === "uint32";
  for (let p = 0; p < sp.size; p++) out[p] = integer ? roundTo(body.dtype, Math.imul(a[p]!, b[p]!)) : a[p]! * b[p]!;
  return out;
}

function reduce(
  op: ReduceOp,
  body: Float64Array,
  groups: number,
  n: number,
  dtype: Expr["dtype"],
  ctx: InterpContext,
): Float64Array {
  const t: Tensor = { type: { dtype, shape: [groups, n] }, data: body };
  switch (op) {
    case "sum":
    case "dot":
      return evalOp("reduce_sum", { axes: [1] }, [t], { dtype, shape: [groups] }, ctx).data;
    case "prod":
      return evalOp("reduce_prod", { axes: [1] }, [t], { dtype, shape: [groups] }, ctx).data;
    case "max":
      return evalOp("reduce_max", { axes: [1] }, [t], { dtype, shape: [groups] }, ctx).data;
    case "min":
      return evalOp("reduce_min", { axes: [1] }, [t], { dtype, shape: [groups] }, ctx).data;
    case "argmax":
      return evalOp("argmax", { axis: 1 }, [t], { dtype: "int32", shape: [groups] }, ctx).data;
    case "argmin":
      return evalOp("argmin", { axis: 1 }, [t], { dtype: "int32", shape: [groups] }, ctx).data;
    default:
      return op satisfies never;
  }
}

function evaluate(
  e: Expr,
  sp: Space,
  bufs: Buffers,
  reduced: ReadonlyMap<string, Reduced>,
  ctx: InterpContext,
  k: Kernel,
  memo: Map<Expr, Float64Array> = new Map(),
): Float64Array {
  const hit = memo.get(e);
  if (hit) return hit;
  const rec = (x: Expr) => evaluate(x, sp, bufs, reduced, ctx, k, memo);
  let out: Float64Array;
  switch (e.k) {
    case "idx": {
      const d = sp.loops.findIndex((l) => l.v === e.v);
      if (d < 0) throw new SmeltError(`kernel ${k.name}: loop index ${e.v} is not in scope`);
      let stride = 1;
      for (let j = sp.loops.length - 1; j > d; j--) stride *= sp.loops[j]!.extent;
      const extent = sp.loops[d]!.extent;
      out = new Float64Array(sp.size);
      for (let p = 0; p < sp.size; p++) out[p] = Math.floor(p / stride) % extent;
      break;
    }
    case "const":
      out = new Float64Array(sp.size).fill(roundTo(e.dtype, e.value, ctx.mode));
      break;
    case "load": {
      const index = rec(e.index);
      const buf = bufs.get(e.buf);
      if (!buf) throw new SmeltError(`kernel ${k.name} loads from unknown buffer ${e.buf}`);
      out = new Float64Array(sp.size);
      for (let p = 0; p < sp.size; p++) {
        const i = index[p]!;
        if (!(i >= 0 && i < buf.length)) {
          throw new SmeltError(`kernel ${k.name} loads out of bounds: ${e.buf}[${i}] of ${buf.length}`);
        }
        out[p] = buf[i]!;
      }
      break;
    }
    case "reduced": {
      const r = reduced.get(e.name);
      if (!r) throw new SmeltError(`kernel ${k.name}: reduction ${e.name} is used before it is computed`);
      out = new Float64Array(sp.size);
      // Position in the reduction's own loops, from the loop indices of this space.
      const at = r.loops.map((l) => {
        const d = sp.loops.findIndex((m) => m.v === l.v);
        if (d < 0) throw new SmeltError(`kernel ${k.name}: reduction ${e.name} is used outside its scope (${l.v})`);
        let stride = 1;
        for (let j = sp.loops.length - 1; j > d; j--) stride *= sp.loops[j]!.extent;
        return { stride, extent: l.extent };
      });
      for (let p = 0; p < sp.size; p++) {
        let q = 0;
        for (const a of at) q = q * a.extent + (Math.floor(p / a.stride) % a.extent);
        out[p] = r.values[q]!;
      }
      break;
    }
    case "op": {
      const args = e.args.map(rec);
      if (e.op === "mod") {
        const [a, b] = args as [Float64Array, Float64Array];
        out = new Float64Array(sp.size);
        for (let p = 0; p < sp.size; p++) out[p] = roundTo(e.dtype, b[p] === 0 ? 0 : a[p]! % b[p]!, ctx.mode);
        break;
      }
      const operands: Tensor[] = e.args.map((a, i) => ({ type: { dtype: a.dtype, shape: [sp.size] }, data: args[i]! }));
      const attrs = e.op === "convert" ? e.attrs! : {};
      out = evalOp(e.op, attrs as never, operands, { dtype: e.dtype, shape: [sp.size] }, ctx).data;
      break;
    }
    case "random": {
      const [k0, k1, c] = [rec(e.key0), rec(e.key1), rec(e.counter)];
      out = new Float64Array(sp.size);
      for (let p = 0; p < sp.size; p++) out[p] = threefry2x32(k0[p]!, k1[p]!, 0, c[p]!)[e.word];
      break;
    }
    default:
      return e satisfies never;
  }
  memo.set(e, out);
  return out;
}
