// Random well-typed funcs for property tests (printer/parser now; fusion and codegen later).
import fc from "fast-check";
import {
  type Attrs,
  type DType,
  DTYPES,
  type Func,
  FuncBuilder,
  isBool,
  isFloat,
  isInteger,
  OP_NAMES,
  type OpName,
  roundTo,
  type Shape,
  size,
  type Tensor,
  type TensorType,
  tensor,
  typeEq,
  type Value,
} from "../../src/ir/index.js";

export interface RandomFuncOptions {
  /** At most this many ops chosen from `ops` (default 8); glue ops come on top. */
  readonly maxOps?: number;
  /** At least this many (default 1), when `ops` and `dtypes` allow any. */
  readonly minOps?: number;
  /**
   * The primitives that may appear (default: every one in the registry). Glue (convert,
   * reshape, broadcast, constant) is only inserted when it is in this list too.
   */
  readonly ops?: readonly OpName[];
  /** The dtypes any value may have (default: all). Ops that need another dtype are skipped. */
  readonly dtypes?: readonly DType[];
}

export interface RandomCase {
  readonly func: Func;
  /** One tensor per param, of the param's type. */
  readonly inputs: Tensor[];
}

/**
 * Random funcs that pass `verify`, with random inputs to run them on.
 *
 * Every primitive present in the registry is generated (absent ones are skipped), each by a
 * recipe that picks operand types and attributes its rule accepts, then finds operands: an
 * existing value of that type, one converted/reshaped/broadcast from an existing value, or a
 * fresh param or constant. Shapes are small (rank 0-3, dims 0-4, mostly at least 1; glue can add
 * a dimension). Inputs are small: floats in [-3, 3] (f32-representable, with 0, -0 and halves
 * for rounding), int32 in [-5, 5], uint32 in [0, 5]. Ops that grow values (exp, mul, pow,
 * matmul, sums, products) take only operands with a small bound, so most results stay finite;
 * division, log, rsqrt and pow can still give inf and NaN, so compare results NaN-aware.
 *
 * All structural choices are read from a tape of integers that shrinks toward zero, and a used-up
 * tape means "the first option": a failing case shrinks toward fewer ops, lower ranks, size-1
 * dims and fresh params. Input values come from a seeded generator.
 */
export function randomFunc(opts: RandomFuncOptions = {}): fc.Arbitrary<RandomCase> {
  const maxOps = opts.maxOps ?? 8;
  const tapeLength = 48 * maxOps + 32;
  return fc
    .record({
      tape: fc.array(fc.noBias(fc.nat()), { minLength: tapeLength, maxLength: tapeLength }),
      seed: fc.integer(),
    })
    .map(({ tape, seed }) => buildRandomFunc(tape, seed, opts));
}

/** The func `randomFunc` builds from one tape and seed (exposed for reproducing a case). */
export function buildRandomFunc(tape: readonly number[], seed: number, opts: RandomFuncOptions = {}): RandomCase {
  const allowedOps = new Set<OpName>(opts.ops ?? OP_NAMES);
  const g = new Gen(new Choices(tape), mulberry32(seed), opts.dtypes ?? DTYPES, allowedOps);
  // Absent from the registry means not yet implemented: skip it.
  let candidates = OP_NAMES.filter((op) => allowedOps.has(op));
  const maxOps = opts.maxOps ?? 8;
  const minOps = Math.min(opts.minOps ?? 1, maxOps);
  const nOps = minOps + g.c.int(maxOps - minOps + 1);
  let done = 0;
  while (done < nOps && candidates.length > 0) {
    const op = g.c.pick(candidates);
    if (runRecipe(g, op)) done++;
    else candidates = candidates.filter((o) => o !== op);
  }
  return g.finish();
}

// ---------------------------------------------------------------- choices

class Choices {
  private i = 0;
  constructor(private readonly tape: readonly number[]) {}

