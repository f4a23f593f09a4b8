// Elementwise primitives: one result element from the elements at the same index of operands of
// one shape. Integer results wrap to 32 bits here, not only in the driver, so each rule reads as
// the full definition of its op.
import type { Attrs, AttrSchema } from "../attrs.js";
import { type DType, isBool, isDType, isFloat, isInteger, roundTo } from "../dtype.js";
import { DTypeError, ShapeError } from "../errors.js";
import type { OpDef } from "../opdef.js";
import { shapeEq } from "../shape.js";
import { type Tensor, type TensorType, typeStr } from "../types.js";
import { elementwiseRules } from "./elementwise-rules.js";
import { erf } from "./erf.js";
import type { Family } from "./family.js";

export type ElementwiseName = UnaryName | BinaryName | CompareName | "select" | "convert";

type UnaryName =
  | "neg"
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sin"
  | "cos"
  | "tanh"
  | "logistic"
  | "sqrt"
  | "rsqrt"
  | "abs"
  | "sign"
  | "floor"
  | "ceil"
  | "round"
  | "erf"
  | "not"
  | "stop_gradient";
type BinaryName = "add" | "sub" | "mul" | "div" | "pow" | "max" | "min" | "and" | "or";
type CompareName = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

// ---------------------------------------------------------------- dtype classes

/** The dtypes an op takes: numeric excludes bool; logical is bool or integer. */
type Accepts = "any" | "numeric" | "float" | "logical";

function accepts(a: Accepts, d: DType): boolean {
  switch (a) {
    case "any":
      return true;
    case "numeric":
      return !isBool(d);
    case "float":
      return isFloat(d);
    case "logical":
      return !isFloat(d);
    default:
      return a satisfies never;
  }
}

const ACCEPTS_TEXT: { readonly [A in Accepts]: string } = {
  any: "any",
  numeric: "numeric (not bool)",
  float: "float",
  logical: "bool or integer",
};

const listTypes = (ts: readonly TensorType[]): string => {
  const s = ts.map(typeStr);
  return s.length <= 1 ? s.join("") : `${s.slice(0, -1).join(", ")} and ${s[s.length - 1]}`;
};

function checkAccepts(op: ElementwiseName, a: Accepts, operands: readonly TensorType[]): void {
  if (!accepts(a, operands[0]!.dtype)) {
    throw new DTypeError(`takes ${ACCEPTS_TEXT[a]} operands, got ${listTypes(operands)}`, { op });
  }
}

function checkSameDType(op: ElementwiseName, operands: readonly TensorType[]): void {
  if (operands.some((t) => t.dtype !== operands[0]!.dtype)) {
    throw new DTypeError(`operands ${listTypes(operands)} differ in dtype`, { op });
  }
}

function checkSameShape(op: ElementwiseName, operands: readonly TensorType[]): void {
  if (operands.some((t) => !shapeEq(t.shape, operands[0]!.shape))) {
    throw new ShapeError(`operands ${listTypes(operands)} differ in shape`, { op });
  }
}

// ---------------------------------------------------------------- loops

function map1(x: Float64Array, f: (v: number) => number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  return out;
}

function map2(a: Float64Array, b: Float64Array, f: (x: number, y: number) => number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f(a[i]!, b[i]!);
  return out;
}

// ---------------------------------------------------------------- scalar rules

/** An integer result wrapped to its 32-bit type; floats pass through (the driver rounds them). */
const wrap = (d: DType, v: number): number => (isInteger(d) ? roundTo(d, v) : v);

/** The low 32 bits of an integer product (a double would round products beyond 2^53). */
const mulInt = (d: DType, a: number, b: number): number =>
  d === "uint32" ? Math.imul(a, b) >>> 0 : Math.imul(a, b);

function mul(d: DType, a: number, b: number): number {
  return isInteger(d) ? mulInt(d, a, b) : a * b;
}

function div(d: DType, a: number, b: number): number {
  if (!isInteger(d)) return a / b;
  if (b === 0) return 0;
  // |a|, |b| < 2^32, so a / b is never rounded across an integer: trunc gives the exact quotient.
  // int32 min / -1 = 2^31 wraps back to int32 min.
  return wrap(d, Math.trunc(a / b));
}

