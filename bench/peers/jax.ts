// The jax-js column: its wasm backend, every step one `jit`ted function. jax-js arrays are
// reference counted and every call takes ownership of its arguments: `a.ref` is one more use.
import { installWebWorker } from "./web-worker.js";
import { ADAM, CHECK_STEPS, GELU_C, GELU_K, type GcnProblem, geluCheck, lossCheck, matmulCheck, type MlpProblem } from "../workloads/spec.js";
import type { Cell, Framework } from "./types.js";

// Loaded after the worker shim is installed (jax-js looks for `Worker` when it starts its backend).
type Jax = typeof import("@jax-js/jax");
type JArray = import("@jax-js/jax").Array;
let jax: Jax;

function gelu(xHost: Float32Array): Cell {
  const { jit, numpy: np } = jax;
  const x = np.array(xHost);
  const f = jit((x: JArray) => {
    const inner = x.ref.add(x.ref.mul(x.ref).mul(x.ref).mul(GELU_K)).mul(GELU_C);
    return x.mul(0.5).mul(np.tanh(inner).add(1));
  });
  let y: JArray | undefined;
  return {
    async run() {
      y?.dispose();
      y = f(x.ref);
      await y.blockUntilReady();
    },
    async check() {
      const data = (await y!.data()) as Float32Array;
      y = undefined;
      return geluCheck(data);
    },
  };
}

function matmul(aHost: Float32Array, bHost: Float32Array, n: number): Cell {
  const { jit, numpy: np } = jax;
  const a = np.array(aHost, { shape: [n, n] });
  const b = np.array(bHost, { shape: [n, n] });
  const f = jit((a: JArray, b: JArray) => np.matmul(a, b));
  let c: JArray | undefined;
  return {
    async run() {
      c?.dispose();
      c = f(a.ref, b.ref);
      await c.blockUntilReady();
    },
    async check() {
      const data = (await c!.data()) as Float32Array;
      c = undefined;
      return matmulCheck(data, n);
    },
  };
}

/**
 * Per row: logsumexp(logits) - logits[label], the label one-hot encoded (under jit, jax-js 0.1
 * cannot differentiate takeAlongAxis: "routine primitive scatter input is not imm").
 */
function crossEntropy(logits: JArray, labels: JArray): JArray {
  const { nn } = jax;
  const classes = logits.shape.at(-1)!;
  const picked = logits.ref.mul(nn.oneHot(labels, classes)).sum(-1);
  return nn.logsumexp(logits, -1).sub(picked);
}

type Tree = Record<string, JArray>;

/** Adam on every leaf; `c1 = 1 / (1 - b1^t)`, `c2 = 1 / (1 - b2^t)` (scalars), lr a number. */
function adam(p: Tree, g: Tree, m: Tree, v: Tree, c1: JArray, c2: JArray, lr: number): [Tree, Tree, Tree] {
  const { numpy: np } = jax;
  const out: [Tree, Tree, Tree] = [{}, {}, {}];
  for (const k of Object.keys(p)) {
    const gk = g[k]!;
    const mk = m[k]!.mul(ADAM.beta1).add(gk.ref.mul(1 - ADAM.beta1));
    const vk = v[k]!.mul(ADAM.beta2).add(gk.ref.mul(gk).mul(1 - ADAM.beta2));
    const update = mk.ref.mul(c1.ref).div(np.sqrt(vk.ref.mul(c2.ref)).add(ADAM.eps));
    out[0][k] = p[k]!.sub(update.mul(lr));
    out[1][k] = mk;
    out[2][k] = vk;
  }
  c1.dispose();
  c2.dispose();
  return out;
}

interface TrainState {
  params: Tree;
  m: Tree;
  v: Tree;
  t: number;
}

function freshState(params: Tree): TrainState {
  const { numpy: np, tree } = jax;
  const zeros = () => tree.map((a: JArray) => np.zerosLike(a.ref), params) as Tree;
  return { params, m: zeros(), v: zeros(), t: 0 };
}

/** The bias corrections of the t-th Adam update, as scalars for the jitted step. */
function corrections(t: number): [JArray, JArray] {
  const { numpy: np } = jax;
  return [np.array(1 / (1 - ADAM.beta1 ** t)), np.array(1 / (1 - ADAM.beta2 ** t))];
}

interface Trainer {
  step(): Promise<number>;
  dispose(): void;
}

function trainCell(fresh: () => Trainer, checked: () => Trainer = fresh): Cell {
  const timed = fresh();
  return {
    async run() {
      await timed.step();
    },
    async check() {
      const t = checked();
      const losses: number[] = [];
      for (let i = 0; i < CHECK_STEPS; i++) losses.push(await t.step());
      t.dispose();
      return lossCheck(losses);
    },
  };
}

/** Reads the loss (taking it) and waits until the new state is computed. */
async function finish(loss: JArray, s: TrainState): Promise<number> {
  const value = (await loss.data())[0]!;
  await jax.blockUntilReady([s.params, s.m, s.v]);
  return value;
}

