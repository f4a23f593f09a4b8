// Training the GCN of the examples: on a small generated graph (fast on any device), and on the
// real Cora files beside the project, where the paper's model reaches about 81% test accuracy.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generateGraph, loadCora } from "../../examples/gcn/data.js";
import { trainGcn } from "../../examples/gcn/train.js";
import * as sm from "../../src/index.js";

// The examples train on the fastest device here, as users run them (the suite's default is interp).
if (!process.env["SMELT_DEVICE"]) sm.setDefaultDevice(sm.devices()[0]!);

const CORA_DIR = fileURLToPath(new URL("../../../shared/data/cora/", import.meta.url));
const haveCora = fs.existsSync(CORA_DIR);
// 200 epochs on Cora take minutes on the host device and hours on interp.
const compiled = sm.defaultDevice() !== "interp";
if (!haveCora) console.log(`skipping the GCN-on-Cora tests: no Cora data at ${CORA_DIR}`);
else if (!compiled) console.log("skipping the GCN-on-Cora tests: the device is interp (SMELT_DEVICE, or no other works here), hours for 200 epochs");

describe("GCN on a small generated graph", () => {
  const graph = generateGraph({ nodes: 400, features: 200 });

  for (const kind of ["dense", "messages"] as const) {
    it(`${kind}: learns the planted classes`, { timeout: 120_000 }, () => {
      const epochs: number[] = [];
      const r = trainGcn(graph, kind, { epochs: 40, onEpoch: (e) => epochs.push(e.loss) });
      // 7 classes: chance is about 1/7. Features and edges both carry the class.
      expect(r.testAccuracy).toBeGreaterThan(0.6);
      expect(epochs.at(-1)!).toBeLessThan(epochs[0]!);
      expect(r.kernelsPerStep).toBeGreaterThan(0);
    });
  }
});

describe.skipIf(!haveCora || !compiled)("GCN on Cora (Planetoid split)", () => {
  for (const kind of ["dense", "messages"] as const) {
    it(`${kind}: 200 epochs reach test accuracy >= 0.78`, { timeout: 900_000 }, () => {
      const r = trainGcn(loadCora(CORA_DIR), kind, { epochs: 200 });
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0.78);
    });
  }
});
