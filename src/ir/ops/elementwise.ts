// PLACEHOLDER: to be replaced by the real family.
import type { Family } from "./family.js";

export type ElementwiseName = "neg" | "exp" | "log" | "log1p" | "expm1" | "sin" | "cos" | "tanh" | "logistic" | "sqrt" | "rsqrt" | "abs" | "sign" | "floor" | "ceil" | "round" | "erf" | "not" | "add" | "sub" | "mul" | "div" | "pow" | "max" | "min" | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "and" | "or" | "select" | "convert" | "stop_gradient";
export const elementwiseOps = {} as Family<ElementwiseName>;
