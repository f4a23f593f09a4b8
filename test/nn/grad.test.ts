import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectClose, vals } from "../frontend/support.js";

const { nn } = sm;

// Linear(2, 1) with w = [1, -1], b = 0.5 on three points:
//   pred = [1-2+0.5, 3+0.5, -1-1+0.5] = [-0.5, 3.5, -1.5], r = pred - y = [-0.5, 2.5, -3.5]
//   mse = (0.25 + 6.25 + 12.25) / 3 = 6.25, d mse / d pred = 2r/3 = [-1/3, 5/3, -7/3]
//   d/dw = -1/3 [1, 2] + 5/3 [3, 0] - 7/3 [-1, 1] = [21/3, -9/3] = [7, -3], d/db = (-1 + 5 - 7) / 3 = -1
const f32 = (data: sm.NestedData): sm.Array => sm.array(data, { dtype: "float32" });

function fixture() {
  const model = new nn.Linear(2, 1);
  model.update({ weight: f32([[1, -1]]), bias: f32([0.5]) });
  const x = f32([[1, 2], [3, 0], [-1, 1]]);
  const y = f32([[0], [1], [2]]);
  const loss = (xb: sm.Array, yb: sm.Array) => nn.losses.mse(model.forward(xb), yb);
  return { model, x, y, loss };
}

describe("nn.valueAndGrad", () => {
  test("value and gradients with respect to the trainable parameters", () => {
    const { model, x, y, loss } = fixture();
    const [value, grads] = nn.valueAndGrad(model, loss)(x, y);
    expectClose([value.item()], [6.25], 1e-6);
    expect(Object.keys(grads)).toEqual(["weight", "bias"]);
    expectClose(vals(grads["weight"] as sm.Array), [7, -3], 1e-5);
    expectClose(vals(grads["bias"] as sm.Array), [-1], 1e-5);
  });

  test("the model's parameters are the same arrays after the call", () => {
    const { model, x, y, loss } = fixture();
    const before = model.parameters();
    nn.valueAndGrad(model, loss)(x, y);
    expect(model.weight).toBe(before["weight"]);
    expect(model.bias).toBe(before["bias"]);
    expectClose(vals(model.forward(x)), [-0.5, 3.5, -1.5]);
  });

  test("frozen parameters get no gradient", () => {
    const { model, x, y, loss } = fixture();
    model.freeze(["bias"]);
    const [, grads] = nn.valueAndGrad(model, loss)(x, y);
    expect(Object.keys(grads)).toEqual(["weight"]);
    expectClose(vals(grads["weight"] as sm.Array), [7, -3], 1e-5);
  });

  test("hasAux returns [[loss, aux], grads]", () => {
    const { model, x, y } = fixture();
    const withPred = (xb: sm.Array, yb: sm.Array) => {
      const pred = model.forward(xb);
      return [nn.losses.mse(pred, yb), pred] as const;
    };
    const [[value, pred], grads] = nn.valueAndGrad(model, withPred, { hasAux: true })(x, y);
    expectClose([value.item()], [6.25], 1e-6);
    expectClose(vals(pred), [-0.5, 3.5, -1.5]);
    expectClose(vals(grads["bias"] as sm.Array), [-1], 1e-5);
  });

  test("inside compile: the same numbers", () => {
    const { model, x, y, loss } = fixture();
    const lossAndGrad = nn.valueAndGrad(model, loss);
    const step = sm.compile((xb: sm.Array, yb: sm.Array) => lossAndGrad(xb, yb));
    const [value, grads] = step(x, y);
    expectClose([value.item()], [6.25], 1e-6);
    expectClose(vals(grads["weight"] as sm.Array), [7, -3], 1e-5);
  });
});
