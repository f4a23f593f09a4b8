// Contraction: NumPy `matmul` (1-D operands, broadcast batch dims) over the rank >= 2 primitive.
import { ShapeError } from "../../ir/errors.js";
import { broadcastShapes } from "../../ir/shape.js";
import { typeStr } from "../../ir/types.js";
import { type Array, prim } from "../array.js";
import { publicOp } from "../context.js";
import { broadcastArray, commonDType, NONE, toDType } from "./util.js";

/**
 * Matrix product with NumPy's rules: a 1-D `a` is a row vector and a 1-D `b` a column vector
 * (that dim is removed from the result); dims before the last two are batch dims and broadcast.
 */
export function matmul(a: Array, b: Array): Array {
  return publicOp("matmul", () => {
    const both = `${typeStr(a.type)} and ${typeStr(b.type)}`;
    if (a.ndim === 0 || b.ndim === 0) throw new ShapeError(`operands ${both}: 0-d arrays have no matrix product`);
    const d = commonDType([a, b]);
    let x = toDType(a, d);
    let y = toDType(b, d);
    if (a.ndim === 1) x = prim("reshape", [x], { shape: [1, a.shape[0]!] });
    if (b.ndim === 1) y = prim("reshape", [y], { shape: [b.shape[0]!, 1] });
    const [m, k] = x.shape.slice(-2) as [number, number];
    const [k2, n] = y.shape.slice(-2) as [number, number];
    if (k !== k2) throw new ShapeError(`operands ${both}: contracted dims ${k} and ${k2} differ`);
    const batch = broadcastShapes(x.shape.slice(0, -2), y.shape.slice(0, -2));
    if (!batch) throw new ShapeError(`operands ${both}: batch dims do not broadcast`);
    const r = prim("matmul", [broadcastArray(x, [...batch, m, k]), broadcastArray(y, [...batch, k, n])], NONE);
    const out = [...batch, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])];
    return out.length === r.ndim ? r : prim("reshape", [r], { shape: out });
  });
}
