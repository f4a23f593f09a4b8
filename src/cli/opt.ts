// `smelt opt`: IR text in; simplify, fuse and plan as asked; IR text or stats out.
import fs from "node:fs";
import { ParseError, type Func, type Program, printProgram, SmeltError } from "../ir/index.js";
import { parseModule } from "../ir/parse.js";
import { printModule } from "../ir/print.js";
import { verify } from "../ir/verify.js";
import { type FusionStrategy, fuse } from "../passes/fuse.js";
import { runPasses } from "../passes/manager.js";
import { type PlannedProgram, plan, printPlanned } from "../passes/plan.js";
import { simplifyPass } from "../passes/simplify.js";
import { programStats } from "../passes/stats.js";
import { listOf, NotAvailableError, oneOf, parseCommandLine, UsageError } from "./args.js";
import { OPT_HELP } from "./help.js";

const PASSES = ["simplify", "fuse", "plan"] as const;
type PassName = (typeof PASSES)[number];
const EMITS = ["ir", "msl", "stats"] as const;
type Emit = (typeof EMITS)[number];
const STRATEGIES = ["full", "elementwise", "none"] as const satisfies readonly FusionStrategy[];

/** What the passes have made of one func so far. */
type Stage =
  | { readonly kind: "graph"; readonly func: Func }
  | { readonly kind: "program"; readonly program: Program }
  | { readonly kind: "planned"; readonly program: PlannedProgram };

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

/** simplify works on graph IR, fuse turns graph IR into a program, plan works on a program. */
function checkOrder(passes: readonly PassName[]): void {
  let kind: Stage["kind"] = "graph";
  for (const p of passes) {
    const takes = p === "plan" ? "program" : "graph";
    if (kind !== takes) {
      const has = kind === "graph" ? "graph IR" : kind === "program" ? "a program" : "a planned program";
      throw new UsageError(`--passes: ${p} needs ${takes === "graph" ? "graph IR" : "a program"}, but has ${has} here`);
    }
    kind = p === "simplify" ? "graph" : p === "fuse" ? "program" : "planned";
  }
}

function runPass(stage: Stage, pass: PassName, strategy: FusionStrategy): Stage {
  switch (pass) {
    case "simplify":
      if (stage.kind !== "graph") break;
      return { kind: "graph", func: runPasses(stage.func, [simplifyPass], { verifyEach: true }) };
    case "fuse":
      if (stage.kind !== "graph") break;
      return { kind: "program", program: fuse(stage.func, { strategy }) };
    case "plan":
      if (stage.kind !== "program") break;
      return { kind: "planned", program: plan(stage.program) };
    default:
      return pass satisfies never;
  }
  // checkOrder rejects every other order before any pass runs.
  throw new Error(`opt: ${pass} cannot follow a ${stage.kind} stage`);
}

function printStage(stage: Stage): string {
  switch (stage.kind) {
    case "graph":
      return printModule([stage.func]);
    case "program":
      return printProgram(stage.program) + "\n";
    case "planned":
      return printPlanned(stage.program) + "\n";
    default:
      return stage satisfies never;
  }
}

function emitText(stages: readonly Stage[], emit: Emit): string {
  switch (emit) {
    case "ir":
      return stages.map(printStage).join("\n");
    case "stats": {
      const stats = stages.map((s) => {
        if (s.kind === "graph") throw new Error("opt: stats of graph IR"); // parseOptArgs requires fuse
        return { name: s.program.name, ...programStats(s.program) };
      });
      return JSON.stringify(stats.length === 1 ? stats[0] : stats, null, 2) + "\n";
    }
    case "msl":
      throw new NotAvailableError("msl: codegen is not available yet");
    default:
      return emit satisfies never;
  }
}

export function optCommand(argv: readonly string[]): number {
  const req = parseOptArgs(argv);
  if (req === "help") {
    process.stdout.write(OPT_HELP);
    return 0;
  }
  let text: string;
  try {
    text = fs.readFileSync(req.file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`opt: ${req.file}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? String(e)})`}`);
  }
  if (req.emit === "msl") throw new NotAvailableError("msl: codegen is not available yet");
  try {
    const stages = parseModule(text).map((func) => {
      let stage: Stage = { kind: "graph", func: verify(func) };
      for (const p of req.passes) stage = runPass(stage, p, req.strategy);
      return stage;
    });
    process.stdout.write(emitText(stages, req.emit));
    return 0;
  } catch (e) {
    if (e instanceof ParseError) {
      process.stderr.write(`${req.file}:${e.message}\n`);
      return 1;
    }
    if (e instanceof SmeltError && !(e instanceof UsageError)) {
      process.stderr.write(`${req.file}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
