// The GCN examples' data: Cora's text format, the generated graph, A_hat in its two forms, and
// the two propagations agreeing with A_hat and with each other.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CORA, generateGraph, type Graph, loadCora, messageEdges, normalizedAdjacency } from "../../examples/gcn/data.js";
import { GCN, propagate, propagation } from "../../examples/gcn/models.js";
import * as sm from "../../src/index.js";
import { checkGrad } from "../../src/testing/index.js";

/** The path 0 - 1 - 2 and a node 3 alone: degrees in A + I are 2, 3, 2 and 1. */
function pathGraph(): Graph {
  return {
    numNodes: 4,
    numFeatures: 2,
    numClasses: 2,
    features: new Float32Array([1, 0, 0, 1, 0.5, 0.5, 0, 0]),
    labels: new Int32Array([0, 1, 0, 1]),
    edgeA: new Int32Array([0, 1]),
    edgeB: new Int32Array([1, 2]),
    split: { train: new Int32Array([0, 1]), val: new Int32Array([2]), test: new Int32Array([3]) },
  };
}

// D^-1/2 (A + I) D^-1/2 of pathGraph, entry by entry.
const s6 = 1 / Math.sqrt(6);
const PATH_A_HAT = [
  [1 / 2, s6, 0, 0],
  [s6, 1 / 3, s6, 0],
  [0, s6, 1 / 2, 0],
  [0, 0, 0, 1],
];

describe("A_hat", () => {
  it("is D^-1/2 (A + I) D^-1/2 as a dense matrix", () => {
    const adj = normalizedAdjacency(pathGraph());
    expect(Array.from(adj)).toEqual(PATH_A_HAT.flat().map(Math.fround));
  });

  it("as messages: both directions of each edge and a self loop per node, weighted 1/sqrt(d_i d_j)", () => {
    const m = messageEdges(pathGraph());
    expect(m.src.length).toBe(2 * 2 + 4);
    const dense = PATH_A_HAT.map((row) => row.map(() => 0));
    m.src.forEach((s, k) => (dense[m.dst[k]!]![s] += m.weight[k]!));
    dense.forEach((row, i) => row.forEach((w, j) => expect(w).toBeCloseTo(PATH_A_HAT[i]![j]!, 7)));
  });

  it("both propagations compute A_hat h", () => {
    const rows = [
      [1, -1],
      [2, 0],
      [3, 1],
      [4, 2],
    ];
    const want = PATH_A_HAT.map((a) => [0, 1].map((c) => a.reduce((acc, w, j) => acc + w * rows[j]![c]!, 0)));
    for (const kind of ["dense", "messages"] as const) {
      const got = propagate(sm.array(rows, { dtype: "float32" }), propagation(pathGraph(), kind)).tolist() as number[][];
      got.forEach((row, i) => row.forEach((x, j) => expect(x).toBeCloseTo(want[i]![j]!, 5)));
    }
  });

  it("both propagations have the gradient of finite differences", () => {
    const h = sm.array([
      [0.5, -1],
      [2, 0.25],
      [-3, 1],
      [1, 2],
    ]);
    for (const kind of ["dense", "messages"] as const) {
      const g = propagation(pathGraph(), kind);
      checkGrad((h: sm.Array) => sm.sum(sm.sin(propagate(h, g))), [h]);
    }
  });

  it("the dense and message-passing GCNs give the same logits for the same parameters", () => {
    sm.random.seed(3);
    const graph = generateGraph({ nodes: 60, features: 40 });
    const x = sm.array(graph.features, { shape: [graph.numNodes, graph.numFeatures] });
    const model = new GCN(graph.numFeatures, 8, graph.numClasses).eval();
    const dense = model.forward(x, propagation(graph, "dense")).dataSync();
    const messages = model.forward(x, propagation(graph, "messages")).dataSync();
    expect(messages.length).toBe(60 * 7);
    messages.forEach((v, i) => expect(v).toBeCloseTo(dense[i]!, 5));
  });
});

describe("loadCora", () => {
  it("reads the text format: row-normalized features, labels, edges and the split", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smelt-cora-"));
    try {
      fs.writeFileSync(path.join(dir, "features.txt"), "0 2\n\n1\n");
      fs.writeFileSync(path.join(dir, "labels.txt"), "1\n0\n2\n");
      fs.writeFileSync(path.join(dir, "edges.txt"), "0 1\n1 2\n");
      fs.writeFileSync(path.join(dir, "split.json"), JSON.stringify({ train: [0], val: [1], test: [2] }));
      const g = loadCora(dir);
      expect([g.numNodes, g.numFeatures, g.numClasses]).toEqual([3, 3, 3]);
      expect(Array.from(g.features)).toEqual([0.5, 0, 0.5, 0, 0, 0, 0, 1, 0]);
      expect(Array.from(g.labels)).toEqual([1, 0, 2]);
      expect([Array.from(g.edgeA), Array.from(g.edgeB)]).toEqual([
        [0, 1],
        [1, 2],
      ]);
      expect([g.split.train, g.split.val, g.split.test].map((s) => Array.from(s))).toEqual([[0], [1], [2]]);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it("rejects an edge to a node that does not exist, naming the file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smelt-cora-"));
    try {
      fs.writeFileSync(path.join(dir, "features.txt"), "0\n0\n");
      fs.writeFileSync(path.join(dir, "labels.txt"), "0\n1\n");
      fs.writeFileSync(path.join(dir, "edges.txt"), "0 5\n");
      fs.writeFileSync(path.join(dir, "split.json"), JSON.stringify({ train: [0], val: [1], test: [] }));
      expect(() => loadCora(dir)).toThrow("edges.txt: node 5 is not in [0, 2)");
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe("generateGraph", () => {
  const g = generateGraph();

  it("has Cora's shapes and split sizes, the split disjoint", () => {
    expect([g.numNodes, g.numFeatures, g.numClasses, g.edgeA.length]).toEqual([CORA.nodes, CORA.features, CORA.classes, CORA.edges]);
    expect([g.split.train.length, g.split.val.length, g.split.test.length]).toEqual([CORA.train, CORA.val, CORA.test]);
    const all = new Set([...g.split.train, ...g.split.val, ...g.split.test]);
    expect(all.size).toBe(CORA.train + CORA.val + CORA.test);
    // Equally many training nodes of each class, as in Cora's split.
    const perClass = new Array<number>(g.numClasses).fill(0);
    for (const i of g.split.train) perClass[g.labels[i]!]!++;
    expect(perClass).toEqual(new Array<number>(7).fill(20));
  });

  it("has undirected edges without self loops or duplicates, most within a class", () => {
    const keys = new Set<number>();
    let within = 0;
    let ordered = 0;
    g.edgeA.forEach((a, k) => {
      const b = g.edgeB[k]!;
      if (a < b) ordered++;
      keys.add(a * g.numNodes + b);
      if (g.labels[a] === g.labels[b]) within++;
    });
    expect(ordered).toBe(g.edgeA.length);
    expect(keys.size).toBe(g.edgeA.length);
    // 4 in 5 edges are drawn within a class, and a random one lands there 1 time in 7.
    expect(within / g.edgeA.length).toBeGreaterThan(0.75);
  });

  it("has rows of features summing to 1, and is the same for the same seed", () => {
    for (let i = 0; i < g.numNodes; i += 97) {
      const row = g.features.subarray(i * g.numFeatures, (i + 1) * g.numFeatures);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    const again = generateGraph();
    const same = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    expect(same(again.edgeA, g.edgeA) && same(again.edgeB, g.edgeB)).toBe(true);
    expect(same(again.features, g.features)).toBe(true);
  });
});
