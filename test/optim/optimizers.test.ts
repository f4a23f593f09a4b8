import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectClose, expectError, vals } from "../frontend/support.js";

const { optim } = sm;
const f32 = (data: sm.NestedData): sm.Array => sm.array(data, { dtype: "float32" });
const leaf = (tree: sm.nn.Params, key: string): sm.Array => tree[key] as sm.Array;

/** Runs `apply` once per gradient, from `init`, on the single parameter `w`. */
function run(opt: sm.optim.Optimizer, w: number[], grads: number[][]): [number[], sm.optim.OptimizerState] {
  let params: sm.nn.Params = { w: f32(w) };
  let state = opt.init(params);
  for (const g of grads) [params, state] = opt.apply(params, { w: f32(g) }, state);
  return [vals(leaf(params, "w")), state];
}

describe("SGD", () => {
  test("momentum and weight decay, two steps", () => {
    // lr 0.1, momentum 0.9, weightDecay 0.01, p = [1, 2], the gradient [0.5, -1] both times.
    // Step 1: g = [0.5 + 0.01, -1 + 0.02] = [0.51, -0.98]; v = g; p = [1 - 0.051, 2 + 0.098] = [0.949, 2.098].
    // Step 2: g = [0.5 + 0.00949, -1 + 0.02098] = [0.50949, -0.97902];
    //   v = 0.9 [0.51, -0.98] + g = [0.459 + 0.50949, -0.882 - 0.97902] = [0.96849, -1.86102];
    //   p = [0.949 - 0.096849, 2.098 + 0.186102] = [0.852151, 2.284102].
    const opt = new optim.SGD({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.01 });
    const [one] = run(opt, [1, 2], [[0.5, -1]]);
    expectClose(one, [0.949, 2.098], 1e-6);
    const [two, state] = run(opt, [1, 2], [[0.5, -1], [0.5, -1]]);
    expectClose(two, [0.852151, 2.284102], 1e-6);
    expectClose(vals((state.params["w"] as sm.nn.Params)["v"] as sm.Array), [0.96849, -1.86102], 1e-6);
    expect(state.step.item()).toBe(2);
    expect(state.step.dtype).toBe("int32");
  });

  test("Nesterov: p -= lr * (g + momentum * v)", () => {
    // v = g = [0.5, -1]; the step is 1.9 g = [0.95, -1.9]; p = [1 - 0.095, 2 + 0.19].
    const [p] = run(new optim.SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true }), [1, 2], [[0.5, -1]]);
    expectClose(p, [0.905, 2.19], 1e-6);
  });

  test("without momentum: p -= lr * g and no per-parameter state", () => {
    const [p, state] = run(new optim.SGD({ learningRate: 0.5 }), [1, 2], [[0.5, -1], [1, 1]]);
    // [1 - 0.25 - 0.5, 2 + 0.5 - 0.5]
    expectClose(p, [0.25, 2]);
    expect(state.params).toEqual({ w: {} });
  });

  test("a learning-rate schedule receives the number of updates done", () => {
    const seen: number[] = [];
    const lr = (step: sm.Array) => {
      seen.push(step.item());
      return sm.div(1, step.add(1));
    };
    // Rates 1, 1/2, 1/3 on the gradient 6: 10 - 6 - 3 - 2.
    const [p] = run(new optim.SGD({ learningRate: lr }), [10], [[6], [6], [6]]);
    expectClose(p, [-1]);
    expect(seen).toEqual([0, 1, 2]);
  });

  test("bad options are errors", () => {
    expectError(() => new optim.SGD({ learningRate: 0.1, nesterov: true }), sm.SmeltError, "optim.SGD", ["nesterov"]);
    expectError(() => new optim.SGD({ learningRate: 0.1, momentum: -1 }), sm.SmeltError, "optim.SGD", ["momentum", "-1"]);
    expectError(() => new optim.SGD({ learningRate: Number.NaN }), sm.SmeltError, "optim.SGD", ["learningRate"]);
  });
});

