// The tutorial MLP of examples/mlp.ts: it learns a separable problem, and a long run of its
// compiled training step holds no more memory at the end than after a few steps.
import { expect, it } from "vitest";
import { accuracy, blobs, compiledStep, mlp, trainMlp } from "../../examples/mlp.js";
import * as sm from "../../src/index.js";

// The examples train on the fastest device here, as users run them (the suite's default is interp).
if (!process.env["SMELT_DEVICE"]) sm.setDefaultDevice(sm.devices()[0]!);

it("the 128-64-10 MLP reaches 95% accuracy on points it did not train on", { timeout: 120_000 }, () => {
  sm.random.seed(0);
  // Ten classes whose centers are about 16 apart (128 standard normal coordinates), points
  // scattered by 2 in each: any two classes are separated far beyond their spread.
  const train = blobs(500, { seed: 1, noise: 2 });
  const losses: number[] = [];
  const { model } = trainMlp(train, { epochs: 3, batchSize: 50, onEpoch: (e) => losses.push(e.loss) });
  expect(losses.at(-1)!).toBeLessThan(losses[0]!);
  expect(accuracy(model, blobs(500, { seed: 2, noise: 2 }))).toBeGreaterThanOrEqual(0.95);
});

it("2,000 compiled training steps leave as much memory active as 10 do", { timeout: 600_000 }, () => {
  sm.random.seed(0);
  const data = blobs(64, { seed: 1 });
  const x = data.features.slice([0], [16]);
  const y = data.labels.slice([0], [16]);
  sm.eval(x, y);
  const model = mlp();
  const optimizer = new sm.optim.Adam({ learningRate: 1e-3 });
  const step = compiledStep(model, optimizer);

  let params = model.trainableParameters();
  let state = optimizer.init(params);
  let afterTenth = -1;
  for (let i = 1; i <= 2000; i++) {
    const [loss, p, s] = step(params, state, x, y);
    for (const a of [loss, ...sm.tree.flatten([params, state])[0]]) (a as sm.Array).dispose();
    [params, state] = [p, s];
    if (i === 10) afterTenth = sm.memory.stats().activeBytes;
  }
  const afterLast = sm.memory.stats().activeBytes;
  expect(afterTenth).toBeGreaterThan(0);
  expect(afterLast).toBe(afterTenth);
  expect(step.traceCount).toBe(1);
  expect(state.step.item()).toBe(2000);
});
