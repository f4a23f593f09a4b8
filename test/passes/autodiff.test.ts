// Every differentiable primitive's VJP and JVP against central finite differences (float64
// interpreter as the oracle), the documented rules at kinks and ties, errors, blocking, and the
// IR text a few rules emit.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type DType,
  DTypeError,
  type Func,
  FuncBuilder,
  isFloat,
  OP_NAMES,
  type OpName,
  registry,
  type Shape,
  size,
  type TensorType,
  verify,
} from "../../src/ir/index.js";
import { parseFunc } from "../../src/ir/parse.js";
import { printFunc } from "../../src/ir/print.js";
import { jvp, vjp } from "../../src/passes/autodiff.js";
import { checkBoth, exact, f32, type GradCase, mulberry32, opCase, opFunc, run } from "../support/gradcheck.js";

const NUM_RUNS = 40;
const seed = fc.integer();
const dim = (min = 1, max = 3) => fc.integer({ min, max });
const shapeArb = (minRank = 0, maxRank = 3, minDim = 1) => fc.array(dim(minDim), { minLength: minRank, maxLength: maxRank });

type Rng = () => number;
type Fill = (rng: Rng, n: number) => number[];

const uniform =
  (lo: number, hi: number): Fill =>
  (rng, n) =>
    Array.from({ length: n }, () => lo + (hi - lo) * rng());

/** Magnitudes in [lo, hi] with random signs: away from a kink at 0. */
const awayFromZero =
  (lo: number, hi: number): Fill =>
  (rng, n) =>
    uniform(lo, hi)(rng, n).map((v) => (rng() < 0.5 ? -v : v));

/** n values at least 0.2 apart, in random order: no ties, nor near-ties within eps's reach. */
const distinct: Fill = (rng, n) => {
  const ks = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [ks[i], ks[j]] = [ks[j]!, ks[i]!];
  }
  return ks.map((k) => (k - n / 2) * 0.25 + 0.05 * rng());
};

const operand = (rng: Rng, type: TensorType, fill: Fill = uniform(-3, 3)) => ({
  type,
  data: fill(rng, size(type.shape)),
});

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const axesOf = (rank: number, mask: number): number[] => range(rank).filter((i) => (mask >> i) & 1);

