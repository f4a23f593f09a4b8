// `smelt run`: the user's program in a child Node process with tsx's loader, configured through
// the environment (the frontend reads SMELT_DEVICE, SMELT_DUMP_IR and SMELT_DUMP_DIR).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { listOf, oneOf, parseCommandLine, UsageError } from "./args.js";
import { DUMP_STAGES, RUN_HELP } from "./help.js";

const DEVICES = ["metal", "host", "interp"] as const;
const STAGE_NAMES = [...DUMP_STAGES, "all"] as const;

export interface RunPlan {
  readonly file: string;
  readonly programArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** The command line of `smelt run` (after `run`) as the file, its arguments and the env to add. */
export function planRun(argv: readonly string[]): RunPlan | "help" {
  const dashes = argv.indexOf("--");
  const ours = dashes < 0 ? argv : argv.slice(0, dashes);
  const theirs = dashes < 0 ? [] : argv.slice(dashes + 1);
  // parseArgs gives a string option no optional value: a bare --dump-ir would swallow the next
  // argument (often the file), so it is spelled out first.
  const args = ours.map((a) => (a === "--dump-ir" ? "--dump-ir=all" : a));
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      device: { type: "string" },
      "dump-ir": { type: "string" },
      "dump-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const [file, ...rest] = positionals;
  if (file === undefined) throw new UsageError("run: missing the program file (smelt run <file.ts|file.js>)");
  const env: Record<string, string> = {};
  if (values.device !== undefined) env["SMELT_DEVICE"] = oneOf("--device", values.device, DEVICES);
  if (values["dump-ir"] !== undefined) env["SMELT_DUMP_IR"] = stagesOf(values["dump-ir"]);
  if (values["dump-dir"] !== undefined) {
    if (values["dump-dir"] === "") throw new UsageError("--dump-dir: empty directory name");
    env["SMELT_DUMP_DIR"] = path.resolve(values["dump-dir"]);
    env["SMELT_DUMP_IR"] ??= "all";
  }
  return { file, programArgs: [...rest, ...theirs], env };
}

function stagesOf(value: string): string {
  const stages = listOf("--dump-ir", value, STAGE_NAMES);
  return stages.includes("all") ? "all" : [...new Set(stages)].join(",");
}

/** The tsx loader smelt itself depends on, so a program runs without tsx in its own project. */
const tsxLoader = (): string => import.meta.resolve("tsx");

export async function runCommand(argv: readonly string[]): Promise<number> {
  const planned = planRun(argv);
  if (planned === "help") {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const file = path.resolve(planned.file);
  if (!fs.existsSync(file)) throw new UsageError(`run: ${planned.file}: no such file`);
  const dumpDir = planned.env["SMELT_DUMP_DIR"];
  if (dumpDir !== undefined) fs.mkdirSync(dumpDir, { recursive: true });
  const child = spawn(process.execPath, ["--import", tsxLoader(), file, ...planned.programArgs], {
    stdio: "inherit",
    env: { ...process.env, ...planned.env },
  });
  return exitStatusOf(child);
}

function exitStatusOf(child: ReturnType<typeof spawn>): Promise<number> {
  // Ctrl-C reaches the whole process group, the child included: this process waits for the
  // child's own answer to it. A SIGTERM sent to smelt alone is passed on.
  const onInt = () => {};
  const onTerm = () => child.kill("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      if (signal !== null) resolve(128 + (os.constants.signals[signal] ?? 0));
      else resolve(code ?? 1);
    });
  });
}
