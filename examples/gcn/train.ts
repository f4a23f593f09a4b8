// Full-batch GCN training as in the paper: every epoch is one compiled step (forward on the whole
// graph, cross-entropy on the training nodes plus L2 on the first layer's weights, Adam).
import * as sm from "../../src/index.js";
import type { Graph } from "./data.js";
import { GCN, propagation, type Propagation, type PropagationKind } from "./models.js";

const { nn, optim } = sm;

export interface GcnOptions {
  readonly epochs?: number;
  readonly hidden?: number;
  readonly dropout?: number;
  readonly learningRate?: number;
  /** The L2 penalty `weightDecay / 2 * sum(W1²)`, i.e. Adam with weight decay on the first layer. */
  readonly weightDecay?: number;
  readonly seed?: number;
  readonly onEpoch?: (report: EpochReport) => void;
}

export interface EpochReport {
  readonly epoch: number;
  readonly loss: number;
  readonly valAccuracy: number;
  /** Wall time of the training step, the result read back included. */
  readonly ms: number;
}

export interface GcnResult {
  readonly trainAccuracy: number;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly meanEpochMs: number;
  readonly kernelsPerStep: number;
  readonly device: string;
}

/** The share of `nodes` whose predicted class is their label. */
function accuracy(predicted: ArrayLike<number>, labels: Int32Array, nodes: Int32Array): number {
  let right = 0;
  for (const i of nodes) if (predicted[i] === labels[i]) right++;
  return right / nodes.length;
}

export function trainGcn(graph: Graph, kind: PropagationKind, opts: GcnOptions = {}): GcnResult {
  const { epochs = 200, hidden = 16, dropout = 0.5, learningRate = 0.01, weightDecay = 5e-4, seed = 0 } = opts;
  sm.random.seed(seed);
  const x = sm.array(graph.features, { shape: [graph.numNodes, graph.numFeatures] });
  const labels = sm.array(graph.labels);
  const train = sm.array(graph.split.train);
  const g = propagation(graph, kind);

  const model = new GCN(graph.numFeatures, hidden, graph.numClasses, dropout);
  const optimizer = new optim.Adam({ learningRate });
  const lossAndGrad = nn.valueAndGrad(model, (x: sm.Array, g: Propagation, key: sm.Array) => {
    const logits = sm.take(model.forward(x, g, key), train, 0);
    const penalty = model.conv1.linear.weight.square().sum().mul(weightDecay / 2);
    return nn.losses.crossEntropy(logits, sm.take(labels, train)).add(penalty);
  });
  const trainStep = sm.compile((params: sm.nn.Params, state: sm.optim.OptimizerState, x: sm.Array, g: Propagation, key: sm.Array) => {
    model.update(params);
    const [loss, grads] = lossAndGrad(x, g, key);
    const [newParams, newState] = optimizer.apply(params, grads, state);
    return [loss, newParams, newState] as const;
  });
  // Traced in evaluation mode (no dropout) on its first call, and cached so.
  const predict = sm.compile((params: sm.nn.Params, x: sm.Array, g: Propagation) => {
    model.update(params);
    return sm.argmax(model.forward(x, g), 1);
  });
  const predictions = (params: sm.nn.Params): Int32Array => {
    model.eval();
    const classes = predict(params, x, g);
    model.train();
    // A copy: the array's memory goes back to the device with it.
    const out = Int32Array.from(classes.dataSync());
    classes.dispose();
    return out;
  };

  let params = model.trainableParameters();
  let state = optimizer.init(params);
  // The dropout masks' key of every epoch, computed at once.
  const keys = sm.random.split(sm.random.key(seed + 1), epochs);
  sm.eval(keys);
  let totalMs = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = performance.now();
    const [loss, p, s] = trainStep(params, state, x, g, keys[epoch - 1]!);
    const lossValue = loss.item();
    const ms = performance.now() - start;
    // What the step consumed is not needed any more: give its memory back now, not at GC.
    for (const a of [loss, ...sm.tree.flatten([params, state])[0]]) (a as sm.Array).dispose();
    [params, state] = [p, s];
    // The first step traces and compiles: it is not a training epoch's time.
    if (epoch > 1 || epochs === 1) totalMs += ms;
    if (opts.onEpoch) {
      opts.onEpoch({ epoch, loss: lossValue, valAccuracy: accuracy(predictions(params), graph.labels, graph.split.val), ms });
    }
  }
  const kernelsPerStep = trainStep.lower(params, state, x, g, keys[0]!).stats.kernels;
  const predicted = predictions(params);
  // Nothing here outlives the call: give the graph's, the data's and the model's memory back now.
  for (const a of sm.tree.flatten([x, labels, train, g, keys, params, state])[0]) if (a instanceof sm.Array) a.dispose();
  return {
    trainAccuracy: accuracy(predicted, graph.labels, graph.split.train),
    valAccuracy: accuracy(predicted, graph.labels, graph.split.val),
    testAccuracy: accuracy(predicted, graph.labels, graph.split.test),
    meanEpochMs: totalMs / Math.max(1, epochs - 1),
    kernelsPerStep,
    device: sm.defaultDevice(),
  };
}
