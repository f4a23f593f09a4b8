// Element types, their promotion rules and exact rounding to each of them.

export const DTYPES = ["float32", "float16", "bfloat16", "int32", "uint32", "bool"] as const;
export type DType = (typeof DTYPES)[number];

/** Short names used in IR text: `f32[2,3]`. */
export const SHORT_NAME: { readonly [D in DType]: string } = {
  float32: "f32",
  float16: "f16",
  bfloat16: "bf16",
  int32: "i32",
  uint32: "u32",
  bool: "bool",
};

const BY_SHORT_NAME = new Map<string, DType>(DTYPES.map((d) => [SHORT_NAME[d], d]));

export function dtypeFromShortName(s: string): DType | undefined {
  return BY_SHORT_NAME.get(s);
}

export function isDType(s: unknown): s is DType {
  return typeof s === "string" && (DTYPES as readonly string[]).includes(s);
}

export const isFloat = (d: DType): boolean => d === "float32" || d === "float16" || d === "bfloat16";
export const isInteger = (d: DType): boolean => d === "int32" || d === "uint32";
export const isBool = (d: DType): boolean => d === "bool";

export function itemsize(d: DType): number {
  switch (d) {
    case "float32":
    case "int32":
    case "uint32":
      return 4;
    case "float16":
    case "bfloat16":
      return 2;
    case "bool":
      return 1;
    default:
      return d satisfies never;
  }
}

/**
 * Promotion of two strongly typed operands. There is no 64-bit type (Metal has none), so
 * int32 with uint32 gives int32, and float16 with bfloat16 gives float32.
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (isFloat(a) && isFloat(b)) return "float32"; // a != b: at least one half-width type
  if (isFloat(a)) return a;
  if (isFloat(b)) return b;
  if (isInteger(a) && isInteger(b)) return "int32";
  if (isInteger(a)) return a;
  return b;
}

/**
 * Promotion of an array with a JavaScript number (a weakly typed scalar, as in NumPy 2 and
 * MLX): the array's type wins unless the number needs a float and the array has none.
 */
export function promoteWithScalar(a: DType, scalar: number): DType {
  if (isFloat(a)) return a;
  if (!Number.isInteger(scalar)) return "float32";
  if (isBool(a)) return typeof scalar === "boolean" ? "bool" : "int32";
  return a;
}

/** The dtype a JavaScript number takes on its own. */
export function scalarDType(x: number | boolean): DType {
  if (typeof x === "boolean") return "bool";
  return "float32";
}

// ---------------------------------------------------------------- rounding

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Round-to-nearest-even of a double into a binary float with `mant` fraction bits. */
function roundToBinary(x: number, mant: number, minExp: number, maxExp: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  if (e < minExp) e = minExp; // subnormal: fixed quantum
  const q = 2 ** (e - mant);
  let r = roundHalfEven(a / q) * q;
  const maxFinite = (2 - 2 ** -mant) * 2 ** maxExp;
  if (r > maxFinite) r = Infinity;
  return x < 0 ? -r : r;
}

export const roundF16 = (x: number): number => roundToBinary(x, 10, -14, 15);
export const roundBF16 = (x: number): number => roundToBinary(x, 7, -126, 127);

/** int32 wrap-around of an integral double (already truncated). */
export function wrapInt32(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x)) return 0;
  return Number(BigInt.asIntN(32, BigInt(Math.trunc(x))));
}

export function wrapUint32(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x)) return 0;
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(x))));
}

/**
 * The value `x` takes when stored as `d`. Floats round to nearest even; integers truncate
 * toward zero and wrap; bool is x != 0 (NaN is true, as in C). `float64` mode keeps floats exact.
 */
export function roundTo(d: DType, x: number, mode: "dtype" | "float64" = "dtype"): number {
  switch (d) {
    case "float32":
      return mode === "float64" ? x : Math.fround(x);
    case "float16":
      return mode === "float64" ? x : roundF16(x);
    case "bfloat16":
      return mode === "float64" ? x : roundBF16(x);
    case "int32":
      return x >= -2147483648 && x <= 2147483647 ? Math.trunc(x) | 0 : wrapInt32(x);
    case "uint32":
      return x >= 0 && x <= 4294967295 ? Math.trunc(x) >>> 0 : wrapUint32(x);
    case "bool":
      return x !== 0 ? 1 : 0;
    default:
      return d satisfies never;
  }
}

// ---------------------------------------------------------------- bit patterns

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function numberToF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const r = roundF16(x);
  const sign = r < 0 || Object.is(r, -0) ? 0x8000 : 0;
  const a = Math.abs(r);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | m;
}

export function bf16BitsToNumber(h: number): number {
  u32buf[0] = (h & 0xffff) << 16;
  return f32buf[0]!;
}

export function numberToBF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  f32buf[0] = roundBF16(x);
  return u32buf[0]! >>> 16;
}

// ---------------------------------------------------------------- host storage

/** The TypedArray that holds a dtype on the host (float16 and bfloat16 as raw bits). */
export type HostData = Float32Array | Uint16Array | Int32Array | Uint32Array | Uint8Array;

export function allocHost(d: DType, n: number): HostData {
  switch (d) {
    case "float32":
      return new Float32Array(n);
    case "float16":
    case "bfloat16":
      return new Uint16Array(n);
    case "int32":
      return new Int32Array(n);
    case "uint32":
      return new Uint32Array(n);
    case "bool":
      return new Uint8Array(n);
    default:
      return d satisfies never;
  }
}

/** Decode host storage into exact numbers. */
export function hostToNumbers(d: DType, data: ArrayLike<number>): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[i] = d === "float16" ? f16BitsToNumber(v) : d === "bfloat16" ? bf16BitsToNumber(v) : v;
  }
  return out;
}

/** Encode numbers into host storage, rounding each to the dtype. */
export function numbersToHost(d: DType, values: ArrayLike<number>): HostData {
  const out = allocHost(d, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] =
      d === "float16" ? numberToF16Bits(v) : d === "bfloat16" ? numberToBF16Bits(v) : roundTo(d, v);
  }
  return out;
}