  /** An integer in [0, n). */
  int(n: number): number {
    const x = this.tape[this.i++] ?? 0;
    return n <= 1 ? 0 : x % n;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("randomFunc: pick from an empty list");
    return xs[this.int(xs.length)]!;
  }

  /** Prefers the end of the list (recent values), so ops chain. */
  pickRecent<T>(xs: readonly T[]): T {
    const back = Math.min(this.int(xs.length), this.int(xs.length));
    return xs[xs.length - 1 - back]!;
  }

  /** True with probability about p; false once the tape is used up. */
  chance(p: number): boolean {
    return this.int(1000) >= 1000 * (1 - p);
  }

  subset(n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (this.chance(0.5)) out.push(i);
    return out;
  }

  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }
}

/** A small seeded generator of numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- values

/** A value and an upper bound of its magnitude, used to keep growing ops finite. */
interface Entry {
  readonly v: Value;
  readonly bound: number;
}

const U32_RANGE = 2 ** 32;
const I32_RANGE = 2 ** 31;
const SPECIAL_FLOATS = [0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1, -1, 3, -3];

type Pred = (d: DType) => boolean;
const anyDType: Pred = () => true;
const numeric: Pred = (d) => !isBool(d);
const logical: Pred = (d) => !isFloat(d);

type NoAttrOp = { [K in OpName]: Attrs[K] extends Record<string, never> ? K : never }[OpName];

class Gen {
  readonly b = new FuncBuilder("random");
  readonly pool: Entry[] = [];
  private readonly inputs: Tensor[] = [];
  private lastResult: Value | undefined;

  constructor(
    readonly c: Choices,
    private readonly rng: () => number,
    readonly dtypes: readonly DType[],
    private readonly ops: ReadonlySet<OpName>,
  ) {}

  allowed(op: OpName): boolean {
    return this.ops.has(op) && OP_NAMES.includes(op);
  }

  hasDType(d: DType): boolean {
    return this.dtypes.includes(d);
  }

  dtype(pred: Pred): DType | undefined {
    const ds = this.dtypes.filter(pred);
    return ds.length === 0 ? undefined : this.c.pick(ds);
  }

  shape(minRank = 0, maxRank = 3): number[] {
    const rank = minRank + this.c.int(maxRank - minRank + 1);
    return Array.from({ length: rank }, () => this.dim());
  }

  dim(): number {
    return this.c.chance(0.06) ? 0 : 1 + this.c.int(4);
  }

  /** A type for an op's main operand: often that of an existing value, so ops chain. */
  baseType(pred: Pred, minRank = 0, ok: (s: Shape) => boolean = () => true): TensorType | undefined {
    const fits = this.pool.filter(({ v: { type } }) => pred(type.dtype) && type.shape.length >= minRank && ok(type.shape));
    if (fits.length > 0 && this.c.chance(0.7)) return this.c.pickRecent(fits).v.type;
    const dtype = this.dtype(pred);
    if (dtype === undefined) return undefined;
    const shape = this.shape(minRank);
    // The only constraint recipes pass needs a non-empty dim, which size-1 dims give.
    return { dtype, shape: ok(shape) ? shape : shape.map(() => 1) };
  }

  /** A value of this type whose magnitude is at most `maxBound`. */
  operand(type: TensorType, maxBound = Infinity): Value {
    const exact = this.pool.filter((e) => typeEq(e.v.type, type) && e.bound <= maxBound);
    if (exact.length > 0 && this.c.chance(0.75)) return this.c.pickRecent(exact).v;
    if (this.c.chance(0.5)) {
      const derived = this.derive(type, maxBound);
      if (derived) return derived;
    }
    if (this.allowed("constant") && this.c.chance(0.15)) return this.constant(type);
    return this.param(type);
  }

