// End to end: a small MLP trained with Adam through a compiled training step.
import { expect, test } from "vitest";
import * as sm from "../../src/index.js";

const { nn, optim } = sm;

/** Two Gaussian blobs (unit variance) around (-1.5, -1.5) (class 0) and (1.5, 1.5) (class 1). */
function blobs(n: number, key: sm.Array): { x: sm.Array; y: sm.Array } {
  const y = sm.arange(n).less(n / 2).astype("int32");
  const centers = sm.where(y.expandDims(1).equal(1), 1.5, -1.5);
  return { x: centers.add(sm.random.normal([n, 2], { key })), y };
}

test("a 2-16-2 MLP learns two blobs to at least 95% accuracy", () => {
  sm.random.seed(0);
  const [dataKey, testKey] = sm.random.split(sm.random.key(42));
  const train = blobs(200, dataKey!);
  const model = new nn.Sequential(new nn.Linear(2, 16), nn.relu, new nn.Linear(16, 2));
  const opt = new optim.Adam({ learningRate: 0.05 });
  const lossAndGrad = nn.valueAndGrad(model, (x: sm.Array, y: sm.Array) => nn.losses.crossEntropy(model.forward(x), y));

  const step = sm.compile((params: sm.nn.Params, state: sm.optim.OptimizerState, x: sm.Array, y: sm.Array) => {
    model.update(params);
    const [loss, grads] = lossAndGrad(x, y);
    const [newParams, newState] = opt.apply(params, grads, state);
    return [loss, newParams, newState] as const;
  });

  let params = model.trainableParameters();
  let state = opt.init(params);
  const losses: number[] = [];
  for (let i = 0; i < 100; i++) {
    const [loss, p, s] = step(params, state, train.x, train.y);
    [params, state] = [p, s];
    losses.push(loss.item());
  }
  model.update(params);
  expect(step.traceCount).toBe(1);
  expect(state.step.item()).toBe(100);
  // The loss starts near log 2 (untrained) and falls.
  expect(losses[0]).toBeGreaterThan(0.3);
  expect(losses[99]!).toBeLessThan(losses[0]! / 3);

  const accuracy = (d: { x: sm.Array; y: sm.Array }): number => sm.mean(sm.argmax(model.forward(d.x), 1).equal(d.y)).item();
  expect(accuracy(train)).toBeGreaterThanOrEqual(0.95);
  // Points the model never saw (the blobs overlap beyond about 2 standard deviations).
  expect(accuracy(blobs(200, testKey!))).toBeGreaterThanOrEqual(0.95);
});
