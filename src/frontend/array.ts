// `sm.Array`: a node of one lazy graph. An array is realized (it holds a device buffer),
// pending (a primitive applied to other arrays, computed by `sm.eval` or on first read), a
// placeholder (an argument of a function `compile` is tracing: a type and no data), or disposed.
import type { DeviceBuffer } from "../../runtime/device.js";
import type { Attrs, OpName } from "../ir/attrs.js";
import type { DType, HostData } from "../ir/dtype.js";
import { ShapeError, SmeltError } from "../ir/errors.js";
import { inferType } from "../ir/graph.js";
import type { Loc } from "../ir/loc.js";
import { size as shapeSize } from "../ir/shape.js";
import { type TensorType, tensorType, typeStr } from "../ir/types.js";
import { currentLoc, publicOp } from "./context.js";
import { concreteTensor, hostData, realizeAsync } from "./eval.js";
import * as ew from "./ops/elementwise.js";
import * as ix from "./ops/indexing.js";
import * as la from "./ops/linalg.js";
import * as rd from "./ops/reduce.js";
import * as sh from "./ops/shape.js";
import type { Operand, ReduceArg, VarArg } from "./ops/util.js";
import { track } from "./scope.js";
import type { Trace } from "./trace.js";

/** A primitive application whose result is not computed yet. */
export type Pending = {
  [K in OpName]: {
    readonly op: K;
    readonly attrs: Attrs[K];
    readonly inputs: readonly Array[];
    readonly loc: Loc | undefined;
  };
}[OpName];

export type Node =
  | { readonly kind: "realized"; readonly buffer: DeviceBuffer }
  | { readonly kind: "pending"; readonly pending: Pending }
  | { readonly kind: "placeholder"; readonly trace: Trace; readonly index: number; readonly path: string }
  | { readonly kind: "disposed" };

/** Nested lists of numbers, as `tolist()` returns them. */
export type NestedNumbers = number | NestedNumbers[];

export class Array {
  /** The graph node; smelt's own modules read and replace it (never user code). */
  node: Node;
  /** dtype and shape, known as soon as the array is created. */
  readonly type: TensorType;

  constructor(type: TensorType, node: Node) {
    this.type = { dtype: type.dtype, shape: Object.freeze([...type.shape]) };
    this.node = node;
    track(this);
  }

  get shape(): readonly number[] {
    return this.type.shape;
  }
  get dtype(): DType {
    return this.type.dtype;
  }
  get ndim(): number {
    return this.type.shape.length;
  }
  get size(): number {
    return shapeSize(this.type.shape);
  }
  get isDisposed(): boolean {
    return this.node.kind === "disposed";
  }

