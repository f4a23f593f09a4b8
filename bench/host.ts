// Host benchmark: smelt's "host" device against jax-js (wasm, jit) and TensorFlow.js (wasm and
// plain JS backends) on four workloads, every cell in a process of its own, one table of medians,
// each result checked against the others (or a float64 oracle) so a fast wrong answer shows.
// Run: npm run bench:host [-- --only gelu,matmul,mlp,gcn] [--reps N] [--small] [--cora DIR]
//      [--columns smelt,jax,tfjs-wasm,tfjs-cpu] [--smelt-device NAME]
// --small: small shapes, smelt on the "interp" device unless --smelt-device says otherwise.
// BENCH_DEBUG=1 prints each cell's check values and a failing cell's stack.
import { fork } from "node:child_process";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUDGET_MS, MAX_REPS, median, MIN_REPS, ONE_WARMUP_MS, WARMUP } from "./peers/timing.js";
import { type Column, COLUMNS, type Job, type JobResult } from "./peers/types.js";
import {
  agrees,
  CHECK_STEPS,
  describe,
  geluInput,
  geluOracle,
  matmulInputs,
  matmulOracle,
  type Sizes,
  sizes,
  tolerance,
  type WorkloadName,
  WORKLOADS,
} from "./workloads/spec.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..");
const CHILD = join(HERE, "peers", "child.ts");
/** A cell that takes longer than this is stopped and reported as such. */
const JOB_TIMEOUT_MS = 180_000;

const TITLES: Record<Column, string> = { smelt: "smelt", jax: "jax-js", "tfjs-wasm": "tfjs-wasm", "tfjs-cpu": "tfjs-cpu" };

/** The issue's targets: smelt's speed over the fastest peer's. */
const TARGETS: Record<WorkloadName, number> = { gelu: 3, matmul: 1.5, mlp: 2, gcn: 2 };

interface Options {
  readonly workloads: WorkloadName[];
  readonly columns: Column[];
  readonly reps: number | undefined;
  readonly small: boolean;
  readonly cora: string;
  readonly smeltDevice: string;
}

