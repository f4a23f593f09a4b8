// Movement ops: they rearrange, repeat or drop elements without computing on them.
import type { Attrs } from "../attrs.js";
import { DTypeError, ShapeError } from "../errors.js";
import type { OpDef } from "../opdef.js";
import { isPermutation, ravel, shapeStr, size, strides, unravel } from "../shape.js";
import { type TensorType, typeStr } from "../types.js";
import { checkAxes, checkAxis, checkIntList, checkPerDim, checkShapeAttr } from "./attr-checks.js";
import type { Family } from "./family.js";
import { pullElements } from "./index-space.js";
import { movementRules } from "./movement-rules.js";

export type MovementName = "reshape" | "transpose" | "broadcast" | "slice" | "pad" | "concatenate" | "flip";

const reshape: OpDef<"reshape"> = {
  name: "reshape",
  arity: 1,
  attrs: { shape: "ints" },
  fusion: "movement",
  infer([x], { shape }) {
    checkShapeAttr("reshape", "shape", shape);
    if (size(shape) !== size(x!.shape)) {
      throw new ShapeError(
        `cannot reshape ${typeStr(x!)} (${size(x!.shape)} elements) to ${shapeStr(shape)} (${size(shape)} elements)`,
        { op: "reshape" },
      );
    }
    return { dtype: x!.dtype, shape: [...shape] };
  },
  interp: ([x]) => Float64Array.from(x!.data),
  ...movementRules.reshape,
};

const transpose: OpDef<"transpose"> = {
  name: "transpose",
  arity: 1,
  attrs: { perm: "ints" },
  fusion: "movement",
  infer([x], { perm }) {
    checkIntList("transpose", "perm", perm);
    if (!isPermutation(perm, x!.shape.length)) {
      throw new ShapeError(`perm ${shapeStr(perm)} is not a permutation of the axes of ${typeStr(x!)}`, {
        op: "transpose",
      });
    }
    return { dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) };
  },
  interp([x], { perm }, out) {
    return pullElements(x!, out.shape, (o) => {
      const idx = new Array<number>(o.length);
      perm.forEach((p, i) => (idx[p] = o[i]!));
      return idx;
    });
  },
  ...movementRules.transpose,
};

const broadcast: OpDef<"broadcast"> = {
  name: "broadcast",
  arity: 1,
  attrs: { shape: "ints" },
  fusion: "movement",
  infer([x], { shape }) {
    checkShapeAttr("broadcast", "shape", shape);
    const lead = shape.length - x!.shape.length;
    const fits = lead >= 0 && x!.shape.every((d, i) => d === 1 || d === shape[lead + i]);
    if (!fits) {
      throw new ShapeError(
        `cannot broadcast ${typeStr(x!)} to ${shapeStr(shape)}: each operand dim, right-aligned, must be 1 or equal`,
        { op: "broadcast" },
      );
    }
    return { dtype: x!.dtype, shape: [...shape] };
  },
  interp([x], _attrs: Attrs["broadcast"], out) {
    const inShape = x!.type.shape;
    const lead = out.shape.length - inShape.length;
    return pullElements(x!, out.shape, (o) => inShape.map((d, i) => (d === 1 ? 0 : o[lead + i]!)));
  },
  ...movementRules.broadcast,
};

function inferSlice(x: TensorType, { start, stop, step }: Attrs["slice"]): TensorType {
  const op = "slice";
  checkPerDim(op, "start", start, x);
  checkPerDim(op, "stop", stop, x);
  checkPerDim(op, "step", step, x);
  const shape = x.shape.map((dim, d) => {
    const [a, b, s] = [start[d]!, stop[d]!, step[d]!];
    if (!(0 <= a && a <= b && b <= dim)) {
      throw new ShapeError(`dim ${d} of ${typeStr(x)}: needs 0 <= start <= stop <= ${dim}, got start ${a}, stop ${b}`, {
        op,
      });
    }
    if (s < 1) throw new ShapeError(`dim ${d} of ${typeStr(x)}: step ${s} must be at least 1`, { op });
    return Math.ceil((b - a) / s);
  });
  return { dtype: x.dtype, shape };
}