function intPow(d: DType, base: number, exponent: number): number {
  if (exponent < 0) {
    if (base === 1) return 1;
    if (base === -1) return exponent % 2 === 0 ? 1 : -1;
    return 0;
  }
  // Square-and-multiply: a uint32 exponent may be near 2^32, too many steps for one product at a
  // time. Products modulo 2^32 associate, so this equals repeated multiplication with wrap.
  let result = 1;
  let square = base;
  for (let e = exponent; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = mulInt(d, result, square);
    square = mulInt(d, square, square);
  }
  return result;
}

/** C's pow, which the kernels and NumPy follow: Math.pow gives NaN for 1^NaN, 1^±inf, (-1)^±inf. */
function floatPow(a: number, b: number): number {
  if (a === 1 || (a === -1 && Math.abs(b) === Infinity)) return 1;
  return Math.pow(a, b);
}

const pow = (d: DType, a: number, b: number): number => (isInteger(d) ? intPow(d, a, b) : floatPow(a, b));

const max = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a >= b ? a : b);
const min = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a <= b ? a : b);

/** Bitwise results read back as uint32 for uint32 (JavaScript's bit operators give int32). */
const bits = (d: DType, v: number): number => (d === "uint32" ? v >>> 0 : v);

/** Logical not on bool (stored as 0 or 1); bitwise not on integers. */
const not = (d: DType, x: number): number => (isBool(d) ? (x === 0 ? 1 : 0) : bits(d, ~x));

/** Round half to even (rint); keeps the sign of a zero result, as rint does. */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const frac = x - f; // exact for every double
  const r = frac > 0.5 ? f + 1 : frac < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));
const rsqrt = (x: number): number => 1 / Math.sqrt(x);

/**
 * Float to integer truncates toward zero and saturates to the target's range (NaN gives 0), as a
 * GPU conversion does. Integer to integer keeps the low 32 bits; anything to bool is x != 0.
 */
function convertValue(from: DType, to: DType, x: number): number {
  if (isFloat(to)) return x; // the driver rounds it to the target (or not, in float64 mode)
  if (isBool(to)) return x !== 0 ? 1 : 0; // NaN is true, as in C and NumPy
  if (!isFloat(from)) return roundTo(to, x); // from an integer or bool: the low 32 bits
  if (Number.isNaN(x)) return 0;
  const lo = to === "int32" ? -(2 ** 31) : 0;
  const hi = to === "int32" ? 2 ** 31 - 1 : 2 ** 32 - 1;
  return Math.min(hi, Math.max(lo, Math.trunc(x)));
}

// ---------------------------------------------------------------- op builders

type NoAttrName = Exclude<ElementwiseName, "convert">;

// Every elementwise op but convert has no attributes. TypeScript cannot evaluate AttrSchema<K>
// for a generic K, so the empty schema is cast once here.
const noAttrs = <K extends NoAttrName>(): AttrSchema<K> => ({}) as AttrSchema<K>;

function unary<K extends UnaryName>(name: K, a: Accepts, f: (x: number, d: DType) => number): OpDef<K> {
  return {
    name,
    arity: 1,
    attrs: noAttrs<K>(),
    fusion: "elementwise",
    infer(operands) {
      checkAccepts(name, a, operands);
      const x = operands[0]!;
      return { dtype: x.dtype, shape: [...x.shape] };
    },
    interp([x]) {
      const d = x!.type.dtype;
      return map1(x!.data, (v) => f(v, d));
    },
    ...elementwiseRules[name],
  };
}

function inferBinary(op: ElementwiseName, a: Accepts, operands: readonly TensorType[]): TensorType {
  checkSameDType(op, operands);
  checkAccepts(op, a, operands);
  checkSameShape(op, operands);
  const x = operands[0]!;
  return { dtype: x.dtype, shape: [...x.shape] };
}

function binary<K extends BinaryName>(
  name: K,
  a: Accepts,
  f: (x: number, y: number, d: DType) => number,
): OpDef<K> {
  return {
    name,
    arity: 2,
    attrs: noAttrs<K>(),
    fusion: "elementwise",
    infer: (operands) => inferBinary(name, a, operands),
    interp([x, y]) {
      const d = x!.type.dtype;
      return map2(x!.data, y!.data, (u, v) => f(u, v, d));
    },
    ...elementwiseRules[name],
  };
}

