// The smelt column: every workload as a user writes it against the public API, each step one
// `sm.compile`d function, on the device asked for ("host" by default).
import * as sm from "../../src/index.js";
import { CHECK_STEPS, GELU_C, GELU_K, type GcnProblem, geluCheck, lossCheck, matmulCheck, type MlpProblem, transposed } from "../workloads/spec.js";
import type { Cell, Framework } from "./types.js";

type Params = sm.nn.Params;

/** Frees every array of a tree that is not in `keep` (the results a step passed through). */
function disposeTree(tree: unknown, keep: ReadonlySet<sm.Array> = new Set()): void {
  for (const leaf of sm.tree.flatten(tree)[0]) if (leaf instanceof sm.Array && !keep.has(leaf)) leaf.dispose();
}

function leafSet(tree: unknown): Set<sm.Array> {
  return new Set(sm.tree.flatten(tree)[0].filter((x): x is sm.Array => x instanceof sm.Array));
}

function gelu(xHost: Float32Array): Cell {
  const x = sm.array(xHost);
  const f = sm.compile((x: sm.Array) => {
    const inner = x.add(x.mul(x).mul(x).mul(GELU_K)).mul(GELU_C);
    return x.mul(0.5).mul(sm.tanh(inner).add(1));
  });
  let y: sm.Array | undefined;
  return {
    async run() {
      y?.dispose();
      y = f(x);
      sm.eval(y);
    },
    async check() {
      return geluCheck(y!.dataSync() as Float32Array);
    },
  };
}

function matmul(aHost: Float32Array, bHost: Float32Array, n: number): Cell {
  const a = sm.array(aHost, { shape: [n, n] });
  const b = sm.array(bHost, { shape: [n, n] });
  const f = sm.compile((a: sm.Array, b: sm.Array) => sm.matmul(a, b));
  let c: sm.Array | undefined;
  return {
    async run() {
      c?.dispose();
      c = f(a, b);
      sm.eval(c);
    },
    async check() {
      return matmulCheck(c!.dataSync() as Float32Array, n);
    },
  };
}

/** Runs `step` from `state` and keeps its results as the next state, freeing the previous one. */
interface Trainer<S> {
  state: S;
  step(state: S): [sm.Array, S];
}

async function advance<S>(t: Trainer<S>): Promise<number> {
  const [loss, next] = t.step(t.state);
  sm.eval(loss, next);
  disposeTree(t.state, leafSet(next));
  t.state = next;
  const value = loss.item();
  loss.dispose();
  return value;
}

/** Timed steps continue one training run; the check starts its own (`checked`: GCN without dropout). */
function trainCell<S>(fresh: () => Trainer<S>, checked: () => Trainer<S> = fresh): Cell {
  const timed = fresh();
  return {
    async run() {
      await advance(timed);
    },
    async check() {
      const t = checked();
      const losses: number[] = [];
      for (let i = 0; i < CHECK_STEPS; i++) losses.push(await advance(t));
      disposeTree(t.state);
      return lossCheck(losses);
    },
  };
}

function mlp(p: MlpProblem): Cell {
  const { nn, optim } = sm;
  const model = new nn.Sequential(new nn.Linear(p.inDims, p.hidden), nn.relu, new nn.Linear(p.hidden, p.classes));
  const optimizer = new optim.Adam({ learningRate: p.learningRate });
  const lossAndGrad = nn.valueAndGrad(model, (x: sm.Array, y: sm.Array) => nn.losses.crossEntropy(model.forward(x), y));
  const x = sm.array(p.x, { shape: [p.batch, p.inDims] });
  const y = sm.array(p.y);
  const step = sm.compile((params: Params, state: sm.optim.OptimizerState, x: sm.Array, y: sm.Array) => {
    model.update(params);
    const [loss, grads] = lossAndGrad(x, y);
    const [newParams, newState] = optimizer.apply(params, grads, state);
    return [loss, newParams, newState] as const;
  });
  type State = { params: Params; opt: sm.optim.OptimizerState };
  // The layers keep weights [out, in]; the problem's are [in, out].
  const initial = (): Params => ({
    layers: [
      { weight: sm.array(transposed(p.init.w1, p.inDims, p.hidden), { shape: [p.hidden, p.inDims] }), bias: sm.array(p.init.b1) },
      {},
      { weight: sm.array(transposed(p.init.w2, p.hidden, p.classes), { shape: [p.classes, p.hidden] }), bias: sm.array(p.init.b2) },
    ],
  });
  return trainCell<State>(() => {
    const params = initial();
    return {
      state: { params, opt: optimizer.init(params) },
      step: (s) => {
        const [loss, params, opt] = step(s.params, s.opt, x, y);
        return [loss, { params, opt }];
      },
    };
  });
}

function gcn(p: GcnProblem): Cell {
  const g = p.graph;
  const a = sm.array(g.adjacency, { shape: [g.n, g.n] });
  const x = sm.array(g.x, { shape: [g.n, g.features] });
  const labels = sm.array(g.labels);
  const mask = sm.array(g.trainMask);
  const optimizer = new sm.optim.Adam({ learningRate: p.learningRate });
  const drop = new sm.nn.Dropout(p.dropout);

  // A closed type for the weights: gradients of the recursive Params type are too deep to infer.
  type Weights = { w1: sm.Array; w2: sm.Array };
  const loss = ({ w1, w2 }: Weights, k1: sm.Array, k2: sm.Array, train: boolean): sm.Array => {
    const dropout = (t: sm.Array, key: sm.Array) => (train ? drop.forward(t, { key }) : t);
    const h = sm.maximum(a.matmul(dropout(x, k1).matmul(w1)), 0);
    const logits = a.matmul(dropout(h, k2).matmul(w2));
    const ce = sm.nn.losses.crossEntropy(logits, labels, { reduction: "none" });
    const decay = sm.sum(w1.square()).mul(p.weightDecay / 2);
    return sm.sum(ce.mul(mask)).div(g.trainCount).add(decay);
  };
  const step = sm.compile((w: Weights, opt: sm.optim.OptimizerState, key: sm.Array, train: boolean) => {
    const [next, k1, k2] = sm.random.split(key, 3) as [sm.Array, sm.Array, sm.Array];
    const [value, grads] = sm.valueAndGrad(loss)(w, k1, k2, train);
    const [w2, opt2] = optimizer.apply(w, grads, opt);
    return [value, w2 as Weights, opt2, next] as const;
  });

  type State = { w: Weights; opt: sm.optim.OptimizerState; key: sm.Array };
  const fresh = (train: boolean) => (): Trainer<State> => {
    const w: Weights = {
      w1: sm.array(p.init.w1, { shape: [g.features, p.hidden] }),
      w2: sm.array(p.init.w2, { shape: [p.hidden, g.classes] }),
    };
    return {
      state: { w, opt: optimizer.init(w), key: sm.random.key(0) },
      step: (s) => {
        const [value, w2, opt2, next] = step(s.w, s.opt, s.key, train);
        return [value, { w: w2, opt: opt2, key: next }];
      },
    };
  };
  return trainCell(fresh(true), fresh(false));
}

export function createSmelt(device: string): Framework {
  sm.setDefaultDevice(device);
  return { config: `device "${sm.defaultDevice()}", sm.compile, fusion "full"`, gelu, matmul, mlp, gcn };
}
