// `smelt opt`: IR text in; simplify, fuse and plan as asked; IR text or stats out.
import fs from "node:fs";
import { ParseError, SmeltError } from "../ir/errors.js";
import type { FusionStrategy } from "../passes/fuse.js";
import { listOf, oneOf, parseCommandLine, UsageError } from "./args.js";
import { OPT_HELP } from "./help.js";

export const PASSES = ["simplify", "fuse", "plan"] as const;
export type PassName = (typeof PASSES)[number];
const EMITS = ["ir", "msl", "stats"] as const;
type Emit = (typeof EMITS)[number];
const STRATEGIES = ["full", "elementwise", "none"] as const satisfies readonly FusionStrategy[];

type StageKind = "graph" | "program" | "planned";

/** simplify works on graph IR, fuse turns graph IR into a program, plan works on a program. */
const PASS_TYPES: Readonly<Record<PassName, { readonly takes: StageKind; readonly gives: StageKind }>> = {
  simplify: { takes: "graph", gives: "graph" },
  fuse: { takes: "graph", gives: "program" },
  plan: { takes: "program", gives: "planned" },
};

const STAGE_WORDS: Readonly<Record<StageKind, string>> = {
  graph: "graph IR",
  program: "a program",
  planned: "a planned program",
};

interface OptRequest {
  readonly file: string;
  readonly passes: readonly PassName[];
  readonly emit: Emit;
  readonly strategy: FusionStrategy;
}

function parseOptArgs(argv: readonly string[]): OptRequest | "help" {
  const { values, positionals } = parseCommandLine({
    args: [...argv],
    allowPositionals: true,
    options: {
      passes: { type: "string" },
      emit: { type: "string" },
      strategy: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(`opt: expected one IR file (smelt opt <file.smir>), got ${positionals.length}`);
  }
  const passes = values.passes === undefined ? [] : listOf("--passes", values.passes, PASSES);
  checkOrder(passes);
  if (values.strategy !== undefined && !passes.includes("fuse")) {
    throw new UsageError("--strategy applies to the fuse pass, which --passes does not include");
  }
  const emit = values.emit === undefined ? "ir" : oneOf("--emit", values.emit, EMITS);
  if (emit === "stats" && !passes.includes("fuse")) {
    throw new UsageError("--emit stats: stats are of a program; add fuse to --passes (e.g. --passes simplify,fuse)");
  }
  return {
    file: positionals[0]!,
    passes,
    emit,
    strategy: values.strategy === undefined ? "full" : oneOf("--strategy", values.strategy, STRATEGIES),
  };
}

function checkOrder(passes: readonly PassName[]): void {
  let kind: StageKind = "graph";
  for (const p of passes) {
    const { takes, gives } = PASS_TYPES[p];
    if (kind !== takes) {
      throw new UsageError(`--passes: ${p} needs ${STAGE_WORDS[takes]}, but has ${STAGE_WORDS[kind]} here`);
    }
    kind = gives;
  }
}

function readInput(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`opt: ${file}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? String(e)})`}`);
  }
}

export async function optCommand(argv: readonly string[]): Promise<number> {
  const req = parseOptArgs(argv);
  if (req === "help") {
    process.stdout.write(OPT_HELP);
    return 0;
  }
  const text = readInput(req.file);
  const { optimize } = await import("./opt-pipeline.js");
  try {
    process.stdout.write(optimize(text, { passes: req.passes, strategy: req.strategy, emit: req.emit }));
    return 0;
  } catch (e) {
    // ParseError's message starts with `line:col: `.
    if (e instanceof ParseError) {
      process.stderr.write(`${req.file}:${e.message}\n`);
      return 1;
    }
    if (e instanceof SmeltError) {
      process.stderr.write(`${req.file}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
