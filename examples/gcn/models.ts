// The 2-layer GCN of Kipf & Welling: `A_hat relu(A_hat X W1 + b1) W2 + b2`, with dropout on
// the input and the hidden layer. `A_hat` is applied either as a dense matrix product or as
// messages along the edge list (gather the source rows, weight them, sum them per target).
import * as sm from "../../src/index.js";
import type { Graph } from "./data.js";
import { messageEdges, normalizedAdjacency } from "./data.js";

const { nn } = sm;

/** How a layer mixes each node's row with its neighbours': one of the two forms of `A_hat`. */
export type Propagation =
  | { readonly kind: "dense"; readonly adj: sm.Array }
  | { readonly kind: "messages"; readonly src: sm.Array; readonly dst: sm.Array; readonly weight: sm.Array };

export type PropagationKind = Propagation["kind"];

/** `A_hat h`: a matmul with the dense `[N, N]` matrix, or a gather and a segment sum over the E messages. */
export function propagate(h: sm.Array, g: Propagation): sm.Array {
  switch (g.kind) {
    case "dense":
      return g.adj.matmul(h);
    case "messages": {
      const messages = sm.take(h, g.src, 0).mul(g.weight.expandDims(1));
      return sm.segmentSum(messages, g.dst, h.shape[0]!);
    }
    default:
      g satisfies never;
      throw new sm.SmeltError(`unknown propagation ${JSON.stringify(g)}`);
  }
}

/** The graph's `A_hat` as device arrays, in the form asked for. */
export function propagation(graph: Graph, kind: PropagationKind): Propagation {
  switch (kind) {
    case "dense":
      return { kind, adj: sm.array(normalizedAdjacency(graph), { shape: [graph.numNodes, graph.numNodes] }) };
    case "messages": {
      const m = messageEdges(graph);
      return { kind, src: sm.array(m.src), dst: sm.array(m.dst), weight: sm.array(m.weight) };
    }
    default:
      kind satisfies never;
      throw new sm.SmeltError(`unknown propagation kind ${JSON.stringify(kind)}`);
  }
}

/** One graph convolution: `A_hat (x W) + b` (the bias after propagation, as in the paper). */
export class GraphConv extends nn.Module {
  linear: sm.nn.Linear;
  bias: sm.Array;

  constructor(inDims: number, outDims: number) {
    super();
    this.linear = new nn.Linear(inDims, outDims, { bias: false });
    this.bias = sm.zeros([outDims]);
  }

  override forward(x: sm.Array, g: Propagation): sm.Array {
    return propagate(this.linear.forward(x), g).add(this.bias);
  }
}

export class GCN extends nn.Module {
  conv1: GraphConv;
  conv2: GraphConv;
  dropout: sm.nn.Dropout;

  constructor(inDims: number, hidden: number, classes: number, dropout = 0.5) {
    super();
    this.conv1 = new GraphConv(inDims, hidden);
    this.conv2 = new GraphConv(hidden, classes);
    this.dropout = new nn.Dropout(dropout);
  }

  /** Logits `[N, classes]`. `key` draws the dropout masks (training mode only). */
  override forward(x: sm.Array, g: Propagation, key?: sm.Array): sm.Array {
    const [k1, k2] = key ? sm.random.split(key) : [];
    const h = nn.relu(this.conv1.forward(this.dropout.forward(x, k1 ? { key: k1 } : {}), g));
    return this.conv2.forward(this.dropout.forward(h, k2 ? { key: k2 } : {}), g);
  }
}