const slice: OpDef<"slice"> = {
  name: "slice",
  arity: 1,
  attrs: { start: "ints", stop: "ints", step: "ints" },
  fusion: "movement",
  infer: ([x], attrs) => inferSlice(x!, attrs),
  interp([x], { start, step }, out) {
    return pullElements(x!, out.shape, (o) => o.map((v, d) => start[d]! + v * step[d]!));
  },
  ...movementRules.slice,
};

const pad: OpDef<"pad"> = {
  name: "pad",
  arity: 1,
  attrs: { low: "ints", high: "ints", value: "number" },
  fusion: "movement",
  infer([x], { low, high, value }) {
    checkPerDim("pad", "low", low, x!);
    checkPerDim("pad", "high", high, x!);
    if ([...low, ...high].some((p) => p < 0)) {
      throw new ShapeError(`low ${shapeStr(low)} and high ${shapeStr(high)} must be non-negative`, { op: "pad" });
    }
    if (typeof value !== "number") throw new ShapeError(`value must be a number, got ${String(value)}`, { op: "pad" });
    return { dtype: x!.dtype, shape: x!.shape.map((d, i) => low[i]! + d + high[i]!) };
  },
  interp([x], { low, value }, out) {
    const inShape = x!.type.shape;
    return pullElements(
      x!,
      out.shape,
      (o) => {
        const idx = o.map((v, d) => v - low[d]!);
        return idx.every((v, d) => v >= 0 && v < inShape[d]!) ? idx : undefined;
      },
      value,
    );
  },
  ...movementRules.pad,
};

function inferConcatenate(xs: readonly TensorType[], axis: number): TensorType {
  const op = "concatenate";
  const first = xs[0]!;
  checkAxis(op, axis, first);
  for (const x of xs) {
    const pair = `${typeStr(first)} and ${typeStr(x)}`;
    if (x.dtype !== first.dtype) throw new DTypeError(`operands ${pair} differ in dtype`, { op });
    if (x.shape.length !== first.shape.length) throw new ShapeError(`operands ${pair} differ in rank`, { op });
    if (x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
      throw new ShapeError(`operands ${pair} differ in a dim other than axis ${axis}`, { op });
    }
  }
  const shape = [...first.shape];
  shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
  return { dtype: first.dtype, shape };
}

const concatenate: OpDef<"concatenate"> = {
  name: "concatenate",
  arity: "variadic",
  attrs: { axis: "int" },
  fusion: "movement",
  infer: (xs, { axis }) => inferConcatenate(xs, axis),
  interp(xs, { axis }, out) {
    const outStrides = strides(out.shape);
    const r = new Float64Array(size(out.shape));
    let offset = 0;
    for (const x of xs) {
      for (let i = 0; i < x.data.length; i++) {
        const idx = unravel(i, x.type.shape);
        idx[axis] += offset;
        r[ravel(idx, outStrides)] = x.data[i]!;
      }
      offset += x.type.shape[axis]!;
    }
    return r;
  },
  ...movementRules.concatenate,
};

const flip: OpDef<"flip"> = {
  name: "flip",
  arity: 1,
  attrs: { axes: "ints" },
  fusion: "movement",
  infer([x], { axes }) {
    checkAxes("flip", "axes", axes, x!);
    return { dtype: x!.dtype, shape: [...x!.shape] };
  },
  interp([x], { axes }, out) {
    return pullElements(x!, out.shape, (o) => o.map((v, d) => (axes.includes(d) ? out.shape[d]! - 1 - v : v)));
  },
  ...movementRules.flip,
};

export const movementOps: Family<MovementName> = { reshape, transpose, broadcast, slice, pad, concatenate, flip };