  toString(): string {
    return `Array(${typeStr(this.type)}, ${this.node.kind})`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ------------------------------------------------------------ reading values

  /** The values (float16/bfloat16 as raw bits in a Uint16Array, bool as 0/1 in a Uint8Array). */
  dataSync(): HostData {
    return publicOp("dataSync", () => hostData(this));
  }

  async data(): Promise<HostData> {
    await publicOp("data", () => realizeAsync([this]));
    return this.dataSync();
  }

  /** The values as nested lists (bool as 0 and 1). */
  tolist(): NestedNumbers {
    return publicOp("tolist", () => nest(concreteTensor(this).data, this.type.shape, 0, 0));
  }

  /** The one value of a one-element array (bool as 0 or 1). */
  item(): number {
    return publicOp("item", () => {
      if (this.size !== 1) {
        throw new ShapeError(`only an array of one element has an item, got ${typeStr(this.type)}`);
      }
      return concreteTensor(this).data[0]!;
    });
  }

  /** Frees the array's storage (or its pending graph); using it afterwards is an error. */
  dispose(): void {
    if (this.node.kind === "realized") {
      this.node.buffer.release();
      lost.unregister(this);
    }
    this.node = { kind: "disposed" };
  }

  // ------------------------------------------------------------ elementwise

  add(b: Operand): Array {
    return ew.add(this, b);
  }
  sub(b: Operand): Array {
    return ew.sub(this, b);
  }
  mul(b: Operand): Array {
    return ew.mul(this, b);
  }
  div(b: Operand): Array {
    return ew.div(this, b);
  }
  pow(b: Operand): Array {
    return ew.pow(this, b);
  }
  maximum(b: Operand): Array {
    return ew.maximum(this, b);
  }
  minimum(b: Operand): Array {
    return ew.minimum(this, b);
  }
  neg(): Array {
    return ew.neg(this);
  }
  exp(): Array {
    return ew.exp(this);
  }
  log(): Array {
    return ew.log(this);
  }
  log1p(): Array {
    return ew.log1p(this);
  }
  expm1(): Array {
    return ew.expm1(this);
  }
  sin(): Array {
    return ew.sin(this);
  }
  cos(): Array {
    return ew.cos(this);
  }
  tanh(): Array {
    return ew.tanh(this);
  }
  sigmoid(): Array {
    return ew.sigmoid(this);
  }
  sqrt(): Array {
    return ew.sqrt(this);
  }
  rsqrt(): Array {
    return ew.rsqrt(this);
  }
  abs(): Array {
    return ew.abs(this);
  }
  sign(): Array {
    return ew.sign(this);
  }
  floor(): Array {
    return ew.floor(this);
  }
  ceil(): Array {
    return ew.ceil(this);
  }
  round(): Array {
    return ew.round(this);
  }
  square(): Array {
    return ew.square(this);
  }
  reciprocal(): Array {
    return ew.reciprocal(this);
  }
  erf(): Array {
    return ew.erf(this);
  }
  equal(b: Operand): Array {
    return ew.equal(this, b);
  }
  notEqual(b: Operand): Array {
    return ew.notEqual(this, b);
  }
  less(b: Operand): Array {
    return ew.less(this, b);
  }
  lessEqual(b: Operand): Array {
    return ew.lessEqual(this, b);
  }
  greater(b: Operand): Array {
    return ew.greater(this, b);
  }
  greaterEqual(b: Operand): Array {
    return ew.greaterEqual(this, b);
  }
  logicalAnd(b: Operand): Array {
    return ew.logicalAnd(this, b);
  }
  logicalOr(b: Operand): Array {
    return ew.logicalOr(this, b);
  }
  logicalNot(): Array {
    return ew.logicalNot(this);
  }
  clip(min?: Operand, max?: Operand): Array {
    return ew.clip(this, min, max);
  }
  astype(dtype: DType): Array {
    return ew.astype(this, dtype);
  }
  stopGradient(): Array {
    return ew.stopGradient(this);
  }

  // ------------------------------------------------------------ reductions

  sum(arg?: ReduceArg): Array {
    return rd.sum(this, arg);
  }
  mean(arg?: ReduceArg): Array {
    return rd.mean(this, arg);
  }
  max(arg?: ReduceArg): Array {
    return rd.max(this, arg);
  }
  min(arg?: ReduceArg): Array {
    return rd.min(this, arg);
  }
  prod(arg?: ReduceArg): Array {
    return rd.prod(this, arg);
  }
  argmax(arg?: number | rd.ArgReduceOptions): Array {
    return rd.argmax(this, arg);
  }
  argmin(arg?: number | rd.ArgReduceOptions): Array {
    return rd.argmin(this, arg);
  }
  logsumexp(arg?: ReduceArg): Array {
    return rd.logsumexp(this, arg);
  }
  var(arg?: VarArg): Array {
    return rd.variance(this, arg);
  }
  std(arg?: VarArg): Array {
    return rd.std(this, arg);
  }
  softmax(axis: number | readonly number[] = -1): Array {
    return rd.softmax(this, axis);
  }
  logSoftmax(axis: number | readonly number[] = -1): Array {
    return rd.logSoftmax(this, axis);
  }

  // ------------------------------------------------------------ contraction

  matmul(b: Array): Array {
    return la.matmul(this, b);
  }

  // ------------------------------------------------------------ shape

  /** `a.reshape([2, 3])` or `a.reshape(2, 3)`; one dim may be -1. */
  reshape(shape: number | readonly number[], ...more: number[]): Array {
    return sh.reshape(this, typeof shape === "number" ? [shape, ...more] : shape);
  }
  transpose(axes?: readonly number[]): Array {
    return sh.transpose(this, axes);
  }
  get T(): Array {
    return sh.transpose(this);
  }
  broadcastTo(shape: readonly number[]): Array {
    return sh.broadcastTo(this, shape);
  }
  expandDims(axis: number | readonly number[]): Array {
    return sh.expandDims(this, axis);
  }
  squeeze(axis?: number | readonly number[]): Array {
    return sh.squeeze(this, axis);
  }
  split(sectionsOrIndices: number | readonly number[], axis = 0): Array[] {
    return sh.split(this, sectionsOrIndices, axis);
  }
  slice(starts: sh.Bounds, stops?: sh.Bounds, steps?: sh.Bounds): Array {
    return sh.slice(this, starts, stops, steps);
  }
  pad(widths: sh.PadWidths, value = 0): Array {
    return sh.pad(this, widths, value);
  }
  flip(axis?: number | readonly number[]): Array {
    return sh.flip(this, axis);
  }

  // ------------------------------------------------------------ indexing

  take(indices: ix.Indices, axis?: number): Array {
    return ix.take(this, indices, axis);
  }
  takeAlongAxis(indices: Array, axis: number): Array {
    return ix.takeAlongAxis(this, indices, axis);
  }
  scatterAdd(indices: ix.Indices, updates: Operand, axis = 0): Array {
    return ix.scatterAdd(this, indices, updates, axis);
  }
}

function nest(data: Float64Array, shape: readonly number[], dim: number, offset: number): NestedNumbers {
  if (dim === shape.length) return data[offset]!;
  const inner = shapeSize(shape.slice(dim + 1));
  const out: NestedNumbers[] = [];
  for (let i = 0; i < shape[dim]!; i++) out.push(nest(data, shape, dim + 1, offset + i * inner));
  return out;
}

// ---------------------------------------------------------------- node constructors

export function isArray(x: unknown): x is Array {
  return x instanceof Array;
}

/** A pending application of a primitive, typed (and checked) now by its registry rule. */
export function prim<K extends OpName>(op: K, inputs: readonly Array[], attrs: Attrs[K]): Array {
  for (const a of inputs) {
    if (a.node.kind === "disposed") throw new SmeltError(`uses an array (${typeStr(a.type)}) that was disposed`);
  }
  const loc = currentLoc();
  const type = inferType(
    op,
    inputs.map((a) => a.type),
    attrs,
    loc,
  );
  // The mapped union `Pending` correlates op and attrs; TypeScript cannot see that for a generic K.
  const pending = { op, attrs, inputs: [...inputs], loc } as unknown as Pending;
  return new Array(type, { kind: "pending", pending });
}

/**
 * The safety net for arrays dropped without dispose() or tidy(): their memory goes back when
 * the garbage collector finds them (late, and never inside a synchronous loop).
 */
const lost = new FinalizationRegistry<DeviceBuffer>((b) => b.release());

/** Makes `a` hold `buffer` (a hold of its own, released by dispose()). */
export function realize(a: Array, buffer: DeviceBuffer): void {
  a.node = { kind: "realized", buffer };
  lost.register(a, buffer, a);
}

export function realizedArray(buffer: DeviceBuffer): Array {
  const a = new Array(buffer.type, { kind: "disposed" });
  realize(a, buffer);
  return a;
}

export function placeholderArray(dtype: DType, shape: readonly number[], trace: Trace, index: number, path: string): Array {
  return new Array(tensorType(dtype, shape), { kind: "placeholder", trace, index, path });
}
