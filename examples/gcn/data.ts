// A citation graph for the GCN examples: Cora in its plain-text form (features.txt, labels.txt,
// edges.txt, split.json), or a generated graph of Cora's shapes so the examples run anywhere,
// and the two normalizations of A + I the models use.
import fs from "node:fs";
import path from "node:path";

/** A node-classification graph on the host, as plain TypedArrays. */
export interface Graph {
  readonly numNodes: number;
  readonly numFeatures: number;
  readonly numClasses: number;
  /** Row-major `[numNodes, numFeatures]`, each row summing to 1 (or all zero). */
  readonly features: Float32Array;
  readonly labels: Int32Array;
  /** Undirected edges `(edgeA[k], edgeB[k])`, without self loops or duplicates. */
  readonly edgeA: Int32Array;
  readonly edgeB: Int32Array;
  readonly split: { readonly train: Int32Array; readonly val: Int32Array; readonly test: Int32Array };
}

/** Cora's sizes (the Planetoid release): what `generateGraph` makes by default. */
export const CORA = { nodes: 2708, features: 1433, classes: 7, edges: 5278, train: 140, val: 500, test: 1000 } as const;

function lines(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  return all;
}

function integers(line: string, file: string, lineNo: number): number[] {
  const words = line.trim() === "" ? [] : line.trim().split(/\s+/);
  return words.map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${file}:${lineNo}: "${w}" is not a non-negative integer`);
    return n;
  });
}

function checkIds(ids: readonly number[], bound: number, what: string): Int32Array {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= bound) throw new Error(`${what}: node ${id} is not in [0, ${bound})`);
  }
  return Int32Array.from(ids);
}

/** Reads a graph in Cora's text format from `dir` (see the format in the data's README). */
export function loadCora(dir: string): Graph {
  const file = (name: string): string => path.join(dir, name);
  const labelLines = lines(file("labels.txt"));
  const numNodes = labelLines.length;
  const labels = Int32Array.from(labelLines.map((l, i) => integers(l, file("labels.txt"), i + 1)[0] ?? -1));
  if (labels.some((c) => c < 0)) throw new Error(`${file("labels.txt")}: a line without a class`);
  const numClasses = Math.max(...labels) + 1;

  const featureLines = lines(file("features.txt"));
  if (featureLines.length !== numNodes) {
    throw new Error(`${file("features.txt")} has ${featureLines.length} lines, labels.txt ${numNodes}`);
  }
  const columns = featureLines.map((l, i) => integers(l, file("features.txt"), i + 1));
  const numFeatures = Math.max(0, ...columns.flat()) + 1;
  const features = new Float32Array(numNodes * numFeatures);
  columns.forEach((cols, i) => {
    for (const c of cols) features[i * numFeatures + c] = 1 / cols.length;
  });

  const edges = lines(file("edges.txt")).map((l, i) => integers(l, file("edges.txt"), i + 1));
  const edgeA = checkIds(edges.map((e) => e[0]!), numNodes, "edges.txt");
  const edgeB = checkIds(edges.map((e) => e[1]!), numNodes, "edges.txt");

  const split = JSON.parse(fs.readFileSync(file("split.json"), "utf8")) as Record<"train" | "val" | "test", number[]>;
  return {
    numNodes,
    numFeatures,
    numClasses,
    features,
    labels,
    edgeA,
    edgeB,
    split: {
      train: checkIds(split.train, numNodes, "split.json train"),
      val: checkIds(split.val, numNodes, "split.json val"),
      test: checkIds(split.test, numNodes, "split.json test"),
    },
  };
}

/** mulberry32: a small seeded generator of floats in [0, 1), so a generated graph is the same everywhere. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  /** Node count (default Cora's 2708); edges and the split scale with it. */
  readonly nodes?: number;
  readonly features?: number;
  readonly seed?: number;
}

/**
 * A planted-partition graph with Cora's shapes: classes own blocks of words (a node draws a
 * fifth of its ~18 words from its class's block, the rest anywhere) and 4 edges in 5 join
 * nodes of the same class, about Cora's share. The first nodes are the training set with
 * equally many of each class, as in Cora's split; then validation, and test at the end.
 */
export function generateGraph(opts: GenerateOptions = {}): Graph {
  const numNodes = opts.nodes ?? CORA.nodes;
  const numFeatures = opts.features ?? CORA.features;
  const numClasses = CORA.classes;
  const scale = numNodes / CORA.nodes;
  const counts = {
    train: Math.max(numClasses, Math.round(CORA.train * scale)),
    val: Math.round(CORA.val * scale),
    test: Math.round(CORA.test * scale),
  };
  if (counts.train + counts.val + counts.test > numNodes || numFeatures < numClasses) {
    throw new Error(`a generated graph needs more nodes and features than ${numNodes} and ${numFeatures}`);
  }
  const random = generator(opts.seed ?? 0);
  const pick = (n: number): number => Math.floor(random() * n);

  const labels = Int32Array.from({ length: numNodes }, (_, i) => (i < counts.train ? i % numClasses : pick(numClasses)));
  const members: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((c, i) => members[c]!.push(i));

  const block = Math.floor(numFeatures / numClasses);
  const features = new Float32Array(numNodes * numFeatures);
  for (let i = 0; i < numNodes; i++) {
    const words = new Set<number>();
    const wanted = 9 + pick(19);
    while (words.size < wanted) words.add(random() < 0.2 ? labels[i]! * block + pick(block) : pick(numFeatures));
    for (const w of words) features[i * numFeatures + w] = 1 / wanted;
  }

  const numEdges = Math.round(CORA.edges * scale);
  const seen = new Set<number>();
  const edgeA: number[] = [];
  const edgeB: number[] = [];
  while (edgeA.length < numEdges) {
    const a = pick(numNodes);
    const same = members[labels[a]!]!;
    const b = random() < 0.8 ? same[pick(same.length)]! : pick(numNodes);
    const [lo, hi] = a < b ? [a, b] : [b, a];
    if (lo === hi || seen.has(lo * numNodes + hi)) continue;
    seen.add(lo * numNodes + hi);
    edgeA.push(lo);
    edgeB.push(hi);
  }

  const range = (from: number, n: number): Int32Array => Int32Array.from({ length: n }, (_, k) => from + k);
  return {
    numNodes,
    numFeatures,
    numClasses,
    features,
    labels,
    edgeA: Int32Array.from(edgeA),
    edgeB: Int32Array.from(edgeB),
    split: { train: range(0, counts.train), val: range(counts.train, counts.val), test: range(numNodes - counts.test, counts.test) },
  };
}

/** Each node's degree in A + I (its edges and its self loop). */
function degreesWithSelfLoops(g: Graph): Float64Array {
  const degree = new Float64Array(g.numNodes).fill(1);
  for (let k = 0; k < g.edgeA.length; k++) {
    degree[g.edgeA[k]!]! += 1;
    degree[g.edgeB[k]!]! += 1;
  }
  return degree;
}

/** `A_hat = D^-1/2 (A + I) D^-1/2`, row-major `[numNodes, numNodes]`. */
export function normalizedAdjacency(g: Graph): Float32Array {
  const n = g.numNodes;
  const degree = degreesWithSelfLoops(g);
  const adj = new Float32Array(n * n);
  for (let i = 0; i < n; i++) adj[i * n + i] = 1 / degree[i]!;
  for (let k = 0; k < g.edgeA.length; k++) {
    const [a, b] = [g.edgeA[k]!, g.edgeB[k]!];
    const w = 1 / Math.sqrt(degree[a]! * degree[b]!);
    adj[a * n + b] = w;
    adj[b * n + a] = w;
  }
  return adj;
}

/** The nonzeros of `A_hat` as messages: both directions of each edge and every self loop. */
export interface MessageEdges {
  readonly src: Int32Array;
  readonly dst: Int32Array;
  /** `1 / sqrt(d_src d_dst)`, with the degrees of A + I. */
  readonly weight: Float32Array;
}

export function messageEdges(g: Graph): MessageEdges {
  const degree = degreesWithSelfLoops(g);
  const m = g.edgeA.length;
  const src = new Int32Array(2 * m + g.numNodes);
  const dst = new Int32Array(2 * m + g.numNodes);
  for (let k = 0; k < m; k++) {
    [src[k], dst[k]] = [g.edgeA[k]!, g.edgeB[k]!];
    [src[m + k], dst[m + k]] = [g.edgeB[k]!, g.edgeA[k]!];
  }
  for (let i = 0; i < g.numNodes; i++) [src[2 * m + i], dst[2 * m + i]] = [i, i];
  const weight = Float32Array.from(src, (s, k) => 1 / Math.sqrt(degree[s]! * degree[dst[k]!]!));
  return { src, dst, weight };
}