function listOf<T extends string>(what: string, raw: string | undefined, all: readonly T[]): T[] {
  if (raw === undefined) return [...all];
  const names = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(all as readonly string[]).includes(n)) throw new Error(`--${what}: unknown "${n}" (one of ${all.join(", ")})`);
  }
  return all.filter((x) => names.includes(x));
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      columns: { type: "string" },
      reps: { type: "string" },
      small: { type: "boolean", default: false },
      cora: { type: "string", default: resolve(REPO, "../shared/data/cora") },
      "smelt-device": { type: "string" },
    },
  });
  const reps = values.reps === undefined ? undefined : Number(values.reps);
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${values.reps}`);
  return {
    workloads: listOf("only", values.only, WORKLOADS),
    columns: listOf("columns", values.columns, COLUMNS),
    reps,
    small: values.small,
    cora: resolve(values.cora),
    // Small shapes are for checking the smelt column end to end on the reference interpreter.
    smeltDevice: values["smelt-device"] ?? (values.small ? "interp" : "host"),
  };
}

function runJob(job: Job): Promise<JobResult> {
  return new Promise((done) => {
    const child = fork(CHILD, [JSON.stringify(job)], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let stderr = "";
    let result: JobResult | undefined;
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on("message", (m) => (result = m as JobResult));
    const timer = setTimeout(() => child.kill("SIGKILL"), JOB_TIMEOUT_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (result) return done(result);
      const why = signal === "SIGKILL" ? `timed out after ${JOB_TIMEOUT_MS / 1000} s` : `exited with ${signal ?? code}`;
      const last = stderr.trim().split("\n").filter(Boolean).at(-1) ?? "";
      done({ ok: false, config: "", error: `failed: ${why}${last ? `: ${last}` : ""}` });
    });
  });
}

/** The values every column must agree with: a float64 oracle where cheap, else the columns' median. */
function reference(w: WorkloadName, s: Sizes, results: readonly JobResult[]): number[] | undefined {
  if (w === "gelu") return geluOracle(geluInput(s.geluN));
  if (w === "matmul") {
    const { a, b } = matmulInputs(s.matmulN);
    return matmulOracle(a, b, s.matmulN);
  }
  const checks = results.flatMap((r) => (r.ok ? [r.check] : []));
  if (checks.length === 0) return undefined;
  return checks[0]!.map((_, i) => median(checks.map((c) => c[i] ?? NaN)));
}

interface Row {
  readonly workload: WorkloadName;
  readonly results: Map<Column, JobResult>;
  readonly passed: Map<Column, boolean>;
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(2));

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

/** Speed of smelt over the fastest peer whose answer checked (peer ms / smelt ms). */
function speedup(row: Row): number | undefined {
  const smelt = row.results.get("smelt");
  if (!smelt?.ok) return undefined;
  const peers = [...row.results].filter(([c, r]) => c !== "smelt" && r.ok && row.passed.get(c));
  if (peers.length === 0) return undefined;
  const fastest = Math.min(...peers.map(([, r]) => median((r as { ms: number[] }).ms)));
  return fastest / median(smelt.ms);
}

function table(rows: Row[], opts: Options, s: Sizes): string {
  const cols = opts.columns;
  const widths = [28, 8, ...cols.map(() => 11), 14];
  const head = pad(["workload", "unit", ...cols.map((c) => TITLES[c]), "smelt/fastest"], widths);
  const lines = [head, "-".repeat(head.length)];
  for (const row of rows) {
    const d = describe(row.workload, s);
    const cell = (c: Column, value: (ms: number) => string, mark: boolean) => {
      const r = row.results.get(c);
      if (!r) return "";
      if (!r.ok) return r.error.startsWith("unavailable") ? "n/a" : "failed";
      return value(median(r.ms)) + (mark ? (row.passed.get(c) ? " ✓" : " ✗") : "");
    };
    const ratio = speedup(row);
    const ratioText = ratio === undefined ? "-" : `${ratio.toFixed(2)}x ${ratio >= TARGETS[row.workload] ? "✓" : "✗"}`;
    lines.push(pad([d.label, "ms", ...cols.map((c) => cell(c, fmt, true)), ratioText], widths));
    if (d.unit) {
      const u = d.unit;
      lines.push(pad(["", u.name, ...cols.map((c) => cell(c, (ms) => fmt(u.perMs / ms), false)), ""], widths));
    }
  }
  return lines.join("\n");
}

function notes(rows: Row[], opts: Options): string[] {
  const out: string[] = [];
  for (const c of opts.columns) {
    const rs = rows.map((r) => r.results.get(c)).filter((r): r is JobResult => r !== undefined);
    const config = rs.find((r) => r.config)?.config;
    const errors = [...new Set(rs.flatMap((r) => (r.ok ? [] : [r.error])))];
    out.push(`  ${TITLES[c].padEnd(10)} ${config ?? ""}${config && errors.length ? "; " : ""}${errors.join("; ")}`);
  }
  return out;
}

function parsedOptions(): Options {
  try {
    return options(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const opts = parsedOptions();
  const s = sizes(opts.small);
  const loadBefore = loadavg()[0]!;
  const rows: Row[] = [];
  for (const workload of opts.workloads) {
    const results = new Map<Column, JobResult>();
    for (const column of opts.columns) {
      const job: Job = { column, workload, small: opts.small, reps: opts.reps, cora: opts.cora, smeltDevice: opts.smeltDevice };
      const r = await runJob(job);
      results.set(column, r);
      process.stderr.write(`${workload} / ${TITLES[column]}: ${r.ok ? `${fmt(median(r.ms))} ms (${r.ms.length} runs)` : r.error}\n`);
      if (r.ok && process.env["BENCH_DEBUG"]) process.stderr.write(`  check ${JSON.stringify(r.check.slice(0, 6))}\n`);
    }
    const want = reference(workload, s, [...results.values()]);
    const tol = tolerance(workload);
    const passed = new Map([...results].map(([c, r]) => [c, r.ok && want !== undefined && agrees(r.check, want, tol)] as const));
    rows.push({ workload, results, passed });
  }

  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const reps = opts.reps === undefined ? `${MIN_REPS} to ${MAX_REPS} timed runs (${BUDGET_MS / 1000} s per cell)` : `${opts.reps} timed runs`;
  // Other processes on the machine show up in every column: say how busy it was.
  const load = `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`;
  console.log(`smelt host benchmark: Node ${process.version}, ${availableParallelism()} cores (${cpu}), ${load}`);
  console.log(
    `median of ${reps} after ${WARMUP} warm-ups (1 when a run takes over ${ONE_WARMUP_MS / 1000} s), each cell in its own process` +
      (opts.small ? "; SMALL shapes" : ""),
  );
  console.log("columns:");
  for (const line of notes(rows, opts)) console.log(line);
  console.log("");
  console.log(table(rows, opts, s));
  console.log("");
  console.log(
    `✓/✗: agrees within rtol 1e-3 with a float64 oracle (GELU: sum and 32 samples, atol 1e-4; matmul: sum, u^T C v, 32 samples)` +
      ` or with the columns' median (MLP, GCN: the losses of ${CHECK_STEPS} steps from the same initial weights; GCN without dropout).`,
  );
  console.log("smelt/fastest: the fastest checked peer's time over smelt's (>1: smelt is faster).");
  console.log(
    `targets: elementwise chain >=${TARGETS.gelu}x faster than the fastest peer, matmul >=${TARGETS.matmul}x its GFLOP/s,` +
      ` MLP step >=${TARGETS.mlp}x faster, GCN epoch >=${TARGETS.gcn}x faster.`,
  );
  // Peers may leave worker pools behind in children, never here; exit explicitly anyway.
  process.exit(0);
}

await main();