  /** An existing value brought to `type` by one glue op, if an allowed one fits. */
  private derive(type: TensorType, maxBound: number): Value | undefined {
    const ways: (() => Value)[] = [];
    for (const e of this.pool) {
      const t = e.v.type;
      const small = e.bound <= maxBound || isBool(type.dtype);
      if (!small) continue;
      if (t.dtype !== type.dtype) {
        if (this.allowed("convert") && sameShape(t.shape, type.shape)) ways.push(() => this.emitConvert(e, type.dtype));
        continue;
      }
      if (sameShape(t.shape, type.shape)) continue;
      const shape = [...type.shape];
      if (this.allowed("reshape") && size(t.shape) === size(shape)) {
        ways.push(() => this.emit("reshape", [e.v], { shape }, e.bound));
      }
      if (this.allowed("broadcast") && broadcastsTo(t.shape, shape)) {
        ways.push(() => this.emit("broadcast", [e.v], { shape }, e.bound));
      }
    }
    return ways.length === 0 ? undefined : this.c.pick(ways)();
  }

  emitConvert(e: Entry, dtype: DType): Value {
    return this.emit("convert", [e.v], { dtype }, convertBound(e.v.type.dtype, dtype, e.bound));
  }

  entry(v: Value): Entry {
    const e = this.pool.find((x) => x.v === v);
    if (!e) throw new Error("randomFunc: value not in the pool");
    return e;
  }

  bound(v: Value): number {
    return this.entry(v).bound;
  }

  emit<K extends OpName>(op: K, operands: readonly Value[], attrs: Attrs[K], bound: number): Value {
    const v = this.b.op(op, operands, attrs);
    this.pool.push({ v, bound });
    this.lastResult = v;
    return v;
  }

  emitNoAttrs(op: NoAttrOp, operands: readonly Value[], bound: number): Value {
    return this.emit(op, operands, {}, bound);
  }

  param(type: TensorType): Value {
    const i = this.inputs.length;
    // Names the printer must keep, and some it must sanitize (never duplicates: verify forbids).
    const name = this.c.pick([`arg${i}`, `x${i}`, `w.${i}`, `${i}`]);
    const v = this.b.param(type, name);
    const data = this.values(type.dtype, size(type.shape));
    this.inputs.push(tensor(type.dtype, type.shape, data));
    this.pool.push({ v, bound: maxAbs(data) });
    return v;
  }

  constant(type: TensorType): Value {
    const data = this.values(type.dtype, size(type.shape)).map((x) => roundTo(type.dtype, x));
    const attrs = { dtype: type.dtype, shape: [...type.shape], data: Float64Array.from(data) };
    return this.emit("constant", [], attrs, maxAbs(data));
  }

  values(dtype: DType, n: number): number[] {
    return Array.from({ length: n }, () => roundTo(dtype, this.scalar(dtype)));
  }

  scalar(dtype: DType): number {
    const r = this.rng();
    if (isFloat(dtype)) {
      if (r < 0.15) return SPECIAL_FLOATS[Math.floor(this.rng() * SPECIAL_FLOATS.length)]!;
      return Math.fround(this.rng() * 6 - 3);
    }
    if (dtype === "int32") return Math.floor(r * 11) - 5;
    if (dtype === "uint32") return Math.floor(r * 6);
    return r < 0.5 ? 0 : 1;
  }

  /** A pad value: sometimes nan, inf or -0, which the printer must spell out. */
  padValue(dtype: DType): number {
    if (isFloat(dtype) && this.c.chance(0.1)) return this.c.pick([NaN, Infinity, -Infinity, -0]);
    return this.scalar(dtype);
  }

  finish(): RandomCase {
    if (this.pool.length === 0) this.param({ dtype: this.dtype(anyDType) ?? "float32", shape: this.shape() });
    const results = [this.lastResult ?? this.pool.at(-1)!.v];
    for (let k = this.c.int(3); k > 0; k--) results.push(this.c.pick(this.pool).v);
    return { func: this.b.build(results), inputs: this.inputs };
  }
}

const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

