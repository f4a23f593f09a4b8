import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { checkGrad } from "../../src/testing/index.js";
import { expectClose, expectError, vals } from "../frontend/support.js";

const { nn } = sm;

/** `fn` of the model's trainable parameters (put into the model for the call), for checkGrad. */
function ofParams(model: sm.nn.Module, fn: (x: sm.Array) => sm.Array) {
  return (params: sm.nn.Params, x: sm.Array): sm.Array => {
    const saved = model.trainableParameters();
    model.update(params);
    try {
      return fn(x);
    } finally {
      model.update(saved);
    }
  };
}

describe("Linear", () => {
  test("forward is x @ W.T + b", () => {
    const lin = new nn.Linear(3, 2);
    lin.update({ weight: sm.array([[1, 0, -1], [2, 1, 0.5]]), bias: sm.array([0.5, -1]) });
    const x = sm.array([[1, 2, 3], [-1, 0, 4]]);
    // Row 1: [1-3+0.5, 2+2+1.5-1] = [-1.5, 4.5]; row 2: [-1-4+0.5, -2+0+2-1] = [-4.5, -1].
    expect(lin.forward(x).shape).toEqual([2, 2]);
    expectClose(vals(lin.forward(x)), [-1.5, 4.5, -4.5, -1]);
    // A single vector and a batch of batches.
    expectClose(vals(lin.forward(sm.array([1, 2, 3]))), [-1.5, 4.5]);
    expect(lin.forward(sm.zeros([4, 5, 3])).shape).toEqual([4, 5, 2]);
  });

  test("without bias", () => {
    const lin = new nn.Linear(2, 1, { bias: false });
    lin.update({ weight: sm.array([[3, -2]]) });
    expectClose(vals(lin.forward(sm.array([[1, 1], [2, 0.5]]))), [1, 5]);
  });

  test("initialization: shapes, uniform in [-1/sqrt(in), 1/sqrt(in)], reproducible with seed", () => {
    sm.random.seed(3);
    const a = new nn.Linear(16, 64);
    sm.random.seed(3);
    const b = new nn.Linear(16, 64);
    expect(a.weight.shape).toEqual([64, 16]);
    expect(a.bias!.shape).toEqual([64]);
    expect(vals(a.weight)).toEqual(vals(b.weight));
    const w = vals(a.weight);
    const k = 1 / 4;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(k);
    // 1024 uniform draws: both halves of the range are used, the mean is near 0.
    expect(Math.max(...w)).toBeGreaterThan(0.9 * k);
    expect(Math.min(...w)).toBeLessThan(-0.9 * k);
    expect(Math.abs(w.reduce((s, x) => s + x, 0) / w.length)).toBeLessThan(0.02);
    expect(Math.max(...vals(a.bias!).map(Math.abs))).toBeLessThanOrEqual(k);
  });

  test("bad sizes are errors at the caller's line", () => {
    expectError(() => new nn.Linear(0, 2), sm.ShapeError, "nn.Linear", ["inDims", "got 0"]);
    expectError(() => new nn.Linear(2, 1.5), sm.ShapeError, "nn.Linear", ["outDims"]);
  });

  test("checkGrad with respect to weight, bias and input", () => {
    sm.random.seed(1);
    const lin = new nn.Linear(3, 2);
    const x = sm.random.normal([4, 3]);
    const c = sm.random.normal([4, 2]);
    const f = ofParams(lin, (xx) => sm.sum(lin.forward(xx).mul(c)));
    checkGrad(f, [lin.trainableParameters(), x]);
  });
});

describe("Dropout", () => {
  const x = sm.arange(1, 20001).astype("float32");

  test("training: about p of the elements zeroed, the others scaled by 1/(1-p)", () => {
    const drop = new nn.Dropout(0.25);
    const key = sm.random.key(7);
    const y = vals(drop.forward(x, { key }));
    const xs = vals(x);
    const zeros = y.filter((v) => v === 0).length / y.length;
    // 20000 Bernoulli(0.25) draws: standard deviation of the fraction about 0.003.
    expect(Math.abs(zeros - 0.25)).toBeLessThan(0.015);
    y.forEach((v, i) => {
      if (v !== 0) expect(v).toBeCloseTo(xs[i]! / 0.75, 2);
    });
  });

  test("the same key gives the same mask, another key another mask", () => {
    const drop = new nn.Dropout(0.5);
    const a = vals(drop.forward(x, { key: sm.random.key(1) }));
    const b = vals(drop.forward(x, { key: sm.random.key(1) }));
    const c = vals(drop.forward(x, { key: sm.random.key(2) }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  test("identity in evaluation mode and with p = 0", () => {
    expect(new nn.Dropout(0.5).eval().forward(x)).toBe(x);
    expect(new nn.Dropout(0).forward(x)).toBe(x);
    const seq = new nn.Sequential(new nn.Dropout(0.9));
    seq.train(false);
    expect(seq.forward(x)).toBe(x);
  });

  test("p outside [0, 1) is an error", () => {
    expectError(() => new nn.Dropout(1), sm.SmeltError, "nn.Dropout", ["[0, 1)", "got 1"]);
    expectError(() => new nn.Dropout(-0.1), sm.SmeltError, "nn.Dropout", ["got -0.1"]);
  });
});

describe("Sequential", () => {
  test("applies its layers in order, functions included", () => {
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 1);
    a.update({ weight: sm.array([[1, -1], [0.5, 2]]), bias: sm.array([0, -3]) });
    b.update({ weight: sm.array([[1, 2]]), bias: sm.array([0.25]) });
    const model = new nn.Sequential(a, nn.relu, b);
    const x = sm.array([[3, 1], [1, 1]]);
    // a: [[3-1, 1.5+2-3], [1-1, 0.5+2-3]] = [[2, 0.5], [0, -0.5]]; relu: [[2, 0.5], [0, 0]];
    // b: [[2+1+0.25], [0.25]].
    expectClose(vals(model.forward(x)), [3.25, 0.25]);
  });
});

describe("activations", () => {
  test("relu", () => {
    expect(vals(nn.relu(sm.array([-2, -1e-3, 0, 0.5, 3])))).toEqual([0, 0, 0, 0.5, 3]);
  });

  test("gelu is x * Phi(x) (exact)", () => {
    // Standard normal CDF values from tables: Phi(1) = 0.8413447461, Phi(2) = 0.9772498681,
    // Phi(-0.5) = 0.3085375387, Phi(-3) = 0.0013498980.
    const x = [0, 1, 2, -0.5, -3];
    const phi = [0.5, 0.8413447461, 0.9772498681, 0.3085375387, 0.001349898];
    expectClose(vals(nn.gelu(sm.array(x))), x.map((v, i) => v * phi[i]!), 1e-6);
  });

  test("checkGrad of relu (away from 0) and gelu", () => {
    const x = sm.array([-2, -0.7, 0.3, 1.5, 4]);
    checkGrad((a: sm.Array) => sm.sum(nn.relu(a).mul(sm.array([1, 2, 3, 4, 5]))), [x]);
    checkGrad((a: sm.Array) => sm.sum(nn.gelu(a).mul(sm.array([1, -2, 3, 0.5, 1]))), [x]);
  });
});
