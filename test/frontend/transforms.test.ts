// grad, valueAndGrad, vjp and jvp: composites checked against float64 finite differences
// (property tests with checkGrad), second derivatives against their closed forms, a
// Hessian-vector product against a hand-computed Hessian, every composition with compile, and
// the errors a user can cause.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { arrays, broadcastableShapes, checkGrad, shapes } from "../../src/testing/index.js";
import { expectClose, expectError, vals } from "./support.js";

const NUM_RUNS = 25;
const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Fixed, varied weights of a shape, so that a weighted sum of a result has a non-trivial gradient. */
const weights = (shape: readonly number[]): sm.Array =>
  sm.cos(sm.arange(sizeOf(shape)).astype("float32").mul(1.3)).mul(1.5).reshape([...shape]);

/** An axis of an array of rank `ndim` (>= 1), from any integer. */
const axisOf = (k: number, ndim: number): number => (k % ndim) - (k % 2 === 0 ? 0 : ndim);

/** The smallest spread (max - min) of `x` along `axis`: tells inputs near a kink of std or layernorm. */
const minSpread = (x: sm.Array, axis: number): number => sm.min(sm.max(x, axis).sub(sm.min(x, axis))).item();

describe("gradients of composites match finite differences", () => {
  const check = <T>(p: fc.IProperty<T>) => fc.assert(p, { numRuns: NUM_RUNS });

  test("softmax, logSoftmax, logsumexp along any axis", () => {
    check(fc.property(arrays({ minDims: 1, maxDims: 3, maxSide: 3, min: -4, max: 4 }), fc.nat(5), (x, k) => {
      const axis = axisOf(k, x.ndim);
      checkGrad((x: sm.Array) => sm.sum(sm.softmax(x, axis).mul(weights(x.shape))), [x]);
      checkGrad((x: sm.Array) => sm.sum(sm.logSoftmax(x, axis).mul(weights(x.shape))), [x]);
      checkGrad((x: sm.Array) => sm.sum(sm.logsumexp(x, axis)), [x]);
    }));
  });

  test("cross-entropy: logsumexp minus the logits picked by takeAlongAxis, averaged", () => {
    const batch = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 5 }))
      .chain(([n, c]) =>
        fc.tuple(arrays({ shape: [n, c], min: -5, max: 5 }), fc.array(fc.nat(c - 1), { minLength: n, maxLength: n })),
      );
    const crossEntropy = (logits: sm.Array, targets: sm.Array) =>
      sm.mean(sm.logsumexp(logits, 1).sub(sm.takeAlongAxis(logits, targets.expandDims(1), 1).squeeze(1)));
    check(fc.property(batch, ([logits, t]) => checkGrad(crossEntropy, [logits, sm.array(t, { dtype: "int32" })])));
  });

  test("layernorm written with ops (input, scale and shift)", () => {
    const layerNorm = (x: sm.Array, gamma: sm.Array, beta: sm.Array) => {
      const mu = sm.mean(x, { axis: -1, keepdims: true });
      const v = sm.var(x, { axis: -1, keepdims: true });
      const y = x.sub(mu).mul(sm.rsqrt(v.add(1e-5))).mul(gamma).add(beta);
      return sm.sum(y.mul(weights(y.shape)));
    };
    const args = fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }))
      .chain(([n, d]) => fc.tuple(arrays({ shape: [n, d], min: -3, max: 3 }), arrays({ shape: [d] }), arrays({ shape: [d] })));
    check(fc.property(args, ([x, gamma, beta]) => {
      fc.pre(minSpread(x, -1) > 0.2);
      checkGrad(layerNorm, [x, gamma, beta]);
    }));
  });

  test("matmul chains, batched and with 1-D operands", () => {
    const dims = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 });
    const args = dims.chain(([m, k, n, p]) =>
      fc.tuple(
        arrays({ shape: [2, m!, k!], min: -2, max: 2 }),
        arrays({ shape: [k!, n!], min: -2, max: 2 }),
        arrays({ shape: [n!, p!], min: -2, max: 2 }),
        arrays({ shape: [p!], min: -2, max: 2 }),
      ),
    );
    check(fc.property(args, ([a, b, c, v]) => {
      checkGrad((a: sm.Array, b: sm.Array, c: sm.Array, v: sm.Array) => sm.sum(sm.tanh(a.matmul(b)).matmul(c).matmul(v)), [a, b, c, v]);
    }));
  });

  test("take and scatterAdd (repeated indices add up)", () => {
    const args = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }))
      .chain(([n, m, k]) =>
        fc.tuple(
          arrays({ shape: [n, m], min: -3, max: 3 }),
          arrays({ shape: [k, m], min: -3, max: 3 }),
          fc.array(fc.nat(n - 1), { minLength: k, maxLength: k }),
        ),
      );
    check(fc.property(args, ([x, u, idx]) => {
      checkGrad((x: sm.Array) => sm.sum(sm.take(x, idx, 0).mul(weights([idx.length, x.shape[1]!]))), [x]);
      checkGrad((x: sm.Array, u: sm.Array) => sm.sum(sm.square(sm.scatterAdd(x, idx, u, 0))), [x, u]);
    }));
  });

  test("where with a broadcast condition and broadcast branches", () => {
    // Each operand's dims are the base's or 1, so the three broadcast together.
    const args = shapes({ maxDims: 3, minSide: 2, maxSide: 3 }).chain((base) => {
      const shape = broadcastableShapes(base, { maxDims: base.length });
      return fc.tuple(
        arrays({ shape, min: -3, max: 3 }),
        arrays({ shape, min: -3, max: 3 }),
        arrays({ shape, dtype: "bool" }),
      );
    });
    check(fc.property(args, ([a, b, cond]) => {
      checkGrad((a: sm.Array, b: sm.Array) => sm.sum(sm.where(cond, a.mul(a), sm.sin(b)).mul(2)), [a, b]);
    }));
  });

  test("mean, var and std along an axis (ddof 0 and 1)", () => {
    check(fc.property(arrays({ minDims: 2, maxDims: 2, minSide: 2, maxSide: 4, min: -3, max: 3 }), (x) => {
      fc.pre(minSpread(x, 0) > 0.2);
      checkGrad((x: sm.Array) => sm.sum(sm.mean(x, 1).mul(sm.var(x, { axis: 1 }))), [x]);
      checkGrad((x: sm.Array) => sm.sum(sm.std(x, { axis: 0, ddof: 1 })).add(sm.var(x, { ddof: 1 })), [x]);
    }));
  });

  test("broadcasting binary ops over broadcastable shapes", () => {
    type Binary = (a: sm.Array, b: sm.Array) => sm.Array;
    const cases: [string, Binary, { min: number; max: number }, { min: number; max: number }][] = [
      ["add", sm.add, { min: -3, max: 3 }, { min: -3, max: 3 }],
      ["sub", sm.sub, { min: -3, max: 3 }, { min: -3, max: 3 }],
      ["mul", sm.mul, { min: -3, max: 3 }, { min: -3, max: 3 }],
      ["div", sm.div, { min: -3, max: 3 }, { min: 0.5, max: 3 }],
      ["pow", sm.pow, { min: 0.5, max: 2 }, { min: -2, max: 2 }],
      ["maximum", sm.maximum, { min: -3, max: 3 }, { min: -3, max: 3 }],
    ];
    for (const [name, op, ra, rb] of cases) {
      const args = arrays({ maxDims: 3, maxSide: 3, ...ra }).chain((a) =>
        fc.tuple(fc.constant(a), arrays({ shape: broadcastableShapes(a.shape), ...rb })),
      );
      check(fc.property(args, ([a, b]) => {
        // maximum has a kink where the operands tie
        if (name === "maximum") fc.pre(sm.min(sm.abs(a.sub(b))).item() > 0.01);
        const f = (a: sm.Array, b: sm.Array) => {
          const r = op(a, b);
          return sm.sum(r.mul(weights(r.shape)));
        };
        checkGrad(f, [a, b]);
      }));
    }
  });
});

