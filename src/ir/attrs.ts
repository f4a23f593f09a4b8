// The primitive set and each primitive's attributes. `OpName` is derived from this table, so
// the registry, the printer, the parser and every later rule table are checked against it.
import type { DType } from "./dtype.js";

type None = Record<string, never>;

export interface Attrs {
  // elementwise, one operand
  neg: None;
  exp: None;
  log: None;
  log1p: None;
  expm1: None;
  sin: None;
  cos: None;
  tanh: None;
  logistic: None;
  sqrt: None;
  rsqrt: None;
  abs: None;
  sign: None;
  floor: None;
  ceil: None;
  round: None;
  erf: None;
  not: None;
  // elementwise, two operands of one type and shape
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  max: None;
  min: None;
  eq: None;
  ne: None;
  lt: None;
  le: None;
  gt: None;
  ge: None;
  and: None;
  or: None;
  // elementwise, three operands
  select: None;
  convert: { dtype: DType };
  stop_gradient: None;
  // reductions (the reduced axes are removed from the shape)
  reduce_sum: { axes: number[] };
  reduce_max: { axes: number[] };
  reduce_min: { axes: number[] };
  reduce_prod: { axes: number[] };
  argmax: { axis: number };
  argmin: { axis: number };
  // contraction: [...batch, m, k] x [...batch, k, n]
  matmul: None;
  // movement
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  broadcast: { shape: number[] };
  slice: { start: number[]; stop: number[]; step: number[] };
  pad: { low: number[]; high: number[]; value: number };
  concatenate: { axis: number };
  flip: { axes: number[] };
  // indexing
  gather: { axis: number };
  scatter_add: { axis: number };
  // sources
  iota: { dtype: DType; shape: number[]; axis: number };
  constant: { dtype: DType; shape: number[]; data: Float64Array };
  random_bits: { shape: number[] };
}

export type OpName = keyof Attrs;

/** How an attribute is written in IR text and checked when parsed. */
export type AttrKind = "int" | "ints" | "number" | "dtype" | "data";

export type AttrSchema<K extends OpName> = { readonly [F in keyof Attrs[K]]-?: AttrKind };