function broadcastsTo(from: Shape, to: Shape): boolean {
  if (from.length > to.length) return false;
  const off = to.length - from.length;
  return from.every((d, i) => d === 1 || d === to[off + i]);
}

function maxAbs(xs: readonly number[]): number {
  let m = 0;
  for (const x of xs) m = Math.max(m, Math.abs(x));
  return m;
}

function convertBound(from: DType, to: DType, b: number): number {
  if (isBool(to)) return 1;
  if (to === "uint32") return from === "uint32" || isBool(from) ? b : U32_RANGE;
  if (to === "int32") return Math.min(b, I32_RANGE);
  return b;
}

// ---------------------------------------------------------------- recipes

/** Adds one op of the given kind; false when the options leave it no dtype to work with. */
type Recipe<K extends OpName> = (g: Gen, op: K) => boolean;

type Unary = "neg" | "exp" | "log" | "log1p" | "expm1" | "sin" | "cos" | "tanh" | "logistic" | "sqrt" | "rsqrt";
type Unary2 = "abs" | "sign" | "floor" | "ceil" | "round" | "erf" | "not" | "stop_gradient";
type UnaryName = Unary | Unary2;

/** Operand bound a growing op accepts, and the result's bound. */
const UNARY: { readonly [K in UnaryName]: { pred: Pred; limit: number; out: (b: number, d: DType) => number } } = {
  neg: { pred: numeric, limit: Infinity, out: (b, d) => (d === "uint32" ? U32_RANGE : b) },
  abs: { pred: numeric, limit: Infinity, out: (b) => b },
  sign: { pred: numeric, limit: Infinity, out: () => 1 },
  floor: { pred: numeric, limit: Infinity, out: (b) => b },
  ceil: { pred: numeric, limit: Infinity, out: (b) => b },
  round: { pred: numeric, limit: Infinity, out: (b) => b },
  exp: { pred: isFloat, limit: 8, out: (b) => Math.exp(b) },
  expm1: { pred: isFloat, limit: 8, out: (b) => Math.exp(b) },
  log: { pred: isFloat, limit: Infinity, out: () => Infinity },
  log1p: { pred: isFloat, limit: Infinity, out: () => Infinity },
  rsqrt: { pred: isFloat, limit: Infinity, out: () => Infinity },
  sqrt: { pred: isFloat, limit: Infinity, out: (b) => Math.sqrt(b) },
  sin: { pred: isFloat, limit: Infinity, out: () => 1 },
  cos: { pred: isFloat, limit: Infinity, out: () => 1 },
  tanh: { pred: isFloat, limit: Infinity, out: () => 1 },
  logistic: { pred: isFloat, limit: Infinity, out: () => 1 },
  erf: { pred: isFloat, limit: Infinity, out: () => 1 },
  not: { pred: logical, limit: Infinity, out: (b, d) => (isBool(d) ? 1 : d === "uint32" ? U32_RANGE : b + 1) },
  stop_gradient: { pred: anyDType, limit: Infinity, out: (b) => b },
};

const unary: Recipe<UnaryName> = (g, op) => {
  const rule = UNARY[op];
  const t = g.baseType(rule.pred);
  if (!t) return false;
  const x = g.operand(t, rule.limit);
  g.emitNoAttrs(op, [x], rule.out(g.bound(x), t.dtype));
  return true;
};

type BinaryName = "add" | "sub" | "mul" | "div" | "pow" | "max" | "min" | "and" | "or";

