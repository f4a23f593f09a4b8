// Traffic and memory figures of a program (issue 5): what fusion and planning bought. Bytes
// moved count each buffer a kernel touches once at its full size, however often or wherever it
// is loaded: a rough model of DRAM traffic that caches make true for small broadcast operands.
import type { Program } from "../ir/index.js";
import { bufferBytes, kernelAccess, type PlannedProgram, plan } from "./plan.js";

export interface ProgramStats {
  readonly kernels: number;
  /** Over kernels: every distinct buffer read plus every distinct buffer written. */
  readonly bytesMoved: number;
  /** Every param read once and every result written once: what no schedule can beat. */
  readonly minimalBytes: number;
  readonly peakBytes: number;
  readonly naivePeakBytes: number;
}

export function programStats(program: Program | PlannedProgram): ProgramStats {
  const bytes = new Map(program.buffers.map((b) => [b.name, bufferBytes(b.type)]));
  const of = (names: Iterable<string>) => [...names].reduce((s, n) => s + (bytes.get(n) ?? 0), 0);
  let bytesMoved = 0;
  for (const k of program.kernels) {
    const a = kernelAccess(k);
    bytesMoved += of(a.reads) + of(a.writes);
  }
  const kinds = new Map(program.buffers.map((b) => [b.name, b.kind]));
  // A param returned as it is needs no write.
  const written = new Set(program.results.filter((n) => kinds.get(n) === "result"));
  const minimalBytes = of(new Set(program.params)) + of(written);
  const memory = "plan" in program ? program.plan : plan(program).plan;
  return {
    kernels: program.kernels.length,
    bytesMoved,
    minimalBytes,
    peakBytes: memory.peakBytes,
    naivePeakBytes: memory.naivePeakBytes,
  };
}
