// `npm run demo`: trains the tutorial MLP, then the GCN on Cora with the dense adjacency and with
// message passing, and prints accuracy, mean epoch time, kernels per training step and the device.
// Cora is read from ../shared/data/cora beside the project or `--data DIR`; without either the
// GCN trains on a generated graph of Cora's shapes.
// Options: [--data DIR] [--epochs N] (GCN) [--nodes N] (generated graph) [--device NAME]
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as sm from "../src/index.js";
import { parseGcnCommand } from "./gcn/cli.js";
import type { PropagationKind } from "./gcn/models.js";
import { trainGcn } from "./gcn/train.js";
import { accuracy, blobs, trainMlp } from "./mlp.js";

const { values } = parseArgs({
  options: { device: { type: "string" }, data: { type: "string" }, epochs: { type: "string" }, nodes: { type: "string" } },
});
if (values.device !== undefined) sm.setDefaultDevice(values.device);
const beside = fileURLToPath(new URL("../../shared/data/cora/", import.meta.url));
const gcnArgs = (["data", "epochs", "nodes"] as const).flatMap((k) => (values[k] === undefined ? [] : [`--${k}`, values[k]]));
const { graph, source, epochs } = parseGcnCommand(gcnArgs, fs.existsSync(beside) ? beside : undefined);

const device = sm.defaultDevice();
console.log(`smelt demo on the ${device} device (devices here: ${sm.devices().join(", ")})`);
if (device === "interp") console.log("(interp is the slow reference interpreter: try --epochs 5 --nodes 300 for a quick look)");

// A line per epoch: rewritten in place on a terminal, one below the other otherwise.
const progress = (line: string): void => {
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[K${line}`);
  else console.log(line);
};
const done = (line: string): void => {
  if (process.stdout.isTTY) process.stdout.write("\r\x1b[K");
  console.log(line);
};

console.log("\nMLP 128 -> 64 -> 10, Adam, on 10 synthetic classes");
sm.random.seed(0);
const mlpEpochs = 5;
const mlp = trainMlp(blobs(1000, { seed: 1 }), {
  epochs: mlpEpochs,
  onEpoch: (e) => progress(`  epoch ${e.epoch}/${mlpEpochs}: loss ${e.loss.toFixed(4)}, accuracy ${e.accuracy.toFixed(3)}`),
});
const heldOut = accuracy(mlp.model, blobs(1000, { seed: 2 }));
done(`  held-out accuracy ${heldOut.toFixed(3)}, mean epoch ${mlp.meanEpochMs.toFixed(1)} ms, ${mlp.kernelsPerStep} kernels per step`);

console.log(`\nGCN (hidden 16, dropout 0.5, Adam lr 0.01, weight decay 5e-4) on ${source}`);
const variants: [PropagationKind, string][] = [
  ["dense", `dense A_hat [${graph.numNodes}x${graph.numNodes}]`],
  ["messages", `message passing over ${2 * graph.edgeA.length + graph.numNodes} edges`],
];
for (const [kind, what] of variants) {
  console.log(`${what}:`);
  const r = trainGcn(graph, kind, {
    epochs,
    onEpoch: (e) => {
      const line = `loss ${e.loss.toFixed(4)}, val accuracy ${e.valAccuracy.toFixed(3)}, ${e.ms.toFixed(1)} ms`;
      progress(`  epoch ${e.epoch}/${epochs}: ${line}`);
    },
  });
  done(
    `  test accuracy ${r.testAccuracy.toFixed(3)} (val ${r.valAccuracy.toFixed(3)}), mean epoch ${r.meanEpochMs.toFixed(1)} ms, ` +
      `${r.kernelsPerStep} kernels per step, on ${r.device}`,
  );
}
