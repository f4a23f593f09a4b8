// Ops that make an array from attributes alone (iota, constant) or from a key (random_bits).
import { type DType, isBool, isDType, isFloat, roundTo, SHORT_NAME } from "../dtype.js";
import { DTypeError, ShapeError } from "../errors.js";
import { isValidShape, type Shape, size, unravel } from "../shape.js";
import { threefry2x32 } from "../threefry.js";
import { typeStr } from "../types.js";
import type { Family } from "./family.js";
import { NONDIFF } from "./rules.js";

export type SourceName = "iota" | "constant" | "random_bits";

function checkShape(op: SourceName, shape: Shape): void {
  if (!Array.isArray(shape) || !isValidShape(shape)) {
    throw new ShapeError(`shape [${String(shape)}] must list non-negative integers`, { op });
  }
}

function checkDType(op: SourceName, dtype: DType): void {
  if (!isDType(dtype)) throw new DTypeError(`unknown dtype ${String(dtype)}`, { op });
}

/** Whether `v` survives being stored as `dtype` unchanged (NaN counts for float dtypes). */
const representable = (dtype: DType, v: number): boolean =>
  roundTo(dtype, v) === v || (isFloat(dtype) && Number.isNaN(v));

export const sourceOps: Family<SourceName> = {
  iota: {
    name: "iota",
    arity: 0,
    attrs: { dtype: "dtype", shape: "ints", axis: "int" },
    fusion: "source",
    infer(_operands, { dtype, shape, axis }) {
      checkDType("iota", dtype);
      checkShape("iota", shape);
      const type = { dtype, shape: [...shape] };
      if (isBool(dtype)) throw new DTypeError(`result ${typeStr(type)} must be numeric`, { op: "iota" });
      if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
        throw new ShapeError(`axis ${axis} is not an axis of ${typeStr(type)}`, { op: "iota" });
      }
      return type;
    },
    interp(_operands, { axis }, out) {
      const res = new Float64Array(size(out.shape));
      for (let i = 0; i < res.length; i++) res[i] = unravel(i, out.shape)[axis]!;
      return res;
    },
    ...NONDIFF,
  },

  constant: {
    name: "constant",
    arity: 0,
    attrs: { dtype: "dtype", shape: "ints", data: "data" },
    fusion: "source",
    infer(_operands, { dtype, shape, data }) {
      checkDType("constant", dtype);
      checkShape("constant", shape);
      const type = { dtype, shape: [...shape] };
      if (data.length !== size(shape)) {
        throw new ShapeError(`data has ${data.length} value(s), ${typeStr(type)} holds ${size(shape)}`, {
          op: "constant",
        });
      }
      // Rounding here would hide a frontend bug, and the printed IR must show the stored values.
      for (let i = 0; i < data.length; i++) {
        if (!representable(dtype, data[i]!)) {
          throw new DTypeError(
            `data[${i}] = ${data[i]} is not representable in ${typeStr(type)} (${SHORT_NAME[dtype]} ` +
              `stores ${roundTo(dtype, data[i]!)})`,
            { op: "constant" },
          );
        }
      }
      return type;
    },
    interp(_operands, { data }) {
      // The driver rounds the result in place: hand it a copy, never the attribute itself.
      return Float64Array.from(data);
    },
    // A constant depends on no input: there is nothing to pass a cotangent to.
    ...NONDIFF,
  },

  random_bits: {
    name: "random_bits",
    arity: 1,
    attrs: { shape: "ints" },
    fusion: "random",
    infer([key], { shape }) {
      if (key!.dtype !== "uint32") {
        throw new DTypeError(`key ${typeStr(key!)} must be u32[2]`, { op: "random_bits" });
      }
      if (key!.shape.length !== 1 || key!.shape[0] !== 2) {
        throw new ShapeError(`key ${typeStr(key!)} must be u32[2]`, { op: "random_bits" });
      }
      checkShape("random_bits", shape);
      return { dtype: "uint32", shape: [...shape] };
    },
    interp([key], _attrs, out) {
      const [k0, k1] = [key!.data[0]!, key!.data[1]!];
      const res = new Float64Array(size(out.shape));
      for (let i = 0; i < res.length; i++) {
        res[i] = threefry2x32(k0, k1, 0, Math.floor(i / 2))[i % 2]!;
      }
      return res;
    },
    ...NONDIFF,
  },
};
