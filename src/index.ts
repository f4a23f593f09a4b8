// The public surface of smelt: `import * as sm from "smeltjs"`.
export { Array, type NestedNumbers } from "./frontend/array.js";
export { compile, type CompiledFunction, type CompileOptions, type LoweredFunction, type Stage } from "./frontend/compile.js";
export {
  arange,
  array,
  type ArrayData,
  type ArrayOptions,
  eye,
  full,
  type NestedData,
  ones,
  onesLike,
  zeros,
  zerosLike,
} from "./frontend/creation.js";
export { evaluate as eval } from "./frontend/eval.js";
export {
  abs,
  add,
  astype,
  ceil,
  clip,
  cos,
  div,
  equal,
  erf,
  exp,
  expm1,
  floor,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  pow,
  reciprocal,
  round,
  rsqrt,
  sigmoid,
  sign,
  sin,
  sqrt,
  square,
  stopGradient,
  sub,
  tanh,
  where,
} from "./frontend/ops/elementwise.js";
export { type Indices, scatterAdd, segmentSum, take, takeAlongAxis } from "./frontend/ops/indexing.js";
export { matmul } from "./frontend/ops/linalg.js";
export * as random from "./frontend/ops/random.js";
export {
  type ArgReduceOptions,
  argmax,
  argmin,
  logSoftmax,
  logsumexp,
  max,
  mean,
  min,
  prod,
  softmax,
  std,
  sum,
  variance as var,
} from "./frontend/ops/reduce.js";
export {
  type Bounds,
  broadcastTo,
  concatenate,
  expandDims,
  flip,
  type PadWidths,
  pad,
  reshape,
  slice,
  split,
  squeeze,
  stack,
  transpose,
} from "./frontend/ops/shape.js";
export type { Operand, ReduceArg, ReduceOptions, VarArg, VarOptions } from "./frontend/ops/util.js";
export { tidy } from "./frontend/tidy.js";
export { type ArgNums, grad, type GradOptions, type GradTree, jvp, type TangentTree, valueAndGrad, vjp } from "./frontend/transforms.js";
export * as tree from "./frontend/tree.js";
export type { DType } from "./ir/dtype.js";
export { CompileError, DeviceError, DTypeError, ShapeError, SmeltError, TraceError } from "./ir/errors.js";
export { defaultDevice, devices, setDefaultDevice } from "./frontend/devices.js";
export { memory } from "./frontend/memory.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
