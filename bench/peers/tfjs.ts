// The TensorFlow.js columns: the wasm backend (its .wasm files found in node_modules) and the
// plain JavaScript "cpu" backend. TensorFlow.js has no jit: ops run eagerly, one kernel each.
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ADAM, CHECK_STEPS, GELU_C, GELU_K, type GcnProblem, geluCheck, lossCheck, matmulCheck, type MlpProblem } from "../workloads/spec.js";
import type { Cell, Framework } from "./types.js";

function gelu(xHost: Float32Array): Cell {
  const x = tf.tensor1d(xHost);
  let y: tf.Tensor | undefined;
  return {
    async run() {
      y?.dispose();
      y = tf.tidy(() => {
        const inner = x.add(x.mul(x).mul(x).mul(GELU_K)).mul(GELU_C);
        return x.mul(0.5).mul(tf.tanh(inner).add(1));
      });
      // Kernels run synchronously on both backends; reading one element would add a copy per run.
    },
    async check() {
      return geluCheck((await y!.data()) as Float32Array);
    },
  };
}

function matmul(aHost: Float32Array, bHost: Float32Array, n: number): Cell {
  const a = tf.tensor2d(aHost, [n, n]);
  const b = tf.tensor2d(bHost, [n, n]);
  let c: tf.Tensor | undefined;
  return {
    async run() {
      c?.dispose();
      c = tf.matMul(a, b);
    },
    async check() {
      return matmulCheck((await c!.data()) as Float32Array, n);
    },
  };
}

/** Per row: logsumexp(logits) - logits[label] (the label one-hot encoded). */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, classes: number): tf.Tensor1D {
  const picked = tf.sum(tf.mul(logits, tf.oneHot(labels, classes)), -1);
  return tf.sub(tf.logSumExp(logits, -1), picked) as tf.Tensor1D;
}

interface Trainer {
  /** One step; the loss. */
  step(): number;
  dispose(): void;
}

function trainCell(fresh: () => Trainer, checked: () => Trainer = fresh): Cell {
  const timed = fresh();
  return {
    async run() {
      timed.step();
    },
    async check() {
      const t = checked();
      const losses: number[] = [];
      for (let i = 0; i < CHECK_STEPS; i++) losses.push(t.step());
      t.dispose();
      return lossCheck(losses);
    },
  };
}

/** Adam of TensorFlow.js, with the same constants as the other columns. */
const adam = (lr: number) => tf.train.adam(lr, ADAM.beta1, ADAM.beta2, ADAM.eps);

function trainer(vars: tf.Variable[], lr: number, loss: () => tf.Scalar): Trainer {
  const opt = adam(lr);
  return {
    step() {
      const value = opt.minimize(loss, true, vars)!;
      const out = value.dataSync()[0]!;
      value.dispose();
      return out;
    },
    dispose() {
      opt.dispose();
      for (const v of vars) v.dispose();
    },
  };
}

function mlp(p: MlpProblem): Cell {
  const x = tf.tensor2d(p.x, [p.batch, p.inDims]);
  const y = tf.tensor1d(p.y, "int32");
  return trainCell(() => {
    const w1 = tf.variable(tf.tensor2d(p.init.w1, [p.inDims, p.hidden]));
    const b1 = tf.variable(tf.tensor1d(p.init.b1));
    const w2 = tf.variable(tf.tensor2d(p.init.w2, [p.hidden, p.classes]));
    const b2 = tf.variable(tf.tensor1d(p.init.b2));
    return trainer([w1, b1, w2, b2], p.learningRate, () => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
      const logits = tf.add(tf.matMul(h, w2), b2) as tf.Tensor2D;
      return tf.mean(crossEntropy(logits, y, p.classes)) as tf.Scalar;
    });
  });
}

function gcn(p: GcnProblem): Cell {
  const g = p.graph;
  const a = tf.tensor2d(g.adjacency, [g.n, g.n]);
  const x = tf.tensor2d(g.x, [g.n, g.features]);
  const labels = tf.tensor1d(g.labels, "int32");
  const mask = tf.tensor1d(g.trainMask);
  const fresh = (train: boolean) => (): Trainer => {
    const w1 = tf.variable(tf.tensor2d(p.init.w1, [g.features, p.hidden]));
    const w2 = tf.variable(tf.tensor2d(p.init.w2, [p.hidden, g.classes]));
    const dropout = (t: tf.Tensor) => (train ? tf.dropout(t, p.dropout) : t);
    return trainer([w1, w2], p.learningRate, () => {
      const h = tf.relu(tf.matMul(a, tf.matMul(dropout(x), w1)));
      const logits = tf.matMul(a, tf.matMul(dropout(h), w2)) as tf.Tensor2D;
      const ce = crossEntropy(logits, labels, g.classes);
      const decay = tf.mul(tf.sum(tf.square(w1)), p.weightDecay / 2);
      return tf.add(tf.div(tf.sum(tf.mul(ce, mask)), g.trainCount), decay) as tf.Scalar;
    });
  };
  return trainCell(fresh(true), fresh(false));
}

export async function createTfjs(backend: "wasm" | "cpu"): Promise<Framework> {
  let config = "plain JavaScript kernels, one thread";
  if (backend === "wasm") {
    const require = createRequire(import.meta.url);
    setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/");
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js backend "${backend}" did not initialize`);
  await tf.ready();
  if (backend === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = getThreadsCount();
    // TensorFlow.js turns wasm threads off under Node (tfjs issue #3830): its pthread workers
    // are blob: URLs, which worker_threads cannot load.
    config = `wasm, SIMD ${simd ? "on" : "off"}, ${threads} thread${threads === 1 ? "" : "s"} (no wasm threads under Node)`;
  }
  return { config: `${tf.getBackend()} backend: ${config}`, gelu, matmul, mlp, gcn };
}
