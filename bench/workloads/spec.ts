// The four host workloads, defined once for every framework: sizes, inputs and initial weights
// (seeded on the host, so every framework solves the same problem), and the check values each
// framework's result is reduced to, with float64 oracles where one is cheap.
import { type Graph, loadCora } from "./cora.js";
import { integers, mulberry32, uniform } from "./rng.js";

export const WORKLOADS = ["gelu", "matmul", "mlp", "gcn"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface Sizes {
  readonly geluN: number;
  readonly matmulN: number;
  readonly mlp: { readonly batch: number; readonly inDims: number; readonly hidden: number; readonly classes: number };
  /** Cora nodes kept (2708: all of it). */
  readonly gcnNodes: number;
}

export function sizes(small: boolean): Sizes {
  return small
    ? { geluN: 4096, matmulN: 64, mlp: { batch: 100, inDims: 128, hidden: 64, classes: 10 }, gcnNodes: 256 }
    : { geluN: 1 << 24, matmulN: 1024, mlp: { batch: 1000, inDims: 128, hidden: 64, classes: 10 }, gcnNodes: 2708 };
}

/** What a workload's label says and how its speed reads, for the table. */
export function describe(w: WorkloadName, s: Sizes): { label: string; unit?: { name: string; perMs: number } } {
  switch (w) {
    case "gelu":
      return { label: `GELU chain ${mega(s.geluN)} f32`, unit: { name: "Melem/s", perMs: s.geluN / 1e3 } };
    case "matmul":
      return { label: `matmul ${s.matmulN}^3 f32`, unit: { name: "GFLOP/s", perMs: (2 * s.matmulN ** 3) / 1e6 } };
    case "mlp":
      return { label: `MLP step ${s.mlp.batch}x${s.mlp.inDims}-${s.mlp.hidden}-${s.mlp.classes}` };
    case "gcn":
      return { label: s.gcnNodes === 2708 ? "GCN epoch Cora" : `GCN epoch Cora[:${s.gcnNodes}]` };
    default:
      w satisfies never;
      throw new Error(`unknown workload ${String(w)}`);
  }
}

const mega = (n: number): string => (n >= 1 << 20 ? `${n / (1 << 20)}M` : String(n));

// ---- GELU, tanh form: y = 0.5 x (1 + tanh(C (x + K x^3)))
export const GELU_C = 0.7978845608;
export const GELU_K = 0.044715;

export const geluInput = (n: number): Float32Array => uniform(1, n, -4, 4);

const gelu64 = (x: number): number => 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_K * x * x * x)));

/** Fixed positions sampled by the checks. */
function samplePositions(seed: number, count: number, n: number): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(next() * n));
}

/** sum(y) and y at 32 fixed positions. */
export function geluCheck(y: Float32Array): number[] {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i]!;
  return [sum, ...samplePositions(7, 32, y.length).map((i) => y[i]!)];
}

export function geluOracle(x: Float32Array): number[] {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += gelu64(x[i]!);
  return [sum, ...samplePositions(7, 32, x.length).map((i) => gelu64(x[i]!))];
}

// ---- matmul: C = A B, entries of A and B in [0, 1) so that no sum cancels.
export function matmulInputs(n: number): { a: Float32Array; b: Float32Array } {
  return { a: uniform(2, n * n, 0, 1), b: uniform(3, n * n, 0, 1) };
}

function checkVectors(n: number): { u: Float32Array; v: Float32Array } {
  return { u: uniform(4, n, 0, 1), v: uniform(5, n, 0, 1) };
}

/** sum(C), u^T C v for fixed u, v, and C at 32 fixed positions. */
export function matmulCheck(c: Float32Array, n: number): number[] {
  const { u, v } = checkVectors(n);
  let sum = 0;
  let uCv = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) {
      sum += c[i * n + j]!;
      row += c[i * n + j]! * v[j]!;
    }
    uCv += u[i]! * row;
  }
  return [sum, uCv, ...samplePositions(8, 32, n * n).map((k) => c[k]!)];
}

/**
 * The same values in float64 without forming C: sum(C) = colsum(A) . rowsum(B) and
 * u^T C v = (u^T A) . (B v); the samples are single dot products.
 */
