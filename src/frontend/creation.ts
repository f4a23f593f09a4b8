// Creating arrays: from JavaScript data (realized at once) and from a shape (pending sources, so
// a traced function that calls `zeros` gets a broadcast constant, not a buffer of zeros).
import { upload, wrapDeviceMemory } from "../../runtime/device.js";
import { currentDevice } from "../../runtime/devices.js";
import { type DType, type HostData, hostToNumbers, isFloat, numbersToHost } from "../ir/dtype.js";
import { DTypeError, ShapeError } from "../ir/errors.js";
import { shapeStr, size } from "../ir/shape.js";
import { tensorType } from "../ir/types.js";
import { type Array, isArray, prim, realizedArray } from "./array.js";
import { publicOp } from "./context.js";
import { add, astype, equal, mul } from "./ops/elementwise.js";
import { reshape } from "./ops/shape.js";
import { broadcastArray, checkDType, checkShape, commonDType, scalar, weakDType } from "./ops/util.js";

/** Numbers or booleans nested in lists (rectangular). */
export type NestedData = number | boolean | readonly NestedData[];
export type TypedData = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | Uint16Array | Int16Array | Int8Array;
export type ArrayData = NestedData | TypedData | Array;

export interface ArrayOptions {
  readonly dtype?: DType;
  readonly shape?: readonly number[];
}

interface Parsed {
  readonly shape: number[];
  readonly values: number[];
  /** The dtype the data implies on its own. */
  readonly dtype: DType;
}

/** Shape and row-major values of nested lists; a ShapeError for ragged lists. */
export function nestedData(data: NestedData): Parsed {
  const shape: number[] = [];
  for (let d: NestedData = data; globalThis.Array.isArray(d); d = (d as readonly NestedData[])[0]!) {
    shape.push((d as readonly NestedData[]).length);
    if ((d as readonly NestedData[]).length === 0) break;
  }
  const values: number[] = [];
  let kind: DType = "bool";
  const walk = (x: NestedData, dim: number, at: string): void => {
    if (dim === shape.length) {
      if (typeof x === "boolean") values.push(x ? 1 : 0);
      else if (typeof x === "number") {
        values.push(x);
        kind = kind === "float32" || !Number.isInteger(x) ? "float32" : "int32";
      } else throw new DTypeError(`element ${at || "[]"} is ${describeValue(x)}, not a number or boolean`);
      return;
    }
    if (!globalThis.Array.isArray(x) || x.length !== shape[dim]) {
      throw new ShapeError(`ragged data: element ${at || "[]"} should be a list of ${shape[dim]}, got ${describeValue(x)}`);
    }
    (x as readonly NestedData[]).forEach((y, i) => walk(y, dim + 1, `${at}[${i}]`));
  };
  walk(data, 0, "");
  return { shape, values, dtype: values.length === 0 ? "float32" : kind };
}

function describeValue(x: unknown): string {
  if (globalThis.Array.isArray(x)) return `a list of ${x.length}`;
  return x === null ? "null" : typeof x === "object" ? "an object" : `${typeof x} ${String(x)}`;
}

function typedDType(data: TypedData): DType {
  if (data instanceof Float32Array || data instanceof Float64Array) return "float32";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof Uint8Array) return "bool";
  if (data instanceof Uint16Array) return "float16";
  return "int32";
}

function typedValues(data: TypedData, source: DType, dtype: DType): ArrayLike<number> {
  // A Uint16Array holds half-precision bits (float16 unless bfloat16 is asked for).
  if (data instanceof Uint16Array && (dtype === "float16" || dtype === "bfloat16")) return hostToNumbers(dtype, data);
  if (data instanceof Uint16Array) return hostToNumbers(source, data);
  return data;
}

function fromValues(values: ArrayLike<number>, shape: readonly number[], dtype: DType): Array {
  return realizedArray(upload(currentDevice(), tensorType(dtype, shape), numbersToHost(dtype, values)));
}

function withShape(parsed: { shape: readonly number[]; count: number }, opts: ArrayOptions): readonly number[] {
  if (!opts.shape) return parsed.shape;
  const shape = checkShape(opts.shape);
  if (size(shape) !== parsed.count) {
    throw new ShapeError(`${parsed.count} values do not fill shape ${shapeStr(shape)}`);
  }
  return shape;
}

