// The command line shared by the GCN examples and the demo: `--data DIR` (Cora's text format),
// otherwise a generated graph of Cora's shapes (`--nodes N` for a smaller one); `--epochs N`.
import { parseArgs } from "node:util";
import { type Graph, generateGraph, loadCora } from "./data.js";

export interface GcnCommand {
  readonly graph: Graph;
  /** Where the graph came from, for the output. */
  readonly source: string;
  readonly epochs: number;
}

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

export function parseGcnCommand(argv: readonly string[], defaultData?: string): GcnCommand {
  const { values } = parseArgs({
    args: [...argv],
    options: { data: { type: "string" }, epochs: { type: "string" }, nodes: { type: "string" } },
  });
  const epochs = positiveInteger("--epochs", values.epochs, 200);
  // Asking for a generated graph's size overrides the default data.
  const dir = values.data ?? (values.nodes === undefined ? defaultData : undefined);
  if (dir !== undefined) return { graph: loadCora(dir), source: dir, epochs };
  const graph = generateGraph({ nodes: positiveInteger("--nodes", values.nodes, 2708) });
  return { graph, source: `a generated graph of ${graph.numNodes} nodes (pass --data DIR for Cora)`, epochs };
}
