// One table cell in a process of its own (bench/host.ts forks it): a fresh heap per framework and
// workload, the globals jax-js needs kept away from the others, and a crash costs one cell.
// Reads a Job (JSON) from argv, sends back a JobResult over IPC.
import { gcnProblem, geluInput, matmulInputs, mlpProblem, sizes } from "../workloads/spec.js";
import { measure } from "./timing.js";
import type { Cell, Column, Framework, Job, JobResult } from "./types.js";

async function create(column: Column, job: Job): Promise<Framework> {
  switch (column) {
    case "smelt":
      return (await import("./smelt.js")).createSmelt(job.smeltDevice);
    case "jax":
      return (await import("./jax.js")).createJax(true);
    case "tfjs-wasm":
      return (await import("./tfjs.js")).createTfjs("wasm");
    case "tfjs-cpu":
      return (await import("./tfjs.js")).createTfjs("cpu");
    default:
      column satisfies never;
      throw new Error(`unknown column ${String(column)}`);
  }
}

function cellFor(fw: Framework, job: Job): Cell {
  const s = sizes(job.small);
  switch (job.workload) {
    case "gelu":
      return fw.gelu(geluInput(s.geluN));
    case "matmul": {
      const { a, b } = matmulInputs(s.matmulN);
      return fw.matmul(a, b, s.matmulN);
    }
    case "mlp":
      return fw.mlp(mlpProblem(s));
    case "gcn":
      return fw.gcn(gcnProblem(s, job.cora));
    default:
      job.workload satisfies never;
      throw new Error(`unknown workload ${String(job.workload)}`);
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

async function runJob(job: Job): Promise<JobResult> {
  let fw: Framework;
  try {
    fw = await create(job.column, job);
  } catch (e) {
    return { ok: false, config: "", error: `unavailable: ${message(e)}` };
  }
  try {
    const cell = cellFor(fw, job);
    const ms = await measure(cell, job.reps);
    const check = await cell.check();
    return { ok: true, config: fw.config, ms, check };
  } catch (e) {
    if (process.env["BENCH_DEBUG"]) console.error(e);
    return { ok: false, config: fw.config, error: `failed: ${message(e)}` };
  }
}

const job = JSON.parse(process.argv[2] ?? "null") as Job | null;
if (!job || !process.send) {
  console.error("bench/peers/child.ts is started by bench/host.ts");
  process.exit(2);
}
const result = await runJob(job);
// Exit once the result is out: jax-js's worker pool would keep the process alive.
process.send(result, () => process.exit(0));
