// Fusion benchmark: per program and per strategy, the kernels launched, the bytes they move
// against the minimum, the memory plan's peak against keeping every intermediate, and the time
// from trace to planned executable (median and fastest of several runs after a warm-up: a busy
// machine inflates the median, the fastest shows the cost itself). Then the targets of the
// training steps: full fusion against elementwise fusion. Run: npm run bench:fusion
import * as sm from "../src/index.js";

type Strategy = "full" | "elementwise" | "none";
const STRATEGIES: Strategy[] = ["full", "elementwise", "none"];

interface Program {
  readonly name: string;
  // Programs take arrays; the benchmark only lowers them, so the data is never computed.
  readonly fn: (...args: sm.Array[]) => unknown;
  readonly args: () => sm.Array[];
}

const f32 = (...shape: number[]) => sm.zeros(shape);

function layernorm(x: sm.Array, g: sm.Array, b: sm.Array): sm.Array {
  const mu = sm.mean(x, { axis: -1, keepdims: true });
  const xc = x.sub(mu);
  const v = sm.mean(xc.square(), { axis: -1, keepdims: true });
  return xc.mul(sm.rsqrt(v.add(1e-5))).mul(g).add(b);
}

function gelu(x: sm.Array): sm.Array {
  const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(0.5).mul(sm.tanh(inner).add(1));
}

function crossEntropy(logits: sm.Array, labels: sm.Array): sm.Array {
  const picked = sm.takeAlongAxis(logits, sm.expandDims(labels, -1), -1);
  return sm.mean(sm.logsumexp(logits, { axis: -1, keepdims: true }).sub(picked));
}

function adam(p: sm.Array, g: sm.Array, m: sm.Array, v: sm.Array) {
  const [lr, b1, b2, eps] = [1e-3, 0.9, 0.999, 1e-8];
  const m2 = m.mul(b1).add(g.mul(1 - b1));
  const v2 = v.mul(b2).add(g.square().mul(1 - b2));
  const p2 = p.sub(m2.div(sm.sqrt(v2).add(eps)).mul(lr));
  return [p2, m2, v2];
}

export const PROGRAMS: Program[] = [
  { name: "softmax 4096x1024", fn: (x) => sm.softmax(x, -1), args: () => [f32(4096, 1024)] },
  { name: "layernorm 4096x1024", fn: layernorm, args: () => [f32(4096, 1024), f32(1024), f32(1024)] },
  {
    name: "GELU MLP forward 1024x512x2048",
    fn: (x, w1, b1, w2, b2) => gelu(x.matmul(w1).add(b1)).matmul(w2).add(b2),
    args: () => [f32(1024, 512), f32(512, 2048), f32(2048), f32(2048, 512), f32(512)],
  },
  {
    name: "cross-entropy 1000x10",
    fn: crossEntropy,
    args: () => [f32(1000, 10), sm.zeros([1000], "int32")],
  },
  { name: "Adam update 4096x4096", fn: adam, args: () => [f32(4096, 4096), f32(4096, 4096), f32(4096, 4096), f32(4096, 4096)] },
];

type Params = Record<string, sm.Array>;

/** One Adam step over a tree of parameters (state as trees, so the step compiles whole). */
function adamTree(params: Params, grads: Params, m: Params, v: Params): [Params, Params, Params] {
  const out: [Params, Params, Params] = [{}, {}, {}];
  for (const k of Object.keys(params)) {
    const [p2, m2, v2] = adam(params[k]!, grads[k]!, m[k]!, v[k]!);
    [out[0][k], out[1][k], out[2][k]] = [p2!, m2!, v2!];
  }
  return out;
}

const zerosOf = (shapes: Record<string, number[]>): Params =>
  Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, f32(...s)]));

// The MLX tutorial's MLP: 1000 samples of 128 features, 128 -> 64 -> 10, cross-entropy, Adam.
const MLP = { w1: [128, 64], b1: [64], w2: [64, 10], b2: [10] };
function mlpStep(params: Params, m: Params, v: Params, x: sm.Array, y: sm.Array) {
  const loss = (p: Params) => {
    const h = sm.maximum(x.matmul(p["w1"]!).add(p["b1"]!), 0);
    return crossEntropy(h.matmul(p["w2"]!).add(p["b2"]!), y);
  };
  const [value, grads] = sm.valueAndGrad(loss)(params) as [sm.Array, Params];
  return [value, ...adamTree(params, grads, m, v)];
}

