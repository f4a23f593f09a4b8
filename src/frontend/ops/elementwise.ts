// Elementwise ops: NumPy promotion of the operands (numbers are weakly typed), NumPy
// broadcasting, then one primitive.
import type { OpName } from "../../ir/attrs.js";
import { type DType, isFloat } from "../../ir/dtype.js";
import { type Array, isArray, prim } from "../array.js";
import { publicOp } from "../context.js";
import { broadcastArray, broadcastOperands, broadcastShape, checkDType, commonDType, NONE, type Operand, operand } from "./util.js";

type ArithPrim = "add" | "sub" | "mul" | "div" | "pow" | "max" | "min";
type ComparePrim = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
type UnaryPrim = Extract<
  OpName,
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
  | "stop_gradient"
>;

// Arithmetic on bool is done in int32 (`add(true, true)` is 2), as JavaScript does.
const arithDType = (d: DType): DType => (d === "bool" ? "int32" : d);
// Integer operands of float functions (and of `div`) compute in float32, as NumPy does in float64.
const floatDType = (d: DType): DType => (isFloat(d) ? d : "float32");

function binary(name: string, op: ArithPrim | ComparePrim | "and" | "or", a: Operand, b: Operand, rule: (d: DType) => DType): Array {
  return publicOp(name, () => {
    const [x, y] = broadcastOperands([a, b], rule(commonDType([a, b])));
    return prim(op, [x!, y!], NONE);
  });
}

function unary(name: string, op: UnaryPrim, a: Operand, rule: (d: DType) => DType = (d) => d): Array {
  return publicOp(name, () => prim(op, [operand(a, rule(commonDType([a])))], NONE));
}

const same = (d: DType): DType => d;
const toBool = (): DType => "bool";

export const add = (a: Operand, b: Operand): Array => binary("add", "add", a, b, arithDType);
export const sub = (a: Operand, b: Operand): Array => binary("sub", "sub", a, b, arithDType);
export const mul = (a: Operand, b: Operand): Array => binary("mul", "mul", a, b, arithDType);
/** True division: integer and bool operands divide in float32 (`div(7, 2)` is 3.5), as in NumPy. */
export const div = (a: Operand, b: Operand): Array => binary("div", "div", a, b, floatDType);
export const pow = (a: Operand, b: Operand): Array => binary("pow", "pow", a, b, arithDType);
/** Elementwise larger value; NaN if either is NaN. */
export const maximum = (a: Operand, b: Operand): Array => binary("maximum", "max", a, b, same);
/** Elementwise smaller value; NaN if either is NaN. */
export const minimum = (a: Operand, b: Operand): Array => binary("minimum", "min", a, b, same);

export const equal = (a: Operand, b: Operand): Array => binary("equal", "eq", a, b, same);
export const notEqual = (a: Operand, b: Operand): Array => binary("notEqual", "ne", a, b, same);
export const less = (a: Operand, b: Operand): Array => binary("less", "lt", a, b, same);
export const lessEqual = (a: Operand, b: Operand): Array => binary("lessEqual", "le", a, b, same);
export const greater = (a: Operand, b: Operand): Array => binary("greater", "gt", a, b, same);
export const greaterEqual = (a: Operand, b: Operand): Array => binary("greaterEqual", "ge", a, b, same);

/** Logical and of the operands' truth values (non-zero is true); the result is bool. */
export const logicalAnd = (a: Operand, b: Operand): Array => binary("logicalAnd", "and", a, b, toBool);
export const logicalOr = (a: Operand, b: Operand): Array => binary("logicalOr", "or", a, b, toBool);
export const logicalNot = (a: Operand): Array => unary("logicalNot", "not", a, toBool);

export const neg = (a: Operand): Array => unary("neg", "neg", a, arithDType);
export const abs = (a: Operand): Array => unary("abs", "abs", a);
export const sign = (a: Operand): Array => unary("sign", "sign", a);
export const floor = (a: Operand): Array => unary("floor", "floor", a);
export const ceil = (a: Operand): Array => unary("ceil", "ceil", a);
/** Half to even, like NumPy's `round`. */
export const round = (a: Operand): Array => unary("round", "round", a);
export const exp = (a: Operand): Array => unary("exp", "exp", a, floatDType);
export const log = (a: Operand): Array => unary("log", "log", a, floatDType);
export const log1p = (a: Operand): Array => unary("log1p", "log1p", a, floatDType);
export const expm1 = (a: Operand): Array => unary("expm1", "expm1", a, floatDType);
export const sin = (a: Operand): Array => unary("sin", "sin", a, floatDType);
export const cos = (a: Operand): Array => unary("cos", "cos", a, floatDType);
export const tanh = (a: Operand): Array => unary("tanh", "tanh", a, floatDType);
export const sigmoid = (a: Operand): Array => unary("sigmoid", "logistic", a, floatDType);
export const sqrt = (a: Operand): Array => unary("sqrt", "sqrt", a, floatDType);
export const rsqrt = (a: Operand): Array => unary("rsqrt", "rsqrt", a, floatDType);
export const erf = (a: Operand): Array => unary("erf", "erf", a, floatDType);
/** The identity that blocks differentiation. */
export const stopGradient = (a: Operand): Array => unary("stopGradient", "stop_gradient", a);

export function square(a: Operand): Array {
  return publicOp("square", () => mul(a, a));
}

export function reciprocal(a: Operand): Array {
  return publicOp("reciprocal", () => div(1, a));
}

/** `cond ? a : b` elementwise; `cond` is taken by truth value (non-zero is true). All three broadcast. */
export function where(cond: Operand, a: Operand, b: Operand): Array {
  return publicOp("where", () => {
    const d = commonDType([a, b]);
    const shape = broadcastShape([cond, a, b]);
    const at = (x: Operand, dtype: DType): Array => broadcastArray(operand(x, dtype), shape);
    return prim("select", [at(cond, "bool"), at(a, d), at(b, d)], NONE);
  });
}

/** `a` limited to `[min, max]` (either bound may be omitted); the bounds broadcast. */
export function clip(a: Operand, min?: Operand, max?: Operand): Array {
  return publicOp("clip", () => {
    let r = isArray(a) ? a : operand(a, commonDType([a]));
    if (min !== undefined) r = maximum(r, min);
    if (max !== undefined) r = minimum(r, max);
    return r;
  });
}

/**
 * `a` converted to `dtype` (floats to integers truncate toward zero and saturate, NaN gives 0).
 * When `a` already has that dtype it is returned as is.
 */
export function astype(a: Array, dtype: DType): Array {
  return publicOp("astype", () => {
    const d = checkDType(dtype);
    return a.dtype === d ? a : prim("convert", [a], { dtype: d });
  });
}