function mlp(p: MlpProblem): Cell {
  const { jit, numpy: np, nn, valueAndGrad, tree } = jax;
  const x = np.array(p.x, { shape: [p.batch, p.inDims] });
  const y = np.array(p.y, { dtype: np.int32 });
  const lossFn = (w: Tree, x: JArray, y: JArray) => {
    const h = nn.relu(np.matmul(x, w["w1"]!).add(w["b1"]!));
    return crossEntropy(np.matmul(h, w["w2"]!).add(w["b2"]!), y).mean();
  };
  const step = jit((w: Tree, m: Tree, v: Tree, x: JArray, y: JArray, c1: JArray, c2: JArray) => {
    const [loss, g] = valueAndGrad(lossFn)(tree.ref(w), x, y) as [JArray, Tree];
    return [loss, ...adam(w, g, m, v, c1, c2, p.learningRate)];
  });
  const fresh = (): Trainer => {
    let s = freshState({
      w1: np.array(p.init.w1, { shape: [p.inDims, p.hidden] }),
      b1: np.array(p.init.b1),
      w2: np.array(p.init.w2, { shape: [p.hidden, p.classes] }),
      b2: np.array(p.init.b2),
    });
    return {
      async step() {
        const t = s.t + 1;
        const [loss, params, m, v] = step(s.params, s.m, s.v, x.ref, y.ref, ...corrections(t)) as [JArray, Tree, Tree, Tree];
        s = { params, m, v, t };
        return finish(loss, s);
      },
      dispose: () => tree.dispose([s.params, s.m, s.v]),
    };
  };
  return trainCell(fresh);
}

function gcn(p: GcnProblem): Cell {
  const { jit, numpy: np, random, valueAndGrad, tree } = jax;
  const g = p.graph;
  const a = np.array(g.adjacency, { shape: [g.n, g.n] });
  const x = np.array(g.x, { shape: [g.n, g.features] });
  const labels = np.array(g.labels, { dtype: np.int32 });
  const mask = np.array(g.trainMask);
  const keep = 1 - p.dropout;

  const dropout = (t: JArray, key: JArray, train: boolean): JArray => {
    if (!train) {
      key.dispose();
      return t;
    }
    return np.where(random.bernoulli(key, keep, t.shape), t.mul(1 / keep), 0);
  };
  // `train` is closed over, not an argument: valueAndGrad turns every argument into an array,
  // and an array is truthy.
  const lossFn = (train: boolean) => (w: Tree, a: JArray, x: JArray, labels: JArray, mask: JArray, k1: JArray, k2: JArray) => {
    const h = jax.nn.relu(np.matmul(a.ref, np.matmul(dropout(x, k1, train), w["w1"]!.ref)));
    const logits = np.matmul(a, np.matmul(dropout(h, k2, train), w["w2"]!));
    const data = crossEntropy(logits, labels).mul(mask).sum().div(g.trainCount);
    return data.add(np.square(w["w1"]!).sum().mul(p.weightDecay / 2));
  };
  const step = jit(
    (w: Tree, m: Tree, v: Tree, key: JArray, a: JArray, x: JArray, labels: JArray, mask: JArray, c1: JArray, c2: JArray, train: boolean) => {
      const keys = random.split(key, 3);
      const [next, k1, k2] = [keys.ref.slice(0), keys.ref.slice(1), keys.slice(2)];
      const [loss, grads] = valueAndGrad(lossFn(train))(tree.ref(w), a, x, labels, mask, k1, k2) as [JArray, Tree];
      return [loss, ...adam(w, grads, m, v, c1, c2, p.learningRate), next];
    },
    { staticArgnums: [10] },
  );
  const fresh = (train: boolean) => (): Trainer => {
    let s = freshState({
      w1: np.array(p.init.w1, { shape: [g.features, p.hidden] }),
      w2: np.array(p.init.w2, { shape: [p.hidden, g.classes] }),
    });
    let key = random.key(0);
    return {
      async step() {
        const t = s.t + 1;
        const out = step(s.params, s.m, s.v, key, a.ref, x.ref, labels.ref, mask.ref, ...corrections(t), train);
        const [loss, params, m, v, next] = out as [JArray, Tree, Tree, Tree, JArray];
        s = { params, m, v, t };
        key = next;
        return finish(loss, s);
      },
      dispose: () => tree.dispose([s.params, s.m, s.v, key]),
    };
  };
  return trainCell(fresh(true), fresh(false));
}

export async function createJax(threads: boolean): Promise<Framework> {
  const workers = threads ? installWebWorker() : 0;
  jax = await import("@jax-js/jax");
  const devices = await jax.init("wasm");
  if (!devices.includes("wasm")) throw new Error(`jax-js has no wasm device here (got ${devices.join(", ")})`);
  jax.defaultDevice("wasm");
  const pool = workers > 0 ? `${workers} workers (Web Worker API over worker_threads)` : "one thread";
  return { config: `wasm backend, jit, SIMD kernels, ${pool}`, gelu, matmul, mlp, gcn };
}