describe("second derivatives", () => {
  const xs = [-1.5, -0.3, 0.4, 1.2];
  const x = sm.array(xs);
  /** The elementwise second derivative of `f`, as grad(grad(f)). */
  const second = (f: (x: sm.Array) => sm.Array) => sm.grad((x: sm.Array) => sm.sum(sm.grad((y: sm.Array) => sm.sum(f(y)))(x)));

  test("sin, exp, tanh, x^3 against their closed forms", () => {
    expectClose(vals(second(sm.sin)(x)), xs.map((v) => -Math.sin(v)), 1e-6);
    expectClose(vals(second(sm.exp)(x)), xs.map(Math.exp), 1e-6);
    expectClose(vals(second(sm.tanh)(x)), xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)), 1e-6);
    expectClose(vals(second((y) => y.mul(y).mul(y))(x)), xs.map((v) => 6 * v), 1e-6);
  });

  test("the scalar form: grad(grad(f)) of a function of a 0-d array", () => {
    const d2 = sm.grad(sm.grad((y: sm.Array) => sm.pow(y, 3)));
    expect(d2(sm.array(2, { dtype: "float32" })).item()).toBeCloseTo(12, 5);
    // a number argument is differentiated as a float32 scalar
    expect((d2 as unknown as (y: number) => sm.Array)(0.5).item()).toBeCloseTo(3, 5);
  });

  test("a Hessian-vector product, jvp(grad(f)), for a quadratic", () => {
    // f(x) = x . (M x): the Hessian is M + M^T = [[2,3,0],[3,4,1],[0,1,-2]].
    const m = sm.array([
      [1, 3, 0],
      [0, 2, 1],
      [0, 0, -1],
    ]).astype("float32");
    const f = (x: sm.Array) => sm.sum(x.mul(m.matmul(x)));
    const x0 = sm.array([1, 2, 3], { dtype: "float32" });
    const [g, hv] = sm.jvp(sm.grad(f), [x0], [sm.array([1, -1, 2], { dtype: "float32" })]);
    expect(g.tolist()).toEqual([8, 14, -4]); // H x0
    expect(hv.tolist()).toEqual([-1, 1, -5]); // H v
  });

  test("a closure over the argument of an enclosing grad is differentiated through", () => {
    // d/da of (d/db of a*b at b = 1) = d/da of a = 1; and d/da of (d/db of a*b^2 at b) = 2b.
    const inner = (a: sm.Array) => sm.grad((b: sm.Array) => sm.sum(a.mul(b)))(sm.ones([2]));
    expect(sm.grad((a: sm.Array) => sm.sum(inner(a)))(sm.array([3, 4], { dtype: "float32" })).tolist()).toEqual([1, 1]);
    const inner2 = (a: sm.Array, b: sm.Array) => sm.grad((b: sm.Array) => sm.sum(a.mul(b).mul(b)))(b);
    const b = sm.array([0.5, -2], { dtype: "float32" });
    expect(sm.grad((a: sm.Array) => sm.sum(inner2(a, b)))(sm.array([3, 4], { dtype: "float32" })).tolist()).toEqual([1, -4]);
  });
});

