// Autodiff of autodiff output: second (and third) derivatives of elementwise ops against their
// closed forms, and Hessian-vector products as jvp(vjp(f)).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type Func, FuncBuilder, type OpName, type Value, verify } from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import { jvp, vjp } from "../../src/passes/autodiff.js";
import { exact, f32, mulberry32, run } from "../support/gradcheck.js";

/**
 * x -> d^n f / dx^n for an elementwise f of one param: vjp applied n times, round k
 * differentiating the previous round's last result (its derivative so far) against ones. Round
 * k appends k cotangent params (one per result of round k - 1): ones for the last, zeros for
 * the others (the primal and lower derivatives).
 */
function nthDerivative(f: Func, n: number): (x: readonly number[]) => number[] {
  let g = f;
  for (let k = 0; k < n; k++) g = vjp(g, [0]);
  return (x) => {
    const type = f.params[0]!.type;
    const args = [exact(type, x)];
    for (let k = 1; k <= n; k++) {
      for (let j = 0; j < k; j++) args.push(exact(type, new Array<number>(x.length).fill(j === k - 1 ? 1 : 0)));
    }
    const out = run(g, args);
    return Array.from(out[out.length - 1]!.data);
  };
}

function unaryFunc(op: OpName, n: number): Func {
  const b = new FuncBuilder(op);
  const x = b.param(f32([n]), "x");
  return b.build([b.op(op, [x], {} as never)]);
}

/** x -> pow(x, c) with the exponent a constant. */
function powConst(c: number, n: number): Func {
  const b = new FuncBuilder("cube");
  const x = b.param(f32([n]), "x");
  const k = b.op("constant", [], { dtype: "float32", shape: [], data: Float64Array.of(c) });
  return b.build([b.op("pow", [x, b.op("broadcast", [k], { shape: [n] })], {})]);
}

/** y -> pow(c, y) with the base a constant. */
function expBase(c: number, n: number): Func {
  const b = new FuncBuilder("powy");
  const y = b.param(f32([n]), "y");
  const k = b.op("constant", [], { dtype: "float32", shape: [], data: Float64Array.of(c) });
  return b.build([b.op("pow", [b.op("broadcast", [k], { shape: [n] }), y], {})]);
}

const sech2 = (x: number) => 1 - Math.tanh(x) ** 2;
const sigma = (x: number) => 1 / (1 + Math.exp(-x));

interface Analytic {
  readonly f: (n: number) => Func;
  readonly lo: number;
  readonly hi: number;
  readonly d2: (x: number) => number;
}

const SECOND: Record<string, Analytic> = {
  sin: { f: (n) => unaryFunc("sin", n), lo: -4, hi: 4, d2: (x) => -Math.sin(x) },
  cos: { f: (n) => unaryFunc("cos", n), lo: -4, hi: 4, d2: (x) => -Math.cos(x) },
  exp: { f: (n) => unaryFunc("exp", n), lo: -3, hi: 3, d2: Math.exp },
  expm1: { f: (n) => unaryFunc("expm1", n), lo: -3, hi: 3, d2: Math.exp },
  log: { f: (n) => unaryFunc("log", n), lo: 0.2, hi: 3, d2: (x) => -1 / (x * x) },
  log1p: { f: (n) => unaryFunc("log1p", n), lo: -0.8, hi: 3, d2: (x) => -1 / (1 + x) ** 2 },
  tanh: { f: (n) => unaryFunc("tanh", n), lo: -3, hi: 3, d2: (x) => -2 * Math.tanh(x) * sech2(x) },
  logistic: {
    f: (n) => unaryFunc("logistic", n),
    lo: -4,
    hi: 4,
    d2: (x) => sigma(x) * (1 - sigma(x)) * (1 - 2 * sigma(x)),
  },
  sqrt: { f: (n) => unaryFunc("sqrt", n), lo: 0.2, hi: 3, d2: (x) => -0.25 * x ** -1.5 },
  rsqrt: { f: (n) => unaryFunc("rsqrt", n), lo: 0.2, hi: 3, d2: (x) => 0.75 * x ** -2.5 },
  erf: { f: (n) => unaryFunc("erf", n), lo: -2.5, hi: 2.5, d2: (x) => (-4 * x * Math.exp(-x * x)) / Math.sqrt(Math.PI) },
  // x^3 through pow, the exponent a constant; zero is in range (the rule must stay finite there).
  "pow(x, 3)": { f: (n) => powConst(3, n), lo: -2, hi: 2, d2: (x) => 6 * x },
  // 2.5^y: d2/dy2 = 2.5^y ln(2.5)^2.
  "pow(2.5, y)": { f: (n) => expBase(2.5, n), lo: -2, hi: 2, d2: (y) => 2.5 ** y * Math.log(2.5) ** 2 },
};

// Constants in the rules are stored in the dtype (2 / sqrt(pi) as a float32 is off by 5e-8), so
// closed forms agree to that relative precision, not to float64 roundoff.
const closeTo = (a: number, b: number): boolean => Math.abs(a - b) <= 2e-7 * Math.max(1, Math.abs(b));

