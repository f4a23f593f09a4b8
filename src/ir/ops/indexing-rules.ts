// Derivative rules of gather and scatter_add, which are each other's transpose once their index
// rules agree: gather clamps out-of-range indices, scatter_add drops them.
import type { Emitter } from "../emit.js";
import type { Value } from "../graph.js";
import type { IndexingName } from "./indexing.js";
import type { Rules } from "./rules.js";

/** The indices gather actually reads: clamped to [0, n - 1] (n > 0). */
function clampIndex(e: Emitter, idx: Value, n: number): Value {
  const upper = e.min(idx, e.constant(n - 1, idx));
  return idx.type.dtype === "uint32" ? upper : e.max(upper, e.zerosLike(idx));
}

/**
 * Which elements of the updates scatter_add keeps (index in [0, n)), as a bool tensor of the
 * updates' shape: the index's mask placed at `axis` and broadcast along the other axes.
 */
function keptUpdates(e: Emitter, idx: Value, n: number, upd: Value, axis: number): Value {
  const below = e.lt(idx, e.constant(n, idx));
  const inRange = idx.type.dtype === "uint32" ? below : e.and(e.ge(idx, e.zerosLike(idx)), below);
  const rank = upd.type.shape.length;
  const after = rank - axis - idx.type.shape.length;
  const placed = [...new Array<number>(axis).fill(1), ...idx.type.shape, ...new Array<number>(after).fill(1)];
  return e.broadcastTo(e.reshape(inRange, placed), upd.type.shape);
}

export const indexingRules: { readonly [K in IndexingName]: Rules<K> } = {
  gather: {
    // Every read adds its cotangent to the cell it read: the clamped index, which scatter_add
    // then never drops. An axis of length 0 was read by no index (idx is empty).
    vjp: (e, [a, idx], _y, ct, { axis }) => {
      const n = a!.type.shape[axis]!;
      if (n === 0) return [e.zerosLike(a!), null];
      return [e.op("scatter_add", [e.zerosLike(a!), clampIndex(e, idx!, n), ct], { axis }), null];
    },
    jvp: (e, [, idx], _y, [ta], { axis }) => (ta ? e.op("gather", [ta, idx!], { axis }) : null),
  },
  scatter_add: {
    // A dropped update reached nothing: its cotangent is 0, not the clamped read of gather.
    vjp: (e, [a, idx, upd], _y, ct, { axis }) => {
      const n = a!.type.shape[axis]!;
      if (n === 0) return [ct, null, e.zerosLike(upd!)];
      const read = e.op("gather", [ct, idx!], { axis });
      return [ct, null, e.select(keptUpdates(e, idx!, n, upd!, axis), read, e.zerosLike(upd!))];
    },
    jvp: (e, [a, idx], _y, [ta, , tu], { axis }) => {
      if (!tu) return ta;
      return e.op("scatter_add", [ta ?? e.zerosLike(a!), idx!, tu], { axis });
    },
  },
};