describe("Adam", () => {
  test("two steps with bias correction", () => {
    // lr 0.01, betas [0.9, 0.999], eps 1e-8, p = [1, -2].
    // Step 1, g = [0.5, -0.25]: m = 0.1 g = [0.05, -0.025], v = 0.001 g^2 = [0.00025, 0.0000625];
    //   m / (1 - 0.9) = g, sqrt(v / (1 - 0.999)) = |g|, so p -= 0.01 * g / (|g| + 1e-8): [0.99, -1.99].
    // Step 2, g = [0.1, 0.3]: m = 0.9 [0.05, -0.025] + 0.1 g = [0.055, 0.0075];
    //   v = 0.999 [0.00025, 0.0000625] + 0.001 g^2 = [0.00025975, 0.0001524375];
    //   1 - 0.9^2 = 0.19, 1 - 0.999^2 = 0.001999;
    //   m / 0.19 = [0.28947368, 0.03947368], sqrt(v / 0.001999) = [0.36047187, 0.27614648];
    //   steps 0.01 * [0.28947368 / 0.36047187, 0.03947368 / 0.27614648] = [0.00803041, 0.00142945];
    //   p = [0.99 - 0.00803041, -1.99 - 0.00142945] = [0.98196959, -1.99142945].
    const opt = new optim.Adam({ learningRate: 0.01 });
    const [one] = run(opt, [1, -2], [[0.5, -0.25]]);
    expectClose(one, [0.99, -1.99], 1e-6);
    const [two, state] = run(opt, [1, -2], [[0.5, -0.25], [0.1, 0.3]]);
    expectClose(two, [0.98196959, -1.99142945], 1e-6);
    const slot = state.params["w"] as sm.nn.Params;
    expectClose(vals(slot["m"] as sm.Array), [0.055, 0.0075], 1e-6);
    expectClose(vals(slot["v"] as sm.Array), [0.00025975, 0.0001524375], 1e-6);
  });

  test("betas and eps are used", () => {
    // betas [0.5, 0.5], eps 1: m = 0.5 g, v = 0.5 g^2; corrected: g and |g| = 2;
    // p -= 1 * 2 / (2 + 1): 1 - 2/3.
    const [p] = run(new optim.Adam({ learningRate: 1, betas: [0.5, 0.5], eps: 1 }), [1], [[2]]);
    expectClose(p, [1 / 3]);
  });
});

describe("AdamW", () => {
  test("decoupled weight decay, then the Adam step", () => {
    // lr 0.01, weightDecay 0.1: p = [1, -2] * (1 - 0.001) = [0.999, -1.998]; the Adam step of
    // the first update is -0.01 * sign(g): [0.999 - 0.01, -1.998 + 0.01] = [0.989, -1.988].
    const [p] = run(new optim.AdamW({ learningRate: 0.01, weightDecay: 0.1 }), [1, -2], [[0.5, -0.25]]);
    expectClose(p, [0.989, -1.988], 1e-6);
  });

  test("the default decay is 0.01", () => {
    // p = 1 * (1 - 0.1 * 0.01) - 0.1 = 0.899.
    const [p] = run(new optim.AdamW({ learningRate: 0.1 }), [1], [[3]]);
    expectClose(p, [0.899], 1e-6);
  });
});

describe("Optimizer", () => {
  test("update(model, grads) steps the trainable parameters and keeps the state", () => {
    const model = new sm.nn.Linear(2, 1);
    model.update({ weight: f32([[1, 2]]), bias: f32([0]) });
    model.freeze(["bias"]);
    const bias = model.bias;
    const opt = new optim.SGD({ learningRate: 0.5 });
    expectError(() => opt.state, sm.SmeltError, "SGD.state", ["init"]);
    opt.update(model, { weight: f32([[1, -1]]) });
    opt.update(model, { weight: f32([[1, -1]]) });
    expectClose(vals(model.weight), [0, 3]);
    expect(model.bias).toBe(bias);
    expect(opt.state.step.item()).toBe(2);
    expect(Object.keys(opt.state.params)).toEqual(["weight"]);
  });

  test("apply is pure: inputs and the optimizer's state are unchanged", () => {
    const opt = new optim.Adam({ learningRate: 0.1 });
    const params = { w: f32([1, 2]) };
    const state = opt.init(params);
    const [next] = opt.apply(params, { w: f32([1, 1]) }, state);
    opt.apply(next, { w: f32([1, 1]) }, state);
    expect(opt.state).toBe(state);
    expect(state.step.item()).toBe(0);
    expect(vals(params.w)).toEqual([1, 2]);
  });

  test("float16 parameters stay float16", () => {
    const params = { w: sm.array([1, 2], { dtype: "float16" }) };
    const opt = new optim.Adam({ learningRate: 0.1 });
    const [next] = opt.apply(params, { w: sm.array([1, -1], { dtype: "float16" }) }, opt.init(params));
    expect(leaf(next, "w").dtype).toBe("float16");
  });

  test("gradients or state of another structure are errors", () => {
    const opt = new optim.SGD({ learningRate: 0.1, momentum: 0.5 });
    const params = { a: f32([1]), b: [f32([2])] };
    const state = opt.init(params);
    expectError(() => opt.apply(params, { a: f32([1]) }, state), sm.SmeltError, "SGD.apply", ['{"a":*}', '{"a":*,"b":[*]}']);
    const other = opt.init({ a: f32([1]) });
    expectError(() => opt.apply(params, { a: f32([1]), b: [f32([1])] }, other), sm.SmeltError, "SGD.apply", ["params.b[0]"]);
  });
});
