// Batched matrix product: [...batch, m, k] x [...batch, k, n] -> [...batch, m, n].
import type { Attrs } from "../attrs.js";
import { isFloat, isInteger } from "../dtype.js";
import { DTypeError, ShapeError } from "../errors.js";
import type { OpDef } from "../opdef.js";
import { shapeEq, size } from "../shape.js";
import { type TensorType, typeStr } from "../types.js";
import { contractionRules } from "./contraction-rules.js";
import type { Family } from "./family.js";
import { sumStep } from "./reduce.js";

export type ContractionName = "matmul";

function inferMatmul(a: TensorType, b: TensorType): TensorType {
  const op = "matmul";
  const pair = `${typeStr(a)} and ${typeStr(b)}`;
  if (a.dtype !== b.dtype) throw new DTypeError(`operands ${pair} differ in dtype`, { op });
  if (!isFloat(a.dtype) && !isInteger(a.dtype)) throw new DTypeError(`operands ${pair} must be numeric`, { op });
  if (a.shape.length < 2 || b.shape.length < 2) throw new ShapeError(`operands ${pair} must have rank at least 2`, { op });
  if (a.shape.length !== b.shape.length) throw new ShapeError(`operands ${pair} differ in rank`, { op });
  const batch = a.shape.slice(0, -2);
  if (!shapeEq(batch, b.shape.slice(0, -2))) throw new ShapeError(`batch dims differ: ${pair}`, { op });
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new ShapeError(`contracting dims differ: ${pair}`, { op });
  return { dtype: a.dtype, shape: [...batch, m, n] };
}

const matmul: OpDef<"matmul"> = {
  name: "matmul",
  arity: 2,
  attrs: {},
  fusion: "contraction",
  infer: ([a, b]) => inferMatmul(a!, b!),
  interp([a, b], _attrs: Attrs["matmul"], out, ctx) {
    const [m, k] = a!.type.shape.slice(-2) as [number, number];
    const n = out.shape[out.shape.length - 1]!;
    const batches = size(out.shape.slice(0, -2));
    const add = sumStep(out.dtype, ctx.mode);
    // Integer products keep their low 32 bits (a double would round them); float products are
    // exact in a double, so each step is one fused multiply-add into the accumulator.
    const mul = isFloat(out.dtype) ? (x: number, y: number) => x * y : Math.imul;
    const r = new Float64Array(size(out.shape));
    for (let bt = 0; bt < batches; bt++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) {
            acc = add(acc, mul(a!.data[(bt * m + i) * k + p]!, b!.data[(bt * k + p) * n + j]!));
          }
          r[(bt * m + i) * n + j] = acc;
        }
      }
    }
    return r;
  },
  ...contractionRules.matmul,
};

export const contractionOps: Family<ContractionName> = { matmul };
