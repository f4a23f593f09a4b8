// A multi-layer perceptron trained with Adam, after the MLX tutorial: 128 features -> 64 -> 10
// classes on synthetic data, with a compiled training step.
// Run: npx tsx examples/mlp.ts (or smelt run examples/mlp.ts)
import * as sm from "../src/index.js";

const { nn, optim } = sm;
const [inDims, hidden, classes, samples, batchSize, epochs] = [128, 64, 10, 1000, 100, 5];

// Synthetic data: each class is a blob around its own random center.
sm.random.seed(0);
const centers = sm.random.normal([classes, inDims]);
const labels = sm.floor(sm.random.uniform([samples]).mul(classes)).astype("int32");
const features = sm.take(centers, labels, 0).add(sm.random.normal([samples, inDims]).mul(5));
// Arrays are lazy: compute the data once here, not again in every batch sliced from it.
sm.eval(features, labels);

const model = new nn.Sequential(new nn.Linear(inDims, hidden), nn.relu, new nn.Linear(hidden, classes));
const optimizer = new optim.Adam({ learningRate: 1e-2 });
const lossAndGrad = nn.valueAndGrad(model, (x: sm.Array, y: sm.Array) => nn.losses.crossEntropy(model.forward(x), y));

// One step as a pure function of arrays, so compile can trace it once and reuse it.
const trainStep = sm.compile((params: sm.nn.Params, state: sm.optim.OptimizerState, x: sm.Array, y: sm.Array) => {
  model.update(params);
  const [loss, grads] = lossAndGrad(x, y);
  const [newParams, newState] = optimizer.apply(params, grads, state);
  return [loss, newParams, newState] as const;
});

let params = model.trainableParameters();
let state = optimizer.init(params);
for (let epoch = 0; epoch < epochs; epoch++) {
  let total = 0;
  for (let start = 0; start < samples; start += batchSize) {
    const x = features.slice([start], [start + batchSize]);
    const y = labels.slice([start], [start + batchSize]);
    const [loss, p, s] = trainStep(params, state, x, y);
    [params, state] = [p, s];
    total += loss.item();
  }
  model.update(params);
  const accuracy = sm.mean(sm.argmax(model.forward(features), 1).equal(labels)).item();
  console.log(`epoch ${epoch}: loss ${(total / (samples / batchSize)).toFixed(4)}, accuracy ${accuracy.toFixed(3)}`);
}
