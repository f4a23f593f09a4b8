// The type of an IR value: a dtype and a static shape.
import { type DType, SHORT_NAME } from "./dtype.js";
import { type Shape, shapeEq } from "./shape.js";

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export const tensorType = (dtype: DType, shape: Shape): TensorType => ({ dtype, shape: [...shape] });

export const typeEq = (a: TensorType, b: TensorType): boolean =>
  a.dtype === b.dtype && shapeEq(a.shape, b.shape);

/** `f32[2,3]`, `i32[]`. */
export const typeStr = (t: TensorType): string => `${SHORT_NAME[t.dtype]}[${t.shape.join(",")}]`;

/**
 * A value in the reference interpreter: exact numbers in a Float64Array (each already
 * rounded to the dtype, unless the interpreter runs in float64 mode), row-major.
 */
export interface Tensor {
  readonly type: TensorType;
  readonly data: Float64Array;
}
