// From a differentiated func to a planned program: simplify, fuse, plan, with each stage's text
// handed to `after` as it is produced (for --dump-ir).
import { type Func, type Program, printProgram } from "../ir/index.js";
import { printFunc } from "../ir/print.js";
import { type FusionStrategy, fuse } from "./fuse.js";
import { type PlannedProgram, plan, printPlanned } from "./plan.js";
import { simplify } from "./simplify.js";
import { type ProgramStats, programStats } from "./stats.js";

export type LowerStage = "simplified" | "fused" | "planned";

export interface LowerOptions {
  readonly strategy: FusionStrategy;
  /** Param buffer names whose storage the caller gives up (see plan). */
  readonly donate?: readonly string[];
  readonly after?: (stage: LowerStage, text: string) => void;
}

export interface Lowered {
  readonly simplified: Func;
  readonly program: Program;
  readonly planned: PlannedProgram;
  readonly stats: ProgramStats;
}

export function lowerFunc(func: Func, opts: LowerOptions): Lowered {
  const simplified = simplify(func);
  opts.after?.("simplified", printFunc(simplified));
  const program = fuse(simplified, { strategy: opts.strategy });
  opts.after?.("fused", printProgram(program));
  const planned = plan(program, opts.donate ? { donate: opts.donate } : {});
  opts.after?.("planned", printPlanned(planned));
  return { simplified, program, planned, stats: programStats(planned) };
}