describe("composition with compile", () => {
  type Params = { w1: sm.Array; b1: sm.Array; w2: sm.Array; b2: sm.Array };
  const mlpLoss = (p: Params, x: sm.Array, y: sm.Array) =>
    sm.mean(sm.square(sm.tanh(x.matmul(p.w1).add(p.b1)).matmul(p.w2).add(p.b2).sub(y)));
  const batch = (seed: number) => ({
    x: sm.sin(sm.arange(15).astype("float32").mul(0.7 + seed)).reshape([5, 3]),
    y: sm.cos(sm.arange(10).astype("float32").mul(0.3 + seed)).reshape([5, 2]),
  });
  const params: Params = {
    w1: sm.sin(sm.arange(12).astype("float32")).mul(0.5).reshape([3, 4]),
    b1: sm.array([0.1, -0.2, 0.05, 0], { dtype: "float32" }),
    w2: sm.cos(sm.arange(8).astype("float32")).mul(0.5).reshape([4, 2]),
    b2: sm.array([0.3, -0.1], { dtype: "float32" }),
  };

  test("a compiled training step of a 2-layer MLP equals the uncompiled one and traces once", () => {
    const step = sm.compile(sm.valueAndGrad(mlpLoss));
    for (const seed of [0, 1, 2]) {
      const { x, y } = batch(seed);
      const [loss, grads] = step(params, x, y);
      const [eagerLoss, eagerGrads] = sm.valueAndGrad(mlpLoss)(params, x, y);
      expect(Object.keys(grads)).toEqual(["w1", "b1", "w2", "b2"]);
      expectClose(vals(loss), vals(eagerLoss), 1e-6);
      for (const k of ["w1", "b1", "w2", "b2"] as const) {
        expect(grads[k].shape).toEqual(params[k].shape);
        expectClose(vals(grads[k]), vals(eagerGrads[k]), 1e-6);
      }
      checkGrad(mlpLoss, [params, x, y], { argnums: 0 });
    }
    expect(step.traceCount).toBe(1);
    // The gradient ops are part of the one traced function.
    const ir = step.lower(params, batch(0).x, batch(0).y).ir();
    expect(ir).toContain("tanh");
    expect(ir).toContain("transpose");
  });

  test("grad(compile(f)) equals grad(f)", () => {
    const f = (x: sm.Array) => sm.sum(sm.exp(x).mul(sm.sin(x)));
    const x = sm.array([0.3, -1.2, 2], { dtype: "float32" });
    expectClose(vals(sm.grad(sm.compile(f))(x)), vals(sm.grad(f)(x)), 0);
    expectClose(vals(sm.grad(f)(x)), [0.3, -1.2, 2].map((v) => Math.exp(v) * (Math.sin(v) + Math.cos(v))), 1e-6);
  });

  test("grad inside a compiled function, closing over the compiled function's arguments", () => {
    const step = sm.compile((w: sm.Array, x: sm.Array) => sm.grad((w: sm.Array) => sm.sum(sm.square(x.matmul(w))))(w));
    const x = sm.array([[1, 2]], { dtype: "float32" });
    // d/dw of (x w)^2 summed = 2 x^T (x w): with w = [[1], [-1]], x w = -1
    expect(step(sm.array([[1], [-1]], { dtype: "float32" }), x).tolist()).toEqual([[-2], [-4]]);
    expect(step.traceCount).toBe(1);
  });
});

