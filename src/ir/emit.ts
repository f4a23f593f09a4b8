// Builders for the graph IR that autodiff rules are written with: each helper appends one typed
// op (or none, when the op would be the identity), so a rule reads like the math it implements.
import type { Attrs, OpName } from "./attrs.js";
import { type DType, roundTo } from "./dtype.js";
import { inferType, makeOp, newValue, type Op, type Value } from "./graph.js";
import type { Loc } from "./loc.js";
import { type Shape, shapeEq } from "./shape.js";
import type { TensorType } from "./types.js";

/** The primitives without attributes, which the elementwise helpers take by name. */
export type PlainOp = { [K in OpName]: Attrs[K] extends Record<string, never> ? K : never }[OpName];

const typeOf = (like: Value | TensorType): TensorType => ("type" in like ? like.type : like);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export class Emitter {
  /** Every op emitted so far, in order (a valid suffix of a func body). */
  readonly ops: Op[] = [];
  /** Given to every op emitted: autodiff sets it to the primal op's location while its rule runs. */
  loc: Loc | undefined;

  /** Append an op, typed by its registry rule; returns its result. */
  op<K extends OpName>(name: K, operands: readonly Value[], attrs: Attrs[K]): Value {
    const type = inferType(
      name,
      operands.map((v) => v.type),
      attrs,
      this.loc,
    );
    const result = newValue(type);
    this.ops.push(makeOp(name, operands, attrs, result, this.loc) as Op);
    return result;
  }

  plain(name: PlainOp, ...operands: Value[]): Value {
    return this.op(name, operands, {});
  }

  // ------------------------------------------------------------ elementwise

  neg = (x: Value): Value => this.plain("neg", x);
  add = (a: Value, b: Value): Value => this.plain("add", a, b);
  sub = (a: Value, b: Value): Value => this.plain("sub", a, b);
  mul = (a: Value, b: Value): Value => this.plain("mul", a, b);
  div = (a: Value, b: Value): Value => this.plain("div", a, b);
  max = (a: Value, b: Value): Value => this.plain("max", a, b);
  min = (a: Value, b: Value): Value => this.plain("min", a, b);
  eq = (a: Value, b: Value): Value => this.plain("eq", a, b);
  ne = (a: Value, b: Value): Value => this.plain("ne", a, b);
  lt = (a: Value, b: Value): Value => this.plain("lt", a, b);
  gt = (a: Value, b: Value): Value => this.plain("gt", a, b);
  ge = (a: Value, b: Value): Value => this.plain("ge", a, b);
  and = (a: Value, b: Value): Value => this.plain("and", a, b);
  select = (cond: Value, a: Value, b: Value): Value => this.plain("select", cond, a, b);

  /** `x * c` for a number `c` (no op when c is 1). */
  scale(x: Value, c: number): Value {
    return c === 1 ? x : this.mul(x, this.constant(c, x));
  }

  convert(x: Value, dtype: DType): Value {
    return x.type.dtype === dtype ? x : this.op("convert", [x], { dtype });
  }

  /** The sum of the values present, or null when none is. */
  sum(values: readonly (Value | null)[]): Value | null {
    let acc: Value | null = null;
    for (const v of values) if (v !== null) acc = acc === null ? v : this.add(acc, v);
    return acc;
  }

  // ------------------------------------------------------------ constants

  /** `value` (rounded to the dtype) at every element of `like`'s type: a scalar broadcast. */
  constant(value: number, like: Value | TensorType): Value {
    const { dtype, shape } = typeOf(like);
    const data = Float64Array.of(roundTo(dtype, value));
    return this.broadcastTo(this.op("constant", [], { dtype, shape: [], data }), shape);
  }

  zerosLike = (like: Value | TensorType): Value => this.constant(0, like);
  onesLike = (like: Value | TensorType): Value => this.constant(1, like);

  // ------------------------------------------------------------ movement

  reshape(x: Value, shape: Shape): Value {
    return shapeEq(x.type.shape, shape) ? x : this.op("reshape", [x], { shape: [...shape] });
  }

  transpose(x: Value, perm: readonly number[]): Value {
    return perm.every((p, i) => p === i) ? x : this.op("transpose", [x], { perm: [...perm] });
  }

  broadcastTo(x: Value, shape: Shape): Value {
    return shapeEq(x.type.shape, shape) ? x : this.op("broadcast", [x], { shape: [...shape] });
  }

  /** Swap the last two axes (the transpose of a batch of matrices). */
  transposeLast2(x: Value): Value {
    const r = x.type.shape.length;
    return this.transpose(x, [...range(r - 2), r - 1, r - 2]);
  }

  slice(x: Value, start: readonly number[], stop: readonly number[], step?: readonly number[]): Value {
    const s = step ?? start.map(() => 1);
    const whole = x.type.shape.every((d, i) => start[i] === 0 && stop[i] === d && s[i] === 1);
    return whole ? x : this.op("slice", [x], { start: [...start], stop: [...stop], step: [...s] });
  }

  pad(x: Value, low: readonly number[], high: readonly number[], value = 0): Value {
    const none = low.every((l, i) => l === 0 && high[i] === 0);
    return none ? x : this.op("pad", [x], { low: [...low], high: [...high], value });
  }

  // ------------------------------------------------------------ reductions

  reduceSum(x: Value, axes: readonly number[]): Value {
    return axes.length === 0 ? x : this.op("reduce_sum", [x], { axes: [...axes] });
  }

  /**
   * Undo a reduction's shape: `x` has `shape` with `axes` removed; the result has `shape`, each
   * value repeated along the reduced axes (a reshape to the keepdims shape, then a broadcast).
   */
  expandReduced(x: Value, shape: Shape, axes: readonly number[]): Value {
    const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return this.broadcastTo(this.reshape(x, keep), shape);
  }

  /**
   * Un-broadcast: sum `x` over the axes a broadcast to its shape added or stretched, then reshape
   * to `shape` (the VJP of broadcasting `shape` to `x`'s shape).
   */
  sumToShape(x: Value, shape: Shape): Value {
    const out = x.type.shape;
    const lead = out.length - shape.length;
    const axes = range(out.length).filter((i) => i < lead || (shape[i - lead] === 1 && out[i] !== 1));
    return this.reshape(this.reduceSum(x, axes), shape);
  }
}