/**
 * An array from a number, nested lists, a TypedArray or another array. Data with a non-integer
 * number is float32, integers only int32, booleans only bool; a TypedArray gives its own type
 * (Float32Array float32, Int32Array int32, Uint32Array uint32, Uint8Array bool, Uint16Array
 * float16 bits). `opts.dtype` converts, `opts.shape` reshapes (same number of elements).
 */
export function array(data: ArrayData, opts: ArrayOptions = {}): Array {
  return publicOp("array", () => {
    const dtype = opts.dtype === undefined ? undefined : checkDType(opts.dtype);
    if (isArray(data)) {
      const r = opts.shape ? reshape(data, withShape({ shape: data.shape, count: data.size }, opts)) : data;
      return copyOf(dtype ? astype(r, dtype) : r);
    }
    if (ArrayBuffer.isView(data)) {
      const source = typedDType(data);
      const d = dtype ?? source;
      // A view of device memory smelt allocated, in its own dtype: the array holds that memory.
      if (d === source || (data instanceof Uint16Array && d === "bfloat16")) {
        const shape = withShape({ shape: [data.length], count: data.length }, opts);
        const held = wrapDeviceMemory(currentDevice().name, tensorType(d, shape), data as HostData);
        if (held) return realizedArray(held);
      }
      return fromValues(typedValues(data, source, d), withShape({ shape: [data.length], count: data.length }, opts), d);
    }
    const parsed = nestedData(data);
    return fromValues(parsed.values, withShape({ shape: parsed.shape, count: parsed.values.length }, opts), dtype ?? parsed.dtype);
  });
}

/** A new array with `a`'s values: the same buffer when realized (buffers are immutable). */
function copyOf(a: Array): Array {
  const n = a.node;
  if (n.kind === "realized") return realizedArray(n.buffer.share());
  return prim("reshape", [a], { shape: [...a.shape] });
}

// ---------------------------------------------------------------- from a shape

/** An array of `shape` filled with `value` (dtype from the value unless given). */
export function full(shape: number | readonly number[], value: number | boolean, dtype?: DType): Array {
  return publicOp("full", () => {
    const s = checkShape(shape);
    const d = dtype === undefined ? weakDType(value) : checkDType(dtype);
    return broadcastArray(scalar(value, d), s);
  });
}

export function zeros(shape: number | readonly number[], dtype: DType = "float32"): Array {
  return publicOp("zeros", () => full(shape, 0, dtype));
}

export function ones(shape: number | readonly number[], dtype: DType = "float32"): Array {
  return publicOp("ones", () => full(shape, 1, dtype));
}

export function zerosLike(a: Array): Array {
  return publicOp("zerosLike", () => full(a.shape, 0, a.dtype));
}

export function onesLike(a: Array): Array {
  return publicOp("onesLike", () => full(a.shape, 1, a.dtype));
}

/**
 * `start, start + step, ...` below `stop` (above it for a negative step), as in NumPy:
 * `arange(n)` is `0..n-1`. int32 when every argument is an integer, else float32.
 */
export function arange(start: number, stop?: number, step = 1, dtype?: DType): Array {
  return publicOp("arange", () => {
    const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
    if (![lo, hi, step].every(Number.isFinite)) throw new ShapeError(`bounds must be finite, got ${lo}, ${hi}, ${step}`);
    if (step === 0) throw new ShapeError("step cannot be zero");
    const d = dtype === undefined ? commonDType([lo, hi, step]) : checkDType(dtype);
    const n = Math.max(0, Math.ceil((hi - lo) / step));
    // Integer ranges count in int32 (exact beyond 2^24); others in float32, then convert.
    const integral = !isFloat(d) && [lo, step].every(Number.isInteger);
    const i = prim("iota", [], { dtype: integral ? "int32" : "float32", shape: [n], axis: 0 });
    return astype(add(mul(i, step), lo), d);
  });
}

/** The `n` x `n` identity matrix. */
export function eye(n: number, dtype: DType = "float32"): Array {
  return publicOp("eye", () => {
    const [s] = checkShape([n]) as [number];
    const d = checkDType(dtype);
    const row = prim("iota", [], { dtype: "int32", shape: [s, s], axis: 0 });
    const col = prim("iota", [], { dtype: "int32", shape: [s, s], axis: 1 });
    return astype(equal(row, col), d);
  });
}
