// Derivative rules of the movement ops. Each is linear, so its JVP applies the op to the tangent
// and its VJP is the transposed movement: reshape back, inverse perm, un-broadcast (sum), scatter
// a slice back into zeros, slice the padding off, split a concatenation, flip again.
import type { Attrs } from "../attrs.js";
import type { Emitter } from "../emit.js";
import type { Value } from "../graph.js";
import { type Shape, size } from "../shape.js";
import type { MovementName } from "./movement.js";
import type { Rules } from "./rules.js";

const inversePerm = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};

/** `v` with s - 1 zeros after each element along axis d (via a size-1 axis padded to s). */
function spread(e: Emitter, v: Value, d: number, s: number): Value {
  const shape = v.type.shape;
  const split = [...shape.slice(0, d + 1), 1, ...shape.slice(d + 1)];
  const high = split.map((_, i) => (i === d + 1 ? s - 1 : 0));
  const padded = e.pad(e.reshape(v, split), split.map(() => 0), high);
  return e.reshape(padded, [...shape.slice(0, d), shape[d]! * s, ...shape.slice(d + 1)]);
}

/**
 * The transpose of a slice: a tensor of `shape` holding zeros, with `ct` at the positions the
 * slice read. Steps spread the elements apart first; the spread may run past the operand's end
 * with zeros only (the last element read is before `stop`), which the slice trims.
 */
function unslice(e: Emitter, ct: Value, shape: Shape, { start, step }: Attrs["slice"]): Value {
  if (size(ct.type.shape) === 0) return e.zerosLike({ dtype: ct.type.dtype, shape });
  let v = ct;
  step.forEach((s, d) => {
    if (s > 1) v = spread(e, v, d, s);
  });
  const keep = v.type.shape.map((n, d) => Math.min(n, shape[d]! - start[d]!));
  v = e.slice(
    v,
    keep.map(() => 0),
    keep,
  );
  return e.pad(
    v,
    start,
    shape.map((n, d) => n - start[d]! - keep[d]!),
  );
}

export const movementRules: { readonly [K in MovementName]: Rules<K> } = {
  reshape: {
    vjp: (e, [x], _y, ct) => [e.reshape(ct, x!.type.shape)],
    jvp: (e, _x, _y, [t], { shape }) => (t ? e.reshape(t, shape) : null),
  },
  transpose: {
    vjp: (e, _x, _y, ct, { perm }) => [e.transpose(ct, inversePerm(perm))],
    jvp: (e, _x, _y, [t], { perm }) => (t ? e.transpose(t, perm) : null),
  },
  broadcast: {
    vjp: (e, [x], _y, ct) => [e.sumToShape(ct, x!.type.shape)],
    jvp: (e, _x, _y, [t], { shape }) => (t ? e.broadcastTo(t, shape) : null),
  },
  slice: {
    vjp: (e, [x], _y, ct, attrs) => [unslice(e, ct, x!.type.shape, attrs)],
    jvp: (e, _x, _y, [t], { start, stop, step }) => (t ? e.slice(t, start, stop, step) : null),
  },
  pad: {
    // The padding holds the attribute `value`, which no input reaches: it passes nothing.
    vjp: (e, [x], _y, ct, { low }) => [
      e.slice(
        ct,
        low,
        x!.type.shape.map((d, i) => low[i]! + d),
      ),
    ],
    jvp: (e, _x, _y, [t], { low, high }) => (t ? e.pad(t, low, high, 0) : null),
  },
  concatenate: {
    vjp: (e, xs, _y, ct, { axis }) => {
      let offset = 0;
      return xs.map((x) => {
        const start = x.type.shape.map((_, d) => (d === axis ? offset : 0));
        offset += x.type.shape[axis]!;
        const stop = ct.type.shape.map((n, d) => (d === axis ? offset : n));
        return e.slice(ct, start, stop);
      });
    },
    jvp: (e, xs, _y, ts, { axis }) => {
      if (ts.every((t) => t === null)) return null;
      return e.op(
        "concatenate",
        xs.map((x, i) => ts[i] ?? e.zerosLike(x)),
        { axis },
      );
    },
  },
  flip: {
    vjp: (e, _x, _y, ct, { axes }) => [axes.length === 0 ? ct : e.op("flip", [ct], { axes: [...axes] })],
    jvp: (e, _x, _y, [t], { axes }) => (t && axes.length > 0 ? e.op("flip", [t], { axes: [...axes] }) : t),
  },
};