function shuffled(rng: Rng, n: number): number[] {
  const p = range(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

const randInt = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** A property over random cases of one op: VJP and JVP against finite differences. */
function property(make: fc.Arbitrary<GradCase>, numRuns = NUM_RUNS): void {
  fc.assert(fc.property(make, checkBoth), { numRuns });
}

// ---------------------------------------------------------------- the primitives

type PlainUnary =
  | "neg"
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sin"
  | "cos"
  | "tanh"
  | "logistic"
  | "sqrt"
  | "rsqrt"
  | "erf"
  | "abs";

const UNARY: { readonly [K in PlainUnary]: Fill } = {
  neg: uniform(-3, 3),
  exp: uniform(-3, 3),
  log: uniform(0.2, 3),
  log1p: uniform(-0.8, 3),
  expm1: uniform(-3, 3),
  sin: uniform(-4, 4),
  cos: uniform(-4, 4),
  tanh: uniform(-3, 3),
  logistic: uniform(-4, 4),
  sqrt: uniform(0.2, 3),
  rsqrt: uniform(0.2, 3),
  erf: uniform(-2.5, 2.5),
  abs: awayFromZero(0.1, 3),
};

type PlainBinary = "add" | "sub" | "mul" | "div" | "pow" | "max" | "min";

/** Values for both operands at once (max and min need them distinct from each other). */
const BINARY: { readonly [K in PlainBinary]: (rng: Rng, n: number) => [number[], number[]] } = {
  add: (rng, n) => [uniform(-3, 3)(rng, n), uniform(-3, 3)(rng, n)],
  sub: (rng, n) => [uniform(-3, 3)(rng, n), uniform(-3, 3)(rng, n)],
  mul: (rng, n) => [uniform(-3, 3)(rng, n), uniform(-3, 3)(rng, n)],
  div: (rng, n) => [uniform(-3, 3)(rng, n), awayFromZero(0.3, 3)(rng, n)],
  // A negative base has no real d/dy (log x): the property keeps the base positive.
  pow: (rng, n) => [uniform(0.2, 3)(rng, n), uniform(-2, 2)(rng, n)],
  max: (rng, n) => {
    const v = distinct(rng, 2 * n);
    return [v.slice(0, n), v.slice(n)];
  },
  min: (rng, n) => {
    const v = distinct(rng, 2 * n);
    return [v.slice(0, n), v.slice(n)];
  },
};

const unaryCase = (op: PlainUnary) =>
  fc.tuple(shapeArb(0, 3, 0), seed).map(([shape, s]) => opCase(op, [operand(mulberry32(s), f32(shape), UNARY[op])], {}, s));

const binaryCase = (op: PlainBinary) =>
  fc.tuple(shapeArb(0, 3, 0), seed).map(([shape, s]) => {
    const [a, b] = BINARY[op](mulberry32(s), size(shape));
    return opCase(
      op,
      [
        { type: f32(shape), data: a },
        { type: f32(shape), data: b },
      ],
      {},
      s,
    );
  });

const selectCase = fc.tuple(shapeArb(), seed).map(([shape, s]) => {
  const rng = mulberry32(s);
  const cond = { type: { dtype: "bool", shape } as TensorType, data: uniform(0, 1)(rng, size(shape)).map(Math.round) };
  return opCase("select", [cond, operand(rng, f32(shape)), operand(rng, f32(shape))], {}, s);
});

const FLOATS: DType[] = ["float32", "float16", "bfloat16"];
const convertCase = fc
  .tuple(shapeArb(), fc.constantFrom(...FLOATS), fc.constantFrom(...FLOATS), seed)
  .map(([shape, from, to, s]) => opCase("convert", [operand(mulberry32(s), { dtype: from, shape })], { dtype: to }, s));

type AxesReduce = "reduce_sum" | "reduce_max" | "reduce_min" | "reduce_prod";
const REDUCE_FILL: { readonly [K in AxesReduce]: Fill } = {
  reduce_sum: uniform(-3, 3),
  reduce_max: distinct,
  reduce_min: distinct,
  // Away from 0, where the rule switches branch; the zero cases have a test of their own.
  reduce_prod: awayFromZero(0.5, 1.5),
};

const reduceCase = (op: AxesReduce) =>
  fc.tuple(shapeArb(0, 3), fc.nat(7), seed).map(([shape, mask, s]) =>
    opCase(op, [operand(mulberry32(s), f32(shape), REDUCE_FILL[op])], { axes: axesOf(shape.length, mask) }, s),
  );

const matmulCase = fc
  .tuple(shapeArb(0, 2), dim(1, 3), dim(1, 3), dim(1, 3), seed)
  .map(([batch, m, k, n, s]) => {
    const rng = mulberry32(s);
    return opCase("matmul", [operand(rng, f32([...batch, m, k])), operand(rng, f32([...batch, k, n]))], {}, s);
  });

function reshapeTarget(shape: Shape, choice: number): number[] {
  const options = [[size(shape)], [...shape].reverse(), [1, ...shape], [...shape, 1]];
  return options[choice % options.length]!;
}

const reshapeCase = fc
  .tuple(shapeArb(0, 3, 0), fc.nat(3), seed)
  .map(([shape, c, s]) => opCase("reshape", [operand(mulberry32(s), f32(shape))], { shape: reshapeTarget(shape, c) }, s));

const transposeCase = fc.tuple(shapeArb(0, 3), seed).map(([shape, s]) => {
  const rng = mulberry32(s);
  return opCase("transpose", [operand(rng, f32(shape))], { perm: shuffled(rng, shape.length) }, s);
});

const broadcastCase = fc
  .tuple(fc.array(fc.constantFrom(1, 1, 2, 3), { maxLength: 3 }), shapeArb(0, 2), seed)
  .map(([shape, lead, s]) => {
    const rng = mulberry32(s);
    const target = [...lead, ...shape.map((d) => (d === 1 ? randInt(rng, 1, 3) : d))];
    return opCase("broadcast", [operand(rng, f32(shape))], { shape: target }, s);
  });

const sliceCase = fc.tuple(shapeArb(0, 3, 1).map((sh) => sh.map((d) => d + 2)), seed).map(([shape, s]) => {
  const rng = mulberry32(s);
  const start = shape.map((d) => randInt(rng, 0, d));
  const stop = shape.map((d, i) => randInt(rng, start[i]!, d));
  const step = shape.map(() => randInt(rng, 1, 3));
  return opCase("slice", [operand(rng, f32(shape))], { start, stop, step }, s);
});

const padCase = fc.tuple(shapeArb(0, 3, 0), seed).map(([shape, s]) => {
  const rng = mulberry32(s);
  const low = shape.map(() => randInt(rng, 0, 2));
  const high = shape.map(() => randInt(rng, 0, 2));
  return opCase("pad", [operand(rng, f32(shape))], { low, high, value: 7.5 }, s);
});

const concatenateCase = fc.tuple(shapeArb(1, 3), fc.nat(), fc.integer({ min: 1, max: 3 }), seed).map(([shape, a, n, s]) => {
  const rng = mulberry32(s);
  const axis = a % shape.length;
  const xs = range(n).map(() => operand(rng, f32(shape.map((d, i) => (i === axis ? randInt(rng, 0, 3) : d)))));
  return opCase("concatenate", xs, { axis }, s);
});

const flipCase = fc
  .tuple(shapeArb(0, 3), fc.nat(7), seed)
  .map(([shape, mask, s]) => opCase("flip", [operand(mulberry32(s), f32(shape))], { axes: axesOf(shape.length, mask) }, s));

/** Indices for an axis of length n: some out of range (negative ones for int32), some repeated. */
function indices(rng: Rng, dtype: DType, shape: Shape, n: number) {
  const lo = dtype === "int32" ? -2 : 0;
  return { type: { dtype, shape } as TensorType, data: range(size(shape)).map(() => randInt(rng, lo, n + 1)) };
}

const indexedCase = (op: "gather" | "scatter_add") =>
  fc
    .tuple(shapeArb(1, 3, 1), fc.nat(), shapeArb(0, 2), fc.constantFrom<DType>("int32", "uint32"), seed)
    .map(([shape, a, idxShape, idxDType, s]) => {
      const rng = mulberry32(s);
      const axis = a % shape.length;
      const idx = indices(rng, idxDType, idxShape, shape[axis]!);
      const x = operand(rng, f32(shape));
      if (op === "gather") return opCase("gather", [x, idx], { axis }, s);
      const updShape = [...shape.slice(0, axis), ...idxShape, ...shape.slice(axis + 1)];
      return opCase("scatter_add", [x, idx, operand(rng, f32(updShape))], { axis }, s);
    });

const CASES: { readonly [K in OpName]?: fc.Arbitrary<GradCase> } = {
  ...Object.fromEntries(Object.keys(UNARY).map((op) => [op, unaryCase(op as PlainUnary)])),
  ...Object.fromEntries(Object.keys(BINARY).map((op) => [op, binaryCase(op as PlainBinary)])),
  select: selectCase,
  convert: convertCase,
  reduce_sum: reduceCase("reduce_sum"),
  reduce_max: reduceCase("reduce_max"),
  reduce_min: reduceCase("reduce_min"),
  reduce_prod: reduceCase("reduce_prod"),
  matmul: matmulCase,
  reshape: reshapeCase,
  transpose: transposeCase,
  broadcast: broadcastCase,
  slice: sliceCase,
  pad: padCase,
  concatenate: concatenateCase,
  flip: flipCase,
  gather: indexedCase("gather"),
  scatter_add: indexedCase("scatter_add"),
};

const differentiable = OP_NAMES.filter((op) => registry[op].vjp !== "nondiff");

describe("the rules in the registry", () => {
  test("an op is nondiff in one mode exactly when it is in the other", () => {
    for (const op of OP_NAMES) expect(registry[op].jvp === "nondiff", op).toBe(registry[op].vjp === "nondiff");
  });

  test("every differentiable primitive has a finite-difference property below", () => {
    expect([...differentiable].sort()).toEqual(Object.keys(CASES).sort());
  });
});

describe("VJP and JVP match central finite differences", () => {
  for (const op of differentiable) {
    test(op, () => property(CASES[op]!));
  }
});

// ---------------------------------------------------------------- kinks, ties, zeros

/** Gradients of a one-op func at given inputs, with a given cotangent (all float operands). */
function gradsAt(f: Func, inputs: readonly number[][], ct: readonly number[]): number[][] {
  const wrt = f.params.flatMap((p, i) => (isFloat(p.type.dtype) ? [i] : []));
  const args = [...f.params.map((p, i) => exact(p.type, inputs[i]!)), exact(f.results[0]!.type, ct)];
  return run(vjp(f, wrt), args)
    .slice(1)
    .map((t) => Array.from(t.data));
}

function tangentAt(f: Func, inputs: readonly number[][], dirs: readonly number[][]): number[] {
  const args = [...f.params.map((p, i) => exact(p.type, inputs[i]!)), ...f.params.map((p, i) => exact(p.type, dirs[i]!))];
  return Array.from(run(jvp(f), args)[1]!.data);
}

describe("rules at kinks and ties (docs/ir.md, Autodiff)", () => {
  test("reduce_max and reduce_min split the gradient equally among tied positions", () => {
    const max = opFunc("reduce_max", [f32([4])], { axes: [0] });
    expect(gradsAt(max, [[1, 3, 3, 2]], [6])).toEqual([[0, 3, 3, 0]]);
    expect(tangentAt(max, [[1, 3, 3, 2]], [[10, 20, 40, 80]])).toEqual([30]);
    const min = opFunc("reduce_min", [f32([2, 3])], { axes: [1] });
    expect(gradsAt(min, [[5, 5, 5, 1, 2, 3]], [3, 1])).toEqual([[1, 1, 1, 1, 0, 0]]);
  });

  test("a NaN in a max group passes no gradient", () => {
    const max = opFunc("reduce_max", [f32([3])], { axes: [0] });
    expect(gradsAt(max, [[1, NaN, 2]], [1])).toEqual([[0, 0, 0]]);
  });

  test("binary max and min give all to the chosen operand and half each on a tie", () => {
    const max = opFunc("max", [f32([3]), f32([3])], {});
    expect(gradsAt(max, [[1, 2, 3], [3, 2, 1]], [4, 4, 4])).toEqual([
      [0, 2, 4],
      [4, 2, 0],
    ]);
    expect(tangentAt(max, [[1, 2, 3], [3, 2, 1]], [[1, 1, 1], [10, 10, 10]])).toEqual([10, 5.5, 1]);
    const min = opFunc("min", [f32([3]), f32([3])], {});
    expect(gradsAt(min, [[1, 2, 3], [3, 2, 1]], [4, 4, 4])).toEqual([
      [4, 2, 0],
      [0, 2, 4],
    ]);
  });

  test("abs has gradient 0 at 0", () => {
    expect(gradsAt(opFunc("abs", [f32([3])], {}), [[-2, 0, 2]], [1, 1, 1])).toEqual([[-1, 0, 1]]);
  });

  test("reduce_prod's gradient is the product of the other elements, zeros included", () => {
    const prod = opFunc("reduce_prod", [f32([3])], { axes: [0] });
    expect(gradsAt(prod, [[2, 4, 3]], [1])).toEqual([[12, 6, 8]]);
    expect(gradsAt(prod, [[2, 0, 3]], [1])).toEqual([[0, 6, 0]]);
    expect(gradsAt(prod, [[0, 0, 3]], [1])).toEqual([[0, 0, 0]]);
    expect(tangentAt(prod, [[2, 0, 3]], [[1, 1, 1]])).toEqual([6]);
  });

  test("pow is finite at a zero base: d/dx = y x^(y-1), d/dy = 0", () => {
    const pow = opFunc("pow", [f32([4]), f32([4])], {});
    // x = 0 with y = 2, 3, 1, 0; d/dx = 2*0, 3*0, 1*0^0 = 1, and 0 at y = 0.
    expect(gradsAt(pow, [[0, 0, 0, 0], [2, 3, 1, 0]], [1, 1, 1, 1])).toEqual([
      [0, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    // x = 2, y = 3: d/dx = 3 * 4 = 12, d/dy = 8 ln 2.
    const [[dx], [dy]] = gradsAt(opFunc("pow", [f32([1]), f32([1])], {}), [[2], [3]], [1]) as [number[], number[]];
    expect(dx).toBe(12);
    expect(dy).toBeCloseTo(8 * Math.LN2, 12);
  });

  test("gather's cotangent reaches the clamped cells; scatter_add's dropped updates get none", () => {
    const gather = opFunc("gather", [f32([3]), { dtype: "int32", shape: [4] }], { axis: 0 });
    const args = [exact(f32([3]), [10, 20, 30]), exact({ dtype: "int32", shape: [4] }, [-1, 5, 1, 1]), exact(f32([4]), [1, 2, 3, 4])];
    expect(Array.from(run(vjp(gather, [0]), args)[1]!.data)).toEqual([1, 7, 2]);

    const scatter = opFunc("scatter_add", [f32([3]), { dtype: "int32", shape: [3] }, f32([3])], { axis: 0 });
    const sargs = [
      exact(f32([3]), [0, 0, 0]),
      exact({ dtype: "int32", shape: [3] }, [-1, 3, 1]),
      exact(f32([3]), [1, 2, 3]),
      exact(f32([3]), [10, 20, 30]),
    ];
    const [, ga, gu] = run(vjp(scatter, [0, 2]), sargs);
    expect(Array.from(ga!.data)).toEqual([10, 20, 30]);
    expect(Array.from(gu!.data)).toEqual([0, 0, 20]);
  });
});

// ---------------------------------------------------------------- what carries no gradient

describe("what carries no gradient", () => {
  test("asking for the gradient of an integer or bool param is a DTypeError naming it", () => {
    const b = new FuncBuilder("f");
    const x = b.param(f32([2]), "x");
    const n = b.param({ dtype: "int32", shape: [2] }, "n");
    const f = b.build([b.op("add", [x, b.op("convert", [n], { dtype: "float32" })], {})]);
    expect(() => vjp(f, [1])).toThrow(DTypeError);
    expect(() => vjp(f, [1])).toThrow(/%n: i32\[2\]/);
    expect(() => vjp(f, [0])).not.toThrow();
  });

  test("nondiff ops and integer paths give zero gradients and tangents", () => {
    const f = parseFunc(`func @f(%x: f32[3]) -> (f32[3], f32[3], f32[3], i32[], f32[3]) {
      %0 = sign %x : f32[3]
      %1 = convert %x {dtype = i32} : i32[3]
      %2 = convert %1 {dtype = f32} : f32[3]
      %3 = floor %x : f32[3]
      %4 = argmax %x {axis = 0} : i32[]
      %5 = gt %x, %x : bool[3]
      %6 = convert %5 {dtype = f32} : f32[3]
      return %0, %2, %3, %4, %6
    }`);
    const x = exact(f32([3]), [0.5, -1.5, 2.5]);
    const cts = f.results.map((r) => exact(r.type, [1, 2, 3].slice(0, size(r.type.shape))));
    const g = run(vjp(f, [0]), [x, ...cts]);
    expect(Array.from(g[5]!.data)).toEqual([0, 0, 0]);
    const t = run(jvp(f), [x, exact(f32([3]), [1, 1, 1])]);
    for (const tangent of t.slice(5)) expect(Array.from(tangent.data).every((v) => v === 0)).toBe(true);
  });

  test("stop_gradient blocks flow: d/dx (x * stop_gradient(x)) = x", () => {
    const f = parseFunc(`func @f(%x: f32[2]) -> (f32[2]) {
      %0 = stop_gradient %x : f32[2]
      %1 = mul %x, %0 : f32[2]
      return %1
    }`);
    const x = exact(f32([2]), [3, -2]);
    expect(Array.from(run(vjp(f, [0]), [x, exact(f32([2]), [1, 1])])[1]!.data)).toEqual([3, -2]);
    expect(Array.from(run(jvp(f), [x, exact(f32([2]), [1, 1])])[1]!.data)).toEqual([3, -2]);
  });

  test("a param that reaches no result gets zeros; repeated uses add up", () => {
    const f = parseFunc(`func @f(%x: f32[2], %y: f32[2]) -> (f32[2]) {
      %0 = mul %x, %x : f32[2]
      %1 = add %0, %x : f32[2]
      return %1
    }`);
    const g = run(vjp(f, [0, 1]), [exact(f32([2]), [3, -1]), exact(f32([2]), [5, 5]), exact(f32([2]), [1, 10])]);
    expect(Array.from(g[1]!.data)).toEqual([7, -10]); // (2x + 1) * ct
    expect(Array.from(g[2]!.data)).toEqual([0, 0]);
  });
});

// ---------------------------------------------------------------- the emitted IR

describe("the IR autodiff emits", () => {
  test("broadcast's VJP is a reduce_sum over the broadcast axes and a reshape", () => {
    const f = parseFunc(`func @f(%x: f32[3,1]) -> (f32[2,3,4]) {
  %0 = broadcast %x {shape = [2, 3, 4]} : f32[2,3,4]
  return %0
}`);
    expect(printFunc(vjp(f, [0]))).toBe(`func @f_vjp(%x: f32[3,1], %ct0: f32[2,3,4]) -> (f32[2,3,4], f32[3,1]) {
  %0 = broadcast %x {shape = [2, 3, 4]} : f32[2,3,4]
  %1 = reduce_sum %ct0 {axes = [0, 2]} : f32[3]
  %2 = reshape %1 {shape = [3, 1]} : f32[3,1]
  return %0, %2
}
`);
  });

  test("matmul's VJP multiplies by the other operand transposed on its last two axes, at the op's loc", () => {
    const f = parseFunc(`func @f(%a: f32[5,2,3], %b: f32[5,3,4]) -> (f32[5,2,4]) {
  %0 = matmul %a, %b : f32[5,2,4]  loc("m.ts":3:7)
  return %0
}`);
    expect(printFunc(vjp(f, [0]))).toBe(`func @f_vjp(%a: f32[5,2,3], %b: f32[5,3,4], %ct0: f32[5,2,4]) -> (f32[5,2,4], f32[5,2,3]) {
  %0 = matmul %a, %b : f32[5,2,4]  loc("m.ts":3:7)
  %1 = transpose %b {perm = [0, 2, 1]} : f32[5,4,3]  loc("m.ts":3:7)
  %2 = matmul %ct0, %1 : f32[5,2,3]  loc("m.ts":3:7)
  return %0, %2
}
`);
  });

  test("jvp adds one tangent param per param and one tangent result per result", () => {
    const f = parseFunc(`func @f(%x: f32[2], %n: i32[2]) -> (f32[2]) {
  %0 = sin %x : f32[2]
  return %0
}`);
    expect(printFunc(jvp(f))).toBe(`func @f_jvp(%x: f32[2], %n: i32[2], %dx: f32[2], %dn: i32[2]) -> (f32[2], f32[2]) {
  %0 = sin %x : f32[2]
  %1 = cos %x : f32[2]
  %2 = mul %dx, %1 : f32[2]
  return %0, %2
}
`);
  });

  test("the output of every rule verifies and parses back", () => {
    for (const op of differentiable) {
      fc.assert(
        fc.property(CASES[op]!, ({ func }) => {
          const floats = func.params.flatMap((p, i) => (isFloat(p.type.dtype) ? [i] : []));
          for (const g of [vjp(func, floats), jvp(func)]) {
            verify(g);
            expect(printFunc(parseFunc(printFunc(g)))).toBe(printFunc(g));
          }
        }),
        { numRuns: 10 },
      );
    }
  });
});