describe("second derivatives by vjp of vjp", () => {
  for (const [name, { f, lo, hi, d2 }] of Object.entries(SECOND)) {
    test(name, () => {
      fc.assert(
        fc.property(fc.array(fc.double({ min: lo, max: hi, noNaN: true }), { minLength: 1, maxLength: 5 }), (xs) => {
          const func = f(xs.length);
          const got = nthDerivative(func, 2)(xs);
          xs.forEach((x, i) => {
            if (!closeTo(got[i]!, d2(x))) {
              throw new Error(`f''(${x}) = ${d2(x)}, autodiff gives ${got[i]}\n${printFunc(vjp(vjp(func, [0]), [0]))}`);
            }
          });
        }),
        { numRuns: 30 },
      );
    });
  }

  test("x^2 at x = 0 has second derivative 2, with no NaN from the pow rule", () => {
    expect(nthDerivative(powConst(2, 3), 2)([0, 1, -1])).toEqual([2, 2, 2]);
  });

  test("third derivatives by vjp three times: sin''' = -cos, exp''' = exp", () => {
    const xs = [-1.5, 0, 0.7, 2];
    nthDerivative(unaryFunc("sin", 4), 3)(xs).forEach((v, i) => expect(v).toBeCloseTo(-Math.cos(xs[i]!), 12));
    nthDerivative(unaryFunc("exp", 4), 3)(xs).forEach((v, i) => expect(v).toBeCloseTo(Math.exp(xs[i]!), 12));
  });
});

// ---------------------------------------------------------------- Hessian-vector products

/**
 * H v for the first param of a scalar func f, as jvp(vjp(f, [0])): the tangent of the gradient
 * along `dirs` (one direction per param of f; the cotangent's tangent is 0).
 */
function hvp(f: Func, inputs: readonly number[][], dirs: readonly number[][]): number[] {
  const g = vjp(f, [0]);
  const h = jvp(g);
  verify(h);
  const primal = [...f.params.map((p, i) => exact(p.type, inputs[i]!)), exact(f.results[0]!.type, [1])];
  const tangents = [...f.params.map((p, i) => exact(p.type, dirs[i]!)), exact(f.results[0]!.type, [0])];
  const out = run(h, [...primal, ...tangents]);
  // h's results: f, grad, df, dgrad.
  return Array.from(out[3]!.data);
}

/** The gradient of f's first param (first-order vjp, already checked against finite differences). */
function gradient(f: Func, inputs: readonly number[][]): number[] {
  const args = [...f.params.map((p, i) => exact(p.type, inputs[i]!)), exact(f.results[0]!.type, [1])];
  return Array.from(run(vjp(f, [0]), args)[1]!.data);
}

const sumAll = (b: FuncBuilder, v: Value): Value =>
  b.op("reduce_sum", [v], { axes: v.type.shape.map((_, i) => i) });

describe("Hessian-vector products by jvp of vjp", () => {
  test("f(x) = sum(x * (A x)) has H v = (A + Aᵀ) v", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer(), (n, seed) => {
        const rng = mulberry32(seed);
        const b = new FuncBuilder("quad");
        const x = b.param(f32([n, 1]), "x");
        const a = b.param(f32([n, n]), "A");
        const f = b.build([sumAll(b, b.op("mul", [x, b.op("matmul", [a, x], {})], {}))]);
        const xs = Array.from({ length: n }, () => rng() * 4 - 2);
        const as = Array.from({ length: n * n }, () => rng() * 4 - 2);
        const v = Array.from({ length: n }, () => rng() * 2 - 1);
        const want = Array.from({ length: n }, (_, i) => {
          let s = 0;
          for (let j = 0; j < n; j++) s += (as[i * n + j]! + as[j * n + i]!) * v[j]!;
          return s;
        });
        const got = hvp(f, [xs, as], [v, new Array<number>(n * n).fill(0)]);
        got.forEach((g, i) => expect(closeTo(g, want[i]!), `H v [${i}]: ${g} against ${want[i]}`).toBe(true));
      }),
      { numRuns: 30 },
    );
  });

  test("f(x) = sum(tanh(x) * exp(x)) has the diagonal Hessian e^x (t + 2 s - 2 t s), t = tanh x, s = 1 - t^2", () => {
    const n = 4;
    const b = new FuncBuilder("diag");
    const x = b.param(f32([n]), "x");
    const f = b.build([sumAll(b, b.op("mul", [b.op("tanh", [x], {}), b.op("exp", [x], {})], {}))]);
    const xs = [-1.2, 0, 0.4, 1.7];
    const v = [0.5, -1, 2, 0.25];
    const got = hvp(f, [xs], [v]);
    xs.forEach((xi, i) => {
      const [t, s] = [Math.tanh(xi), sech2(xi)];
      expect(got[i]).toBeCloseTo(Math.exp(xi) * (t + 2 * s - 2 * t * s) * v[i]!, 12);
    });
  });

  test("f(x, W) = sum(logistic(W x)): the tangent of the gradient matches differences of the gradient", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (m, n, seed) => {
        const rng = mulberry32(seed);
        const b = new FuncBuilder("net");
        const x = b.param(f32([n, 1]), "x");
        const w = b.param(f32([m, n]), "W");
        const f = b.build([sumAll(b, b.op("logistic", [b.op("matmul", [w, x], {})], {}))]);
        const rand = (k: number) => Array.from({ length: k }, () => rng() * 4 - 2);
        const [xs, ws, dx, dw] = [rand(n), rand(m * n), rand(n), rand(m * n)];
        const got = hvp(f, [xs, ws], [dx, dw]);
        const eps = 1e-6;
        const at = (h: number) => gradient(f, [xs.map((v, i) => v + h * dx[i]!), ws.map((v, i) => v + h * dw[i]!)]);
        const [plus, minus] = [at(eps), at(-eps)];
        got.forEach((g, i) => {
          const fd = (plus[i]! - minus[i]!) / (2 * eps);
          expect(Math.abs(g - fd), `[${i}]: ${g} against ${fd}`).toBeLessThan(1e-6);
        });
      }),
      { numRuns: 30 },
    );
  });
});