const BINARY: {
  readonly [K in BinaryName]: { pred: Pred; limit: number; out: (a: number, b: number, d: DType) => number };
} = {
  add: { pred: numeric, limit: 1e4, out: (a, b, d) => (d === "uint32" ? U32_RANGE : a + b) },
  sub: { pred: numeric, limit: 1e4, out: (a, b, d) => (d === "uint32" ? U32_RANGE : a + b) },
  mul: { pred: numeric, limit: 100, out: (a, b, d) => (d === "uint32" ? U32_RANGE : a * b) },
  div: { pred: numeric, limit: Infinity, out: (a, _b, d) => (isFloat(d) ? Infinity : a) },
  pow: {
    pred: numeric,
    limit: 3,
    // A float base near 0 with a negative exponent has no bound.
    out: (a, b, d) => (isFloat(d) ? Infinity : Math.min(U32_RANGE, Math.max(1, a) ** b)),
  },
  max: { pred: anyDType, limit: Infinity, out: (a, b) => Math.max(a, b) },
  min: { pred: anyDType, limit: Infinity, out: (a, b) => Math.max(a, b) },
  and: { pred: logical, limit: Infinity, out: (a, b, d) => (isBool(d) ? 1 : 2 * Math.max(a, b)) },
  or: { pred: logical, limit: Infinity, out: (a, b, d) => (isBool(d) ? 1 : 2 * Math.max(a, b)) },
};

const binary: Recipe<BinaryName> = (g, op) => {
  const rule = BINARY[op];
  const t = g.baseType(rule.pred);
  if (!t) return false;
  const x = g.operand(t, rule.limit);
  const y = g.operand(t, rule.limit);
  g.emitNoAttrs(op, [x, y], rule.out(g.bound(x), g.bound(y), t.dtype));
  return true;
};

type CompareName = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
const compare: Recipe<CompareName> = (g, op) => {
  if (!g.hasDType("bool")) return false;
  const t = g.baseType(anyDType)!;
  g.emitNoAttrs(op, [g.operand(t), g.operand(t)], 1);
  return true;
};

const select: Recipe<"select"> = (g) => {
  if (!g.hasDType("bool")) return false;
  const t = g.baseType(anyDType)!;
  const cond = g.operand({ dtype: "bool", shape: t.shape });
  const [a, b] = [g.operand(t), g.operand(t)];
  g.emit("select", [cond, a, b], {}, Math.max(g.bound(a), g.bound(b)));
  return true;
};

const convert: Recipe<"convert"> = (g) => {
  const t = g.baseType(anyDType)!;
  const x = g.operand(t);
  g.emitConvert(g.entry(x), g.dtype(anyDType)!);
  return true;
};

type AxesReduceName = "reduce_sum" | "reduce_max" | "reduce_min" | "reduce_prod";
const AXES_REDUCE: { readonly [K in AxesReduceName]: { pred: Pred; limit: number } } = {
  reduce_sum: { pred: numeric, limit: 1e3 },
  reduce_prod: { pred: numeric, limit: 3 },
  reduce_max: { pred: anyDType, limit: Infinity },
  reduce_min: { pred: anyDType, limit: Infinity },
};

const reduceAxes: Recipe<AxesReduceName> = (g, op) => {
  const rule = AXES_REDUCE[op];
  const t = g.baseType(rule.pred);
  if (!t) return false;
  const x = g.operand(t, rule.limit);
  // max and min have no identity: never reduce a zero-length axis.
  const canReduce = (a: number) => t.shape[a] !== 0 || op === "reduce_sum" || op === "reduce_prod";
  const axes = g.c.subset(t.shape.length).filter(canReduce);
  const n = size(axes.map((a) => t.shape[a]!));
  const b = g.bound(x);
  const bound = op === "reduce_sum" ? n * b : op === "reduce_prod" ? Math.max(1, b) ** n : b;
  g.emit(op, [x], { axes }, bound);
  return true;
};

const argReduce: Recipe<"argmax" | "argmin"> = (g, op) => {
  if (!g.hasDType("int32")) return false;
  const t = g.baseType(anyDType, 1, (s) => s.some((d) => d > 0))!;
  const axes = t.shape.map((_, i) => i).filter((a) => t.shape[a]! > 0);
  const axis = g.c.pick(axes);
  g.emit(op, [g.operand(t)], { axis }, t.shape[axis]!);
  return true;
};