describe("grad and valueAndGrad", () => {
  const x = sm.array([1, 2, 3], { dtype: "float32" });
  const y = sm.array([0.5, -1, 2], { dtype: "float32" });

  test("argnums as a list gives a list of gradients; a number gives one", () => {
    const f = (a: sm.Array, b: sm.Array) => sm.sum(a.mul(b).add(a.square()));
    expect(sm.grad(f)(x, y).tolist()).toEqual([2.5, 3, 8]); // b + 2a
    const [ga, gb] = sm.grad(f, [0, 1])(x, y);
    expect(ga.tolist()).toEqual([2.5, 3, 8]);
    expect(gb.tolist()).toEqual([1, 2, 3]); // a
    const [gbOnly] = sm.grad(f, [1])(x, y);
    expect(gbOnly.tolist()).toEqual([1, 2, 3]);
  });

  test("tree-structured parameters give a gradient tree of the same structure (null for static leaves)", () => {
    const f = (p: { w: sm.Array; layers: sm.Array[]; scale: number; name: string }) =>
      sm.sum(p.w.mul(p.layers[0]!).mul(p.layers[1]!).mul(p.scale));
    const p = { w: x, layers: [y, sm.array([2, 2, 2], { dtype: "float32" })], scale: 3, name: "net" };
    const g = sm.grad(f)(p);
    expect(Object.keys(g)).toEqual(["w", "layers", "scale", "name"]);
    expect(g.w.tolist()).toEqual([3, -6, 12]); // 3 * y * 2
    expect(g.layers[0]!.tolist()).toEqual([6, 12, 18]);
    expect(g.layers[1]!.tolist()).toEqual([1.5, -6, 18]);
    // a number in a differentiated argument is a float32 scalar: d/dscale = sum(w * l0 * l1)
    expect(g.scale.item()).toBe(2 * (0.5 - 2 + 6));
    expect(g.name).toBeNull();
  });

  test("valueAndGrad and hasAux", () => {
    const f = (a: sm.Array) => sm.sum(a.square());
    const [v, g] = sm.valueAndGrad(f)(x);
    expect(v.item()).toBe(14);
    expect(g.tolist()).toEqual([2, 4, 6]);
    const withAux = (a: sm.Array, k: number) => [sm.sum(a.mul(k)), { doubled: a.mul(2), k }] as const;
    const [[loss, aux], grads] = sm.valueAndGrad(withAux, 0, { hasAux: true })(x, 5);
    expect(loss.item()).toBe(30);
    expect(aux.doubled.tolist()).toEqual([2, 4, 6]);
    expect(aux.k).toBe(5);
    expect(grads.tolist()).toEqual([5, 5, 5]);
    const [g2, aux2] = sm.grad(withAux, 0, { hasAux: true })(x, 5);
    expect(g2.tolist()).toEqual([5, 5, 5]);
    expect(aux2.doubled.tolist()).toEqual([2, 4, 6]);
  });

  test("an argument that does not reach the output has a zero gradient; integer arguments not differentiated pass", () => {
    const f = (a: sm.Array, b: sm.Array, idx: sm.Array) => sm.sum(sm.take(b, idx)).add(sm.sum(a).mul(0).stopGradient());
    const [ga, gb] = sm.grad(f, [0, 1])(x, y, sm.array([2, 2, 0]));
    expect(ga.tolist()).toEqual([0, 0, 0]);
    expect(gb.tolist()).toEqual([1, 0, 2]);
  });

  test("the result is lazy and composes with tidy", () => {
    const g = sm.tidy(() => sm.grad((a: sm.Array) => sm.sum(sm.exp(a)))(x));
    expectClose(vals(g), [1, 2, 3].map(Math.exp), 1e-6);
  });
});

