// The GCN of examples/gcn.ts with A_hat applied as messages instead of a dense matrix: each edge
// (both directions, plus a self loop per node) carries `take(h, src) * w` with
// w = 1 / sqrt(d_src d_dst), and `segmentSum(messages, dst, N)` adds them up per node.
// Run: smelt run examples/gcn-message-passing.ts -- [--data DIR] [--epochs N] [--nodes N]
import { parseGcnCommand } from "./gcn/cli.js";
import { trainGcn } from "./gcn/train.js";

const { graph, source, epochs } = parseGcnCommand(process.argv.slice(2));
console.log(`GCN, ${2 * graph.edgeA.length + graph.numNodes} messages, on ${source}`);
const result = trainGcn(graph, "messages", {
  epochs,
  onEpoch: (e) => {
    if (e.epoch % 20 === 0 || e.epoch === epochs) {
      console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, val accuracy ${e.valAccuracy.toFixed(3)}`);
    }
  },
});
console.log(`test accuracy ${result.testAccuracy.toFixed(3)}, mean epoch ${result.meanEpochMs.toFixed(1)} ms on ${result.device}`);