const matmul: Recipe<"matmul"> = (g) => {
  const t = g.baseType(numeric, 2);
  if (!t) return false;
  const batch = t.shape.slice(0, -2);
  const k = t.shape.at(-1)!;
  const a = g.operand({ dtype: t.dtype, shape: t.shape }, 30);
  const b = g.operand({ dtype: t.dtype, shape: [...batch, k, g.dim()] }, 30);
  const bound = t.dtype === "uint32" ? U32_RANGE : k * g.bound(a) * g.bound(b);
  g.emit("matmul", [a, b], {}, bound);
  return true;
};

/** A shape of `n` elements (n = 0 puts a zero among random dims). */
function shapeOfSize(g: Gen, n: number): number[] {
  if (n === 0) {
    const s = g.shape(1);
    s[g.c.int(s.length)] = 0;
    return s;
  }
  const rank = n === 1 ? g.c.int(4) : 1 + g.c.int(3);
  const s: number[] = [];
  let rest = n;
  for (let i = 0; i < rank - 1; i++) {
    const d = g.c.pick(divisors(rest));
    s.push(d);
    rest /= d;
  }
  if (rank > 0) s.push(rest);
  return s;
}

function divisors(n: number): number[] {
  const ds: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) ds.push(d);
  return ds;
}

const reshape: Recipe<"reshape"> = (g) => {
  const t = g.baseType(anyDType)!;
  const x = g.operand(t);
  g.emit("reshape", [x], { shape: shapeOfSize(g, size(t.shape)) }, g.bound(x));
  return true;
};

const transpose: Recipe<"transpose"> = (g) => {
  const t = g.baseType(anyDType)!;
  const x = g.operand(t);
  g.emit("transpose", [x], { perm: g.c.permutation(t.shape.length) }, g.bound(x));
  return true;
};

const broadcast: Recipe<"broadcast"> = (g) => {
  const t = g.baseType(anyDType)!;
  const x = g.operand(t);
  const lead = Array.from({ length: g.c.int(4 - t.shape.length) }, () => g.dim());
  const kept = t.shape.map((d) => (d === 1 && g.c.chance(0.5) ? g.dim() : d));
  g.emit("broadcast", [x], { shape: [...lead, ...kept] }, g.bound(x));
  return true;
};

const slice: Recipe<"slice"> = (g) => {
  const t = g.baseType(anyDType)!;
  const x = g.operand(t);
  const start = t.shape.map((d) => g.c.int(d + 1));
  const stop = t.shape.map((d, i) => d - g.c.int(d - start[i]! + 1));
  const step = t.shape.map(() => 1 + g.c.int(3));
  g.emit("slice", [x], { start, stop, step }, g.bound(x));
  return true;
};

const pad: Recipe<"pad"> = (g) => {
  const t = g.baseType(anyDType)!;
  const x = g.operand(t);
  const low = t.shape.map(() => g.c.int(3));
  const high = t.shape.map(() => g.c.int(3));
  const value = g.padValue(t.dtype);
  g.emit("pad", [x], { low, high, value }, Math.max(g.bound(x), Math.abs(value)));
  return true;
};

const concatenate: Recipe<"concatenate"> = (g) => {
  const t = g.baseType(anyDType, 1)!;
  const axis = g.c.int(t.shape.length);
  const xs = [g.operand(t)];
  for (let n = g.c.int(3); n > 0; n--) {
    const shape = t.shape.map((d, i) => (i === axis ? g.dim() : d));
    xs.push(g.operand({ dtype: t.dtype, shape }));
  }
  g.emit("concatenate", xs, { axis }, Math.max(...xs.map((x) => g.bound(x))));
  return true;
};

const flip: Recipe<"flip"> = (g) => {
  const t = g.baseType(anyDType)!;
  const x = g.operand(t);
  g.emit("flip", [x], { axes: g.c.subset(t.shape.length) }, g.bound(x));
  return true;
};