describe("vjp and jvp", () => {
  const x = sm.array([1, 2], { dtype: "float32" });
  const f = (a: sm.Array, s: { k: sm.Array }) => ({ prod: a.mul(s.k), total: sm.sum(a.square()), n: 2 });

  test("vjp: outputs and one cotangent tree per primal (null for integer leaves)", () => {
    const k = sm.array([3, -1], { dtype: "float32" });
    const [out, [ga, gs]] = sm.vjp(f, [x, { k }], { prod: sm.array([1, 10], { dtype: "float32" }), total: 2, n: null });
    expect(out.prod.tolist()).toEqual([3, -2]);
    expect(out.total.item()).toBe(5);
    expect(out.n).toBe(2);
    // prod: ct * k; total: 2 * 2a
    expect(ga.tolist()).toEqual([1 * 3 + 4, 10 * -1 + 8]);
    expect(gs.k.tolist()).toEqual([1, 20]);
    const [, [gi]] = sm.vjp((a: sm.Array) => sm.sum(a.astype("float32")), [sm.array([1, 2])], 1);
    expect(gi).toBeNull();
  });

  test("jvp: outputs and their tangents (null for static outputs)", () => {
    const k = sm.array([3, -1], { dtype: "float32" });
    const [out, t] = sm.jvp(f, [x, { k }], [sm.array([1, 1], { dtype: "float32" }), { k: 0.5 }]);
    expect(out.total.item()).toBe(5);
    // d(a k) = da k + a dk; d(sum a^2) = 2 a . da
    expect(t.prod.tolist()).toEqual([3 + 0.5, -1 + 1]);
    expect(t.total.item()).toBe(6);
    expect(t.n).toBeNull();
  });

  test("jvp of a function closing over arrays: only the primals carry tangents", () => {
    const w = sm.array([2, 5], { dtype: "float32" });
    const [, t] = sm.jvp((a: sm.Array) => a.mul(w).add(w.square()), [x], [sm.ones([2])]);
    expect(t.tolist()).toEqual([2, 5]);
  });
});

describe("errors", () => {
  const m = sm.zeros([2, 3]);
  test("grad of a non-scalar output is a ShapeError naming the output's type", () => {
    const f = (a: sm.Array) => a.mul(2);
    expectError(() => sm.grad(f)(m), sm.ShapeError, "grad", ["@f returned f32[2,3]", "scalar", "shape []"]);
    expectError(() => sm.valueAndGrad(f)(m), sm.ShapeError, "valueAndGrad", ["f32[2,3]"]);
  });

  test("grad with respect to an integer argument is a DTypeError naming the argument", () => {
    const f = (p: { w: sm.Array; idx: sm.Array }) => sm.sum(sm.take(p.w, p.idx));
    const p = { w: sm.ones([3]), idx: sm.array([0, 2]) };
    expectError(() => sm.grad(f)(p), sm.DTypeError, "grad", ["argument p.idx", "i32[2]", "only float arguments"]);
    const g = (a: sm.Array, b: sm.Array) => sm.sum(a.mul(b));
    expectError(() => sm.grad(g, [0, 1])(m, sm.zeros([2, 3], "int32")), sm.DTypeError, "grad", ["argument b (i32[2,3])"]);
  });

  test("bad argnums, cotangents and tangents", () => {
    const f = (a: sm.Array) => sm.sum(a);
    expectError(() => sm.grad(f, 1)(m), sm.SmeltError, "grad", ["no argument 1"]);
    expectError(() => sm.vjp((a: sm.Array) => a.mul(2), [m], sm.zeros([3])), sm.ShapeError, "vjp", ["f32[3]", "[2,3]"]);
    expectError(() => sm.jvp(f, [m], [sm.zeros([2, 3], "int32")]), sm.DTypeError, "jvp", ["tangent for a", "i32[2,3]"]);
    expectError(() => sm.jvp(f, [m], []), sm.SmeltError, "jvp", ["structure"]);
  });

  test("an error inside the differentiated function keeps its own op and line", () => {
    expectError(() => sm.grad((a: sm.Array) => sm.sum(a.reshape([4])))(m), sm.ShapeError, "reshape", ["f32[2,3]"]);
  });
});