/** IEEE comparisons on any dtype: every comparison with NaN is false, except `ne`. */
function compare<K extends CompareName>(name: K, f: (x: number, y: number) => boolean): OpDef<K> {
  return {
    name,
    arity: 2,
    attrs: noAttrs<K>(),
    fusion: "elementwise",
    infer(operands) {
      const t = inferBinary(name, "any", operands);
      return { dtype: "bool", shape: t.shape };
    },
    interp: ([x, y]) => map2(x!.data, y!.data, (u, v) => (f(u, v) ? 1 : 0)),
    ...elementwiseRules[name],
  };
}

const select: OpDef<"select"> = {
  name: "select",
  arity: 3,
  attrs: noAttrs<"select">(),
  fusion: "elementwise",
  infer(operands) {
    const [cond, a, b] = operands as [TensorType, TensorType, TensorType];
    if (cond.dtype !== "bool") {
      throw new DTypeError(`condition ${typeStr(cond)} must be bool (operands ${listTypes(operands)})`, {
        op: "select",
      });
    }
    checkSameDType("select", [a, b]);
    checkSameShape("select", operands);
    return { dtype: a.dtype, shape: [...a.shape] };
  },
  interp([cond, a, b]: readonly Tensor[]) {
    const out = new Float64Array(cond!.data.length);
    for (let i = 0; i < out.length; i++) out[i] = cond!.data[i] !== 0 ? a!.data[i]! : b!.data[i]!;
    return out;
  },
  ...elementwiseRules.select,
};

const convert: OpDef<"convert"> = {
  name: "convert",
  arity: 1,
  attrs: { dtype: "dtype" },
  fusion: "elementwise",
  infer([x], { dtype }: Attrs["convert"]) {
    if (!isDType(dtype)) {
      throw new DTypeError(`target dtype ${String(dtype)} of ${typeStr(x!)} is not a dtype`, { op: "convert" });
    }
    return { dtype, shape: [...x!.shape] };
  },
  interp([x], { dtype }) {
    const from = x!.type.dtype;
    return map1(x!.data, (v) => convertValue(from, dtype, v));
  },
  ...elementwiseRules.convert,
};

export const elementwiseOps: Family<ElementwiseName> = {
  neg: unary("neg", "numeric", (x, d) => wrap(d, -x)),
  exp: unary("exp", "float", Math.exp),
  log: unary("log", "float", Math.log),
  log1p: unary("log1p", "float", Math.log1p),
  expm1: unary("expm1", "float", Math.expm1),
  sin: unary("sin", "float", Math.sin),
  cos: unary("cos", "float", Math.cos),
  tanh: unary("tanh", "float", Math.tanh),
  logistic: unary("logistic", "float", logistic),
  sqrt: unary("sqrt", "float", Math.sqrt),
  rsqrt: unary("rsqrt", "float", rsqrt),
  erf: unary("erf", "float", erf),
  // int32 min has no positive counterpart: |int32 min| wraps back to itself.
  abs: unary("abs", "numeric", (x, d) => wrap(d, Math.abs(x))),
  // Math.sign already gives NaN for NaN and keeps the sign of zero.
  sign: unary("sign", "numeric", Math.sign),
  floor: unary("floor", "numeric", Math.floor),
  ceil: unary("ceil", "numeric", Math.ceil),
  round: unary("round", "numeric", roundHalfEven),
  not: unary("not", "logical", (x, d) => not(d, x)),
  stop_gradient: unary("stop_gradient", "any", (x) => x),

  add: binary("add", "numeric", (x, y, d) => wrap(d, x + y)),
  sub: binary("sub", "numeric", (x, y, d) => wrap(d, x - y)),
  mul: binary("mul", "numeric", (x, y, d) => mul(d, x, y)),
  div: binary("div", "numeric", (x, y, d) => div(d, x, y)),
  pow: binary("pow", "numeric", (x, y, d) => pow(d, x, y)),
  max: binary("max", "any", max),
  min: binary("min", "any", min),
  and: binary("and", "logical", (x, y, d) => bits(d, x & y)),
  or: binary("or", "logical", (x, y, d) => bits(d, x | y)),

  eq: compare("eq", (x, y) => x === y),
  ne: compare("ne", (x, y) => x !== y),
  lt: compare("lt", (x, y) => x < y),
  le: compare("le", (x, y) => x <= y),
  gt: compare("gt", (x, y) => x > y),
  ge: compare("ge", (x, y) => x >= y),

  select,
  convert,
};