/** An index operand for `a` along `axis`: empty when that axis is (gather needs that). */
function indexType(g: Gen, a: TensorType, axis: number): TensorType | undefined {
  const dtype = g.dtype(isInteger);
  if (dtype === undefined) return undefined;
  const shape = g.shape(0, a.shape.length >= 3 ? 1 : 2);
  if (a.shape[axis] === 0 && size(shape) > 0) return { dtype, shape: [0] };
  return { dtype, shape };
}

const gather: Recipe<"gather"> = (g) => {
  if (g.dtype(isInteger) === undefined) return false;
  const t = g.baseType(anyDType, 1)!;
  const axis = g.c.int(t.shape.length);
  const idx = g.operand(indexType(g, t, axis)!);
  const a = g.operand(t);
  g.emit("gather", [a, idx], { axis }, g.bound(a));
  return true;
};

const scatterAdd: Recipe<"scatter_add"> = (g) => {
  if (g.dtype(isInteger) === undefined) return false;
  const t = g.baseType(numeric, 1);
  if (!t) return false;
  const axis = g.c.int(t.shape.length);
  const it = indexType(g, t, axis)!;
  const updShape = [...t.shape.slice(0, axis), ...it.shape, ...t.shape.slice(axis + 1)];
  const a = g.operand(t, 1e3);
  const idx = g.operand(it);
  const upd = g.operand({ dtype: t.dtype, shape: updShape }, 1e3);
  const bound = t.dtype === "uint32" ? U32_RANGE : g.bound(a) + size(it.shape) * g.bound(upd);
  g.emit("scatter_add", [a, idx, upd], { axis }, bound);
  return true;
};

const iota: Recipe<"iota"> = (g) => {
  const dtype = g.dtype(numeric);
  if (dtype === undefined) return false;
  const shape = g.shape(1);
  const axis = g.c.int(shape.length);
  g.emit("iota", [], { dtype, shape, axis }, Math.max(0, shape[axis]! - 1));
  return true;
};

const constant: Recipe<"constant"> = (g) => {
  g.constant({ dtype: g.dtype(anyDType)!, shape: g.shape() });
  return true;
};

const randomBits: Recipe<"random_bits"> = (g) => {
  if (!g.hasDType("uint32")) return false;
  const key = g.operand({ dtype: "uint32", shape: [2] });
  g.emit("random_bits", [key], { shape: g.shape() }, U32_RANGE);
  return true;
};

const RECIPES: { readonly [K in OpName]: Recipe<K> } = {
  neg: unary,
  exp: unary,
  log: unary,
  log1p: unary,
  expm1: unary,
  sin: unary,
  cos: unary,
  tanh: unary,
  logistic: unary,
  sqrt: unary,
  rsqrt: unary,
  abs: unary,
  sign: unary,
  floor: unary,
  ceil: unary,
  round: unary,
  erf: unary,
  not: unary,
  stop_gradient: unary,
  add: binary,
  sub: binary,
  mul: binary,
  div: binary,
  pow: binary,
  max: binary,
  min: binary,
  and: binary,
  or: binary,
  eq: compare,
  ne: compare,
  lt: compare,
  le: compare,
  gt: compare,
  ge: compare,
  select,
  convert,
  reduce_sum: reduceAxes,
  reduce_max: reduceAxes,
  reduce_min: reduceAxes,
  reduce_prod: reduceAxes,
  argmax: argReduce,
  argmin: argReduce,
  matmul,
  reshape,
  transpose,
  broadcast,
  slice,
  pad,
  concatenate,
  flip,
  gather,
  scatter_add: scatterAdd,
  iota,
  constant,
  random_bits: randomBits,
};

function runRecipe<K extends OpName>(g: Gen, op: K): boolean {
  if (g.dtypes.length === 0) return false;
  return (RECIPES[op] as Recipe<K>)(g, op);
}
