// Random funcs seldom hold the patterns simplify looks for, so the property test also wraps their
// values in patterns: some that simplify must remove (x * 1, neg(neg(x)), a transpose and its
// inverse, ...), some it must keep (float x + 0, float x - x, float reassociation), and some it
// partly folds. Each pattern gives a value of the wrapped value's type, equal to it or not: the
// property only asks that simplify keep whatever the decorated func computes.
import {
  type DType,
  type Func,
  FuncBuilder,
  isBool,
  isFloat,
  isInteger,
  roundTo,
  type TensorType,
  type Value,
} from "../../src/ir/index.js";

type Pattern = (b: FuncBuilder, x: Value, pick: (n: number) => number) => Value | undefined;

const numeric = (d: DType): boolean => isFloat(d) || isInteger(d);

/** A splat of `c` (rounded to the dtype) of `x`'s type: a scalar constant, broadcast. */
const splat = (b: FuncBuilder, x: Value, c: number): Value => splatOf(b, x.type, c);

function splatOf(b: FuncBuilder, { dtype, shape }: TensorType, c: number): Value {
  const scalar = b.op("constant", [], { dtype, shape: [], data: Float64Array.of(roundTo(dtype, c)) });
  return shape.length === 0 ? scalar : b.op("broadcast", [scalar], { shape: [...shape] });
}

/** A full constant shaped like `x` holding `c` everywhere (not a broadcast). */
function full(b: FuncBuilder, x: Value, c: number): Value {
  const { dtype, shape } = x.type;
  const n = shape.reduce((a, d) => a * d, 1);
  return b.op("constant", [], { dtype, shape: [...shape], data: new Float64Array(n).fill(roundTo(dtype, c)) });
}

const SMALL = [0, -0, 1, -1, 2, 3, 0.5, 65536];

const binaryWith =
  (op: "add" | "sub" | "mul" | "div", constants: readonly number[], make = splat): Pattern =>
  (b, x, pick) => {
    if (!numeric(x.type.dtype)) return undefined;
    const c = make(b, x, constants[pick(constants.length)]!);
    return pick(2) === 0 || op === "sub" || op === "div" ? b.op(op, [x, c], {}) : b.op(op, [c, x], {});
  };

/**
 * Constant pairs whose float sum or product, taken first, gives another result than applying them
 * one at a time (lost low bits, overflow, 0.1 + 0.2); integers wrap on the large ones.
 */
const CHAIN_PAIRS: readonly (readonly [number, number])[] = [
  [16777216, -16777216],
  [0.1, 0.2],
  [3e38, 1e-38],
  [65536, 65536],
  [-1, 3],
  [2, 0.5],
];

/** (x op c1) op c2: merged for integers, kept for floats. */
const chain =
  (op: "add" | "mul"): Pattern =>
  (b, x, pick) => {
    if (!numeric(x.type.dtype)) return undefined;
    const [c1, c2] = CHAIN_PAIRS[pick(CHAIN_PAIRS.length)]!;
    const inner = b.op(op, [x, splat(b, x, c1)], {});
    return b.op(op, [splat(b, x, c2), inner], {});
  };

const twice =
  (op: "neg" | "not"): Pattern =>
  (b, x) => {
    const ok = op === "neg" ? numeric(x.type.dtype) : !isFloat(x.type.dtype);
    return ok ? b.op(op, [b.op(op, [x], {})], {}) : undefined;
  };

const transposeBack: Pattern = (b, x, pick) => {
  const rank = x.type.shape.length;
  if (rank < 2) return undefined;
  const shift = 1 + pick(rank - 1); // a rotation of the axes other than the identity
  const perm = Array.from({ length: rank }, (_, i) => (i + shift) % rank);
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return b.op("transpose", [b.op("transpose", [x], { perm })], { perm: inverse });
};

const reshapeBack: Pattern = (b, x) => {
  const n = x.type.shape.reduce((a, d) => a * d, 1);
  const flat = b.op("reshape", [x], { shape: [n] });
  return b.op("reshape", [b.op("reshape", [flat], { shape: [1, n] })], { shape: [...x.type.shape] });
};

