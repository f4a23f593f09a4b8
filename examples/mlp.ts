// A multi-layer perceptron trained with Adam, after the MLX tutorial: 128 features -> 64 -> 10
// classes on synthetic data, with a compiled training step and the loss printed per epoch.
// Run: smelt run examples/mlp.ts -- [--epochs N] [--samples N]
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as sm from "../src/index.js";

const { nn, optim } = sm;

export interface Dataset {
  readonly features: sm.Array;
  readonly labels: sm.Array;
}

/**
 * `samples` points of `dims` features in `classes` blobs: each class's points scatter with
 * standard deviation `noise` around the class's center (one standard normal draw per feature,
 * the same for every `seed`, so datasets of different seeds are train and test sets of one problem).
 */
export function blobs(samples: number, opts: { seed?: number; dims?: number; classes?: number; noise?: number } = {}): Dataset {
  const { seed = 1, dims = 128, classes = 10, noise = 3 } = opts;
  const centers = sm.random.normal([classes, dims], { key: sm.random.key(0) });
  const [labelKey, noiseKey] = sm.random.split(sm.random.key(seed));
  const labels = sm.floor(sm.random.uniform([samples], { key: labelKey! }).mul(classes)).astype("int32");
  const features = sm.take(centers, labels, 0).add(sm.random.normal([samples, dims], { key: noiseKey! }).mul(noise));
  // Arrays are lazy: compute the data once here, not again in every batch sliced from it.
  sm.eval(features, labels);
  return { features, labels };
}

export function mlp(inDims = 128, hidden = 64, classes = 10): sm.nn.Sequential {
  return new nn.Sequential(new nn.Linear(inDims, hidden), nn.relu, new nn.Linear(hidden, classes));
}

/** One training step as a pure function of arrays, so compile traces it once and reuses it. */
export function compiledStep(model: sm.nn.Module & { forward(x: sm.Array): sm.Array }, optimizer: sm.optim.Optimizer) {
  const lossAndGrad = nn.valueAndGrad(model, (x: sm.Array, y: sm.Array) => nn.losses.crossEntropy(model.forward(x), y));
  return sm.compile((params: sm.nn.Params, state: sm.optim.OptimizerState, x: sm.Array, y: sm.Array) => {
    model.update(params);
    const [loss, grads] = lossAndGrad(x, y);
    const [newParams, newState] = optimizer.apply(params, grads, state);
    return [loss, newParams, newState] as const;
  });
}

export function accuracy(model: sm.nn.Sequential, data: Dataset): number {
  return sm.tidy(() => sm.mean(sm.argmax(model.forward(data.features), 1).equal(data.labels)).item());
}

export interface MlpOptions {
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly onEpoch?: (report: { epoch: number; loss: number; accuracy: number; ms: number }) => void;
}

export interface MlpResult {
  readonly model: sm.nn.Sequential;
  readonly meanEpochMs: number;
  readonly kernelsPerStep: number;
}

export function trainMlp(data: Dataset, opts: MlpOptions = {}): MlpResult {
  const { epochs = 5, learningRate = 1e-2 } = opts;
  const samples = data.features.shape[0]!;
  const batchSize = Math.min(opts.batchSize ?? 100, samples);
  const model = mlp(data.features.shape[1], 64, 10);
  const optimizer = new optim.Adam({ learningRate });
  const trainStep = compiledStep(model, optimizer);

  let params = model.trainableParameters();
  let state = optimizer.init(params);
  let totalMs = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = performance.now();
    let total = 0;
    for (let from = 0; from + batchSize <= samples; from += batchSize) {
      const x = data.features.slice([from], [from + batchSize]);
      const y = data.labels.slice([from], [from + batchSize]);
      const [loss, p, s] = trainStep(params, state, x, y);
      total += loss.item();
      // The step's inputs are not needed any more: give their memory back now.
      for (const a of [loss, x, y, ...sm.tree.flatten([params, state])[0]]) (a as sm.Array).dispose();
      [params, state] = [p, s];
    }
    const ms = performance.now() - start;
    totalMs += ms;
    model.update(params);
    opts.onEpoch?.({ epoch, loss: total / Math.floor(samples / batchSize), accuracy: accuracy(model, data), ms });
  }
  const x = data.features.slice([0], [batchSize]);
  const y = data.labels.slice([0], [batchSize]);
  return { model, meanEpochMs: totalMs / epochs, kernelsPerStep: trainStep.lower(params, state, x, y).stats.kernels };
}

function main(): void {
  const { values } = parseArgs({ options: { epochs: { type: "string" }, samples: { type: "string" } } });
  sm.random.seed(0);
  const data = blobs(Number(values.samples ?? 1000));
  trainMlp(data, {
    epochs: Number(values.epochs ?? 5),
    onEpoch: ({ epoch, loss, accuracy }) => console.log(`epoch ${epoch}: loss ${loss.toFixed(4)}, accuracy ${accuracy.toFixed(3)}`),
  });
}

// Run as a program (the demo and the tests import it instead).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
