// The work of `smelt opt` once its command line is checked: parse, verify, run the passes over
// each func, print. Kept apart from opt.ts so that a bad command line is answered without
// loading the parser and the passes.
import { emitProgram } from "../codegen-msl/index.js";
import { type Func, type Program, printProgram } from "../ir/index.js";
import { parseModule } from "../ir/parse.js";
import { printModule } from "../ir/print.js";
import { verify } from "../ir/verify.js";
import { type FusionStrategy, fuse } from "../passes/fuse.js";
import { runPasses } from "../passes/manager.js";
import { type PlannedProgram, plan, printPlanned } from "../passes/plan.js";
import { simplifyPass } from "../passes/simplify.js";
import { programStats } from "../passes/stats.js";
import type { PassName } from "./opt.js";

type Stage =
  | { readonly kind: "graph"; readonly func: Func }
  | { readonly kind: "program"; readonly program: Program }
  | { readonly kind: "planned"; readonly program: PlannedProgram };

export interface OptimizeRequest {
  /** In an order PASS_TYPES (opt.ts) allows. */
  readonly passes: readonly PassName[];
  readonly strategy: FusionStrategy;
  /** `stats` only after fuse; `msl` fuses and plans what the passes left as graph IR. */
  readonly emit: "ir" | "stats" | "msl";
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
  // The command line is checked against PASS_TYPES before any pass runs.
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

function statsText(stages: readonly Stage[]): string {
  const stats = stages.map((s) => {
    if (s.kind === "graph") throw new Error("opt: stats of graph IR"); // the command line asks for fuse
    return { name: s.program.name, ...programStats(s.program) };
  });
  return JSON.stringify(stats.length === 1 ? stats[0] : stats, null, 2) + "\n";
}

/** The output of `smelt opt` for IR text; throws ParseError or VerifyError for bad text. */
export function optimize(text: string, req: OptimizeRequest): string {
  const stages = parseModule(text).map((func) => {
    let stage: Stage = { kind: "graph", func: verify(func) };
    for (const p of req.passes) stage = runPass(stage, p, req.strategy);
    return stage;
  });
  if (req.emit === "msl") return stages.map((s) => emitProgram(planned(s, req.strategy), METAL).source).join("\n");
  return req.emit === "stats" ? statsText(stages) : stages.map(printStage).join("\n");
}

/** The kernels Metal runs: threadgroup reductions, simdgroup_matrix contractions. */
const METAL = { cooperative: true, matmul: "simdgroup" } as const;

function planned(stage: Stage, strategy: FusionStrategy): PlannedProgram {
  switch (stage.kind) {
    case "graph":
      return plan(fuse(stage.func, { strategy }));
    case "program":
      return plan(stage.program);
    case "planned":
      return stage.program;
    default:
      return stage satisfies never;
  }
}