/** Broadcast up twice, slice one copy back out and reshape to x's shape. */
const broadcastBack: Pattern = (b, x) => {
  const s = x.type.shape;
  const up = b.op("broadcast", [b.op("broadcast", [x], { shape: [1, ...s] })], { shape: [2, 1, ...s] });
  const start = up.type.shape.map(() => 0);
  const stop = [1, ...up.type.shape.slice(1)];
  const one = b.op("slice", [up], { start, stop, step: start.map(() => 1) });
  const all = one.type.shape;
  const same = b.op("slice", [one], { start: all.map(() => 0), stop: [...all], step: all.map(() => 1) });
  return b.op("reshape", [same], { shape: [...s] });
};

const convertSame: Pattern = (b, x) => b.op("convert", [x], { dtype: x.type.dtype });

const selectConstant: Pattern = (b, x, pick) => {
  const cond = splatOf(b, { dtype: "bool", shape: x.type.shape }, pick(2));
  const other = isBool(x.type.dtype) ? b.op("not", [x], {}) : splat(b, x, 2);
  return pick(2) === 0 ? b.op("select", [cond, x, other], {}) : b.op("select", [cond, other, x], {});
};

/** x + (y - y) with y = x / 0: ±Inf or NaN for floats, where y - y is NaN and not 0. */
const infSelfSub: Pattern = (b, x) => {
  if (!numeric(x.type.dtype)) return undefined;
  const y = b.op("div", [x, splat(b, x, 0)], {});
  return b.op("add", [x, b.op("sub", [y, y], {})], {});
};

const selfSub: Pattern = (b, x) => (numeric(x.type.dtype) ? b.op("add", [x, b.op("sub", [x, x], {})], {}) : undefined);

/** Constants folded into one before they meet x. */
const foldedOffset: Pattern = (b, x, pick) => {
  if (!numeric(x.type.dtype)) return undefined;
  const c = b.op("mul", [full(b, x, SMALL[pick(SMALL.length)]!), splat(b, x, SMALL[pick(SMALL.length)]!)], {});
  return b.op("add", [x, c], {});
};

const PATTERNS: readonly Pattern[] = [
  binaryWith("mul", [1, 1, 2]),
  binaryWith("mul", [1], full),
  binaryWith("div", [1, 2]),
  binaryWith("add", [0, -0]),
  binaryWith("add", [0, -0], full),
  binaryWith("sub", [0, -0]),
  chain("add"),
  chain("mul"),
  twice("neg"),
  twice("not"),
  transposeBack,
  reshapeBack,
  broadcastBack,
  convertSame,
  selectConstant,
  selfSub,
  infSelfSub,
  foldedOffset,
];

/**
 * `func` rebuilt with patterns around some of its values: `tape[i]` chooses what wraps op i's
 * result (most choices leave it alone). Params, their order and the result types stay.
 */
export function decorate(func: Func, tape: readonly number[]): Func {
  const b = new FuncBuilder(func.name);
  const map = new Map<Value, Value>();
  for (const p of func.params) map.set(p, b.param(p.type, p.name));
  let t = 0;
  const pick = (n: number): number => (tape.length === 0 ? 0 : tape[t++ % tape.length]! % n);
  const get = (v: Value): Value => map.get(v) ?? v;
  for (const op of func.body) {
    const operands = op.operands.map(get);
    let r = b.op(op.op, operands, op.attrs, op.loc);
    // Computing an op twice leaves CSE something to merge.
    if (pick(4) === 0 && op.op !== "constant") {
      const again = b.op(op.op, operands, op.attrs, op.loc);
      if (numeric(r.type.dtype)) r = b.op("max", [r, again], {});
    }
    const choice = pick(PATTERNS.length * 2);
    const wrapped = choice < PATTERNS.length ? PATTERNS[choice]!(b, r, pick) : undefined;
    map.set(op.result, wrapped ?? r);
  }
  return b.build(func.results.map(get));
}
