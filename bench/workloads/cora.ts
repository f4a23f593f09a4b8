// Cora (Planetoid split) from the plain-text files described in its README, preprocessed as the
// GCN paper does: A_hat = D^-1/2 (A + I) D^-1/2 as a dense matrix, row-normalized features.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Graph {
  /** Number of nodes. */
  readonly n: number;
  readonly features: number;
  readonly classes: number;
  /** Dense A_hat, n x n row-major. */
  readonly adjacency: Float32Array;
  /** Row-normalized bag-of-words, n x features row-major. */
  readonly x: Float32Array;
  readonly labels: Int32Array;
  /** 1 for the training nodes, 0 elsewhere. */
  readonly trainMask: Float32Array;
  readonly trainCount: number;
}

const EXPECTED = { nodes: 2708, features: 1433, classes: 7, edges: 5278, train: 140, ones: 49216 };

function lines(dir: string, file: string): string[] {
  const text = readFileSync(join(dir, file), "utf8");
  const out = text.split("\n");
  if (out.at(-1) === "") out.pop();
  return out;
}

function fail(dir: string, what: string): never {
  throw new Error(`${dir} does not look like the Cora data described in its README: ${what}`);
}

/**
 * Loads Cora from `dir`. With `nodes` below 2708, the induced subgraph on the first `nodes` nodes
 * (the training nodes are 0..139, so they stay), normalized on its own: a small problem of the
 * same kind.
 */
export function loadCora(dir: string, nodes = EXPECTED.nodes): Graph {
  const featureLines = lines(dir, "features.txt");
  const labelLines = lines(dir, "labels.txt");
  const edgeLines = lines(dir, "edges.txt");
  const split = JSON.parse(readFileSync(join(dir, "split.json"), "utf8")) as { train: number[] };
  if (featureLines.length !== EXPECTED.nodes || labelLines.length !== EXPECTED.nodes) fail(dir, "not 2708 nodes");
  if (edgeLines.length !== EXPECTED.edges) fail(dir, `${edgeLines.length} edges, not ${EXPECTED.edges}`);
  if (split.train.length !== EXPECTED.train) fail(dir, `${split.train.length} training nodes, not ${EXPECTED.train}`);

  const words = featureLines.map((l) => (l.trim() === "" ? [] : l.trim().split(" ").map(Number)));
  const ones = words.reduce((s, w) => s + w.length, 0);
  if (ones !== EXPECTED.ones) fail(dir, `${ones} feature ones, not ${EXPECTED.ones}`);

  const n = Math.min(nodes, EXPECTED.nodes);
  const f = EXPECTED.features;
  const x = new Float32Array(n * f);
  for (let i = 0; i < n; i++) {
    // A node without words keeps a zero row rather than a division by zero.
    for (const c of words[i]!) x[i * f + c] = 1 / words[i]!.length;
  }
  const labels = Int32Array.from(labelLines.slice(0, n), Number);

  // Self loops first, then both directions of every edge inside the subgraph.
  const a = new Float32Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = 1;
  for (const line of edgeLines) {
    const [u, v] = line.split(" ").map(Number) as [number, number];
    if (u < n && v < n) a[u * n + v] = a[v * n + u] = 1;
  }
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let deg = 0;
    for (let j = 0; j < n; j++) deg += a[i * n + j]!;
    inv[i] = 1 / Math.sqrt(deg);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (a[i * n + j] !== 0) a[i * n + j] = inv[i]! * inv[j]!;
  }

  const trainMask = new Float32Array(n);
  let trainCount = 0;
  for (const id of split.train) {
    if (id < n) {
      trainMask[id] = 1;
      trainCount++;
    }
  }
  return { n, features: f, classes: EXPECTED.classes, adjacency: a, x, labels, trainMask, trainCount };
}