export function matmulOracle(a: Float32Array, b: Float32Array, n: number): number[] {
  const { u, v } = checkVectors(n);
  let sum = 0;
  let uCv = 0;
  for (let k = 0; k < n; k++) {
    let colA = 0;
    let uA = 0;
    let rowB = 0;
    let Bv = 0;
    for (let i = 0; i < n; i++) {
      colA += a[i * n + k]!;
      uA += u[i]! * a[i * n + k]!;
      rowB += b[k * n + i]!;
      Bv += b[k * n + i]! * v[i]!;
    }
    sum += colA * rowB;
    uCv += uA * Bv;
  }
  const samples = samplePositions(8, 32, n * n).map((idx) => {
    const [i, j] = [Math.floor(idx / n), idx % n];
    let dot = 0;
    for (let k = 0; k < n; k++) dot += a[i * n + k]! * b[k * n + j]!;
    return dot;
  });
  return [sum, uCv, ...samples];
}

// ---- Training steps: the checks are the losses of CHECK_STEPS steps from the initial weights.
export const CHECK_STEPS = 2;

/**
 * The losses of the check's steps, then how far each fell below the first. The fall is what the
 * gradients and the optimizer decide, and it is small beside the loss itself (near ln 7 on Cora
 * at the start), so a relative tolerance on the losses alone would let a wrong gradient through.
 */
export function lossCheck(losses: readonly number[]): number[] {
  return [...losses, ...losses.slice(1).map((l) => losses[0]! - l)];
}

export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** Weights as `x @ w` takes them: `w1` is [inDims, hidden]. */
export interface MlpWeights {
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

export interface MlpProblem {
  readonly batch: number;
  readonly inDims: number;
  readonly hidden: number;
  readonly classes: number;
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly init: MlpWeights;
  readonly learningRate: number;
}

/** The MLX tutorial's MLP on random data, with MLX's Linear initialization U(-1/sqrt(in), 1/sqrt(in)). */
export function mlpProblem(s: Sizes): MlpProblem {
  const { batch, inDims, hidden, classes } = s.mlp;
  const k1 = 1 / Math.sqrt(inDims);
  const k2 = 1 / Math.sqrt(hidden);
  return {
    ...s.mlp,
    x: uniform(10, batch * inDims, -1, 1),
    y: integers(11, batch, classes),
    init: {
      w1: uniform(12, inDims * hidden, -k1, k1),
      b1: uniform(13, hidden, -k1, k1),
      w2: uniform(14, hidden * classes, -k2, k2),
      b2: uniform(15, classes, -k2, k2),
    },
    learningRate: 1e-3,
  };
}

/** Transposed copy of a rows x cols row-major matrix (MLX-style layers keep weights [out, in]). */
export function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j]!;
  return out;
}

export interface GcnProblem {
  readonly graph: Graph;
  readonly hidden: number;
  /** w1: [features, hidden], w2: [hidden, classes]; no biases, as in the GCN paper's model. */
  readonly init: { readonly w1: Float32Array; readonly w2: Float32Array };
  readonly learningRate: number;
  /** L2 on the first layer's weights, `weightDecay * sum(w1^2) / 2`, as in the GCN paper. */
  readonly weightDecay: number;
  readonly dropout: number;
}

/** The 2-layer GCN of the paper on Cora (or its first `s.gcnNodes` nodes), Glorot-uniform weights. */
export function gcnProblem(s: Sizes, coraDir: string): GcnProblem {
  const graph = loadCora(coraDir, s.gcnNodes);
  const hidden = 16;
  const glorot = (seed: number, fanIn: number, fanOut: number) => {
    const r = Math.sqrt(6 / (fanIn + fanOut));
    return uniform(seed, fanIn * fanOut, -r, r);
  };
  return {
    graph,
    hidden,
    init: { w1: glorot(20, graph.features, hidden), w2: glorot(21, hidden, graph.classes) },
    learningRate: 0.01,
    weightDecay: 5e-4,
    dropout: 0.5,
  };
}

export interface Tolerance {
  readonly rtol: number;
  /** For values near zero, where a float32 result has no relative precision (1 + tanh(-5)). */
  readonly atol: number;
}

export function tolerance(w: WorkloadName): Tolerance {
  return w === "gelu" ? { rtol: 1e-3, atol: 1e-4 } : { rtol: 1e-3, atol: 0 };
}

/** Agreement element by element: |got - want| <= rtol * max(|got|, |want|) + atol. */
export function agrees(got: readonly number[], want: readonly number[], tol: Tolerance): boolean {
  if (got.length !== want.length) return false;
  return got.every((g, i) => {
    const w = want[i]!;
    return Number.isFinite(g) && Math.abs(g - w) <= tol.rtol * Math.max(Math.abs(g), Math.abs(w)) + tol.atol;
  });
}