// A 2-layer GCN epoch on Cora's shapes: dense normalized adjacency, dropout 0.5, hidden 16,
// loss over the training mask, weight decay 5e-4 on the first layer, Adam.
const CORA = { n: 2708, features: 1433, hidden: 16, classes: 7 };
const GCN = { w1: [CORA.features, CORA.hidden], w2: [CORA.hidden, CORA.classes] };
function gcnStep(params: Params, m: Params, v: Params, a: sm.Array, x: sm.Array, y: sm.Array, mask: sm.Array, key: sm.Array) {
  const [k1, k2] = sm.random.split(key, 2) as unknown as [sm.Array, sm.Array];
  const dropout = (t: sm.Array, k: sm.Array) =>
    sm.where(sm.random.bernoulli(0.5, t.shape, { key: k }), t.mul(2), 0);
  const loss = (p: Params) => {
    const h = sm.maximum(a.matmul(dropout(x, k1).matmul(p["w1"]!)), 0);
    const logits = a.matmul(dropout(h, k2).matmul(p["w2"]!));
    const picked = sm.takeAlongAxis(logits, sm.expandDims(y, -1), -1);
    const ce = sm.logsumexp(logits, { axis: -1, keepdims: true }).sub(picked).reshape([CORA.n]);
    const decay = sm.sum(p["w1"]!.square()).mul(5e-4 / 2);
    return sm.sum(ce.mul(mask)).div(sm.sum(mask)).add(decay);
  };
  const [value, grads] = sm.valueAndGrad(loss)(params) as [sm.Array, Params];
  return [value, ...adamTree(params, grads, m, v)];
}

/** Programs that need autodiff. */
export const extraPrograms: Program[] = [
  {
    name: "MLP train step 1000x128-64-10",
    fn: mlpStep as unknown as Program["fn"],
    args: () => [zerosOf(MLP), zerosOf(MLP), zerosOf(MLP), f32(1000, 128), sm.zeros([1000], "int32")] as unknown as sm.Array[],
  },
  {
    name: "GCN epoch (Cora shapes)",
    fn: gcnStep as unknown as Program["fn"],
    args: () =>
      [
        zerosOf(GCN),
        zerosOf(GCN),
        zerosOf(GCN),
        f32(CORA.n, CORA.n),
        f32(CORA.n, CORA.features),
        sm.zeros([CORA.n], "int32"),
        f32(CORA.n),
        sm.random.key(0),
      ] as unknown as sm.Array[],
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join("  ");
}

type Stats = sm.LoweredFunction["stats"];

/** Lowers `p` with `strategy` `reps` times (after `warmup` untimed runs): its stats and times in ms. */
function measure(p: Program, strategy: Strategy, reps: number, warmup: number): { stats: Stats; times: number[] } {
  const args = p.args();
  const times: number[] = [];
  let stats: Stats | undefined;
  for (let i = 0; i < warmup + reps; i++) {
    const compiled = sm.compile(p.fn, { fusion: strategy, name: "bench" });
    const t0 = performance.now();
    stats = compiled.lower(...args).stats;
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return { stats: stats!, times };
}

const ratio = (a: number, b: number) => (b === 0 ? "-" : (a / b).toFixed(2));

export function run(programs: Program[] = [...PROGRAMS, ...extraPrograms], reps = 15, warmup = 3): string {
  const widths = [34, 12, 8, 14, 10, 10, 10, 8];
  const lines = [row(["program", "strategy", "kernels", "bytesMoved", "moved/min", "peak/naive", "lower ms", "fastest"], widths)];
  const targets: string[] = [];
  for (const p of programs) {
    const byStrategy = new Map<Strategy, Stats>();
    for (const strategy of STRATEGIES) {
      const { stats: s, times } = measure(p, strategy, reps, warmup);
      byStrategy.set(strategy, s);
      const cells = [p.name, strategy, s.kernels, s.bytesMoved, ratio(s.bytesMoved, s.minimalBytes), ratio(s.peakBytes, s.naivePeakBytes)];
      lines.push(row([...cells, median(times).toFixed(1), Math.min(...times).toFixed(1)], widths));
    }
    if (extraPrograms.includes(p)) {
      const [full, ew] = [byStrategy.get("full")!, byStrategy.get("elementwise")!];
      targets.push(
        `${p.name}: kernels ${full.kernels} vs ${ew.kernels} (at most half), bytes ${ratio(full.bytesMoved, ew.bytesMoved)} of elementwise (at most 0.60), peak ${ratio(full.peakBytes, full.naivePeakBytes)} of naive (at most 0.50)`,
      );
    }
  }
  return [...lines, "", "targets (full against elementwise):", ...targets.map((t) => `  ${t}`)].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(run());
