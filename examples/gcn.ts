// A 2-layer GCN (hidden 16, dropout 0.5, Adam lr 0.01, weight decay 5e-4) on Cora, with the
// normalized adjacency D^-1/2 (A + I) D^-1/2 as a dense matrix: each layer is `A_hat (x W) + b`.
// The model is examples/gcn/models.ts, the training loop examples/gcn/train.ts.
// Run: smelt run examples/gcn.ts -- [--data DIR] [--epochs N] [--nodes N]
import { parseGcnCommand } from "./gcn/cli.js";
import { trainGcn } from "./gcn/train.js";

const { graph, source, epochs } = parseGcnCommand(process.argv.slice(2));
console.log(`GCN, dense A_hat [${graph.numNodes}x${graph.numNodes}], on ${source}`);
const result = trainGcn(graph, "dense", {
  epochs,
  onEpoch: (e) => {
    if (e.epoch % 20 === 0 || e.epoch === epochs) {
      console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, val accuracy ${e.valAccuracy.toFixed(3)}`);
    }
  },
});
console.log(`test accuracy ${result.testAccuracy.toFixed(3)}, mean epoch ${result.meanEpochMs.toFixed(1)} ms on ${result.device}`);
