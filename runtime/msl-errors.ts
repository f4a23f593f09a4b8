// Compiler messages about a library's MSL, told in terms of the user's program: the kernel whose
// text holds the line, the graph ops that kernel computes and where the user wrote them, and
// the offending MSL line. Metal names the source `program_source`; clang, compiling the same
// text through the host header, names the file (`/tmp/.../lib.metal`). Both say LINE:COL.
import { type EmittedProgram, MSL } from "../src/codegen-msl/index.js";
import { CompileError } from "../src/ir/errors.js";
import type { Kernel, Program } from "../src/ir/kernel.js";
import { locStr } from "../src/ir/loc.js";

export type Severity = "fatal error" | "error" | "warning" | "note";

export interface MslDiagnostic {
  readonly line: number;
  readonly column: number;
  readonly severity: Severity;
  readonly message: string;
}

// `program_source:12:5: error: ...` or `/any/path/lib.metal:12:5: error: ...` at a line start.
const DIAGNOSTIC = /^(?:program_source|\S*\.metal):(\d+):(\d+):\s+(fatal error|error|warning|note):\s*(.*)$/gm;

/** Every diagnostic on the library's own lines (not on a header's), in order. */
export function parseMslDiagnostics(text: string): MslDiagnostic[] {
  return [...text.matchAll(DIAGNOSTIC)].map((m) => ({
    line: Number(m[1]),
    column: Number(m[2]),
    severity: m[3] as Severity,
    message: m[4]!.trim(),
  }));
}

export interface KernelSpan {
  /** The MSL function. */
  readonly entry: string;
  /** 1-based, inclusive: from the kernel's first function (its helpers come first) to its closing brace. */
  readonly first: number;
  readonly last: number;
}

/**
 * Where each kernel's text lies. A kernel is its `kernel void ENTRY(` function and the
 * functions just before it named after it (`ENTRY_thread`, ...); the prelude, helpers every
 * kernel shares, and the host-only trampolines belong to no kernel.
 */
export function kernelSpans(source: string, emitted: EmittedProgram): KernelSpan[] {
  const lines = source.split("\n");
  const entries = new Set(emitted.kernels.map((k) => k.entry));
  const signature = new RegExp(`^${MSL.kernelPrefix} (\\w+)\\(`);
  const spans: KernelSpan[] = [];
  /** The first line (0-based) after the previous kernel's text and trampolines. */
  let boundary = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith(MSL.hostOnly.begin)) {
      while (i < lines.length && lines[i] !== MSL.hostOnly.end) i++;
      boundary = i + 1;
      continue;
    }
    const m = signature.exec(lines[i]!);
    if (!m || !entries.has(m[1]!)) continue;
    const entry = m[1]!;
    const named = new RegExp(`^\\S.*\\b${entry}\\w*\\(`);
    let first = i;
    for (let j = boundary; j < i; j++) {
      if (named.test(lines[j]!)) {
        first = j;
        break;
      }
    }
    // The function's closing brace is the first one at the start of a line.
    let last = i;
    while (last + 1 < lines.length && lines[last] !== "}") last++;
    spans.push({ entry, first: first + 1, last: last + 1 });
    boundary = last + 1;
    i = last;
  }
  return spans;
}

const MAX_OPS = 8;
const MAX_DIAGNOSTICS = 5;

/** "exp at model.ts:12:5, sum at model.ts:13:9" for the graph ops a kernel computes. */
export function opsOf(k: Kernel | undefined): string {
  if (!k || k.sources.length === 0) return "ops unknown";
  const seen = new Set<string>();
  for (const s of k.sources) seen.add(s.loc ? `${s.op} at ${locStr(s.loc)}${s.loc.expr ? ` (${s.loc.expr})` : ""}` : s.op);
  const ops = [...seen];
  return ops.slice(0, MAX_OPS).join(", ") + (ops.length > MAX_OPS ? `, and ${ops.length - MAX_OPS} more` : "");
}

/** Where an MSL line is, in the program's terms. */
function placeOf(line: number, spans: readonly KernelSpan[], program: Program, emitted: EmittedProgram): string {
  const span = spans.find((s) => s.first <= line && line <= s.last);
  if (!span) {
    const firstKernel = spans[0]?.first ?? Infinity;
    return line < firstKernel ? "in the library prelude (helpers every kernel shares)" : "outside every kernel";
  }
  // Identical kernels share one function: every one of them is affected.
  const names = emitted.kernels.filter((k) => k.entry === span.entry).map((k) => k.name);
  return names
    .map((n) => `in kernel ${n} (MSL function ${span.entry}), computing ${opsOf(program.kernels.find((k) => k.name === n))}`)
    .join("\n  and ");
}

/**
 * A compiler's complaint about `source` (the library `emitted` describes, by default its own
 * text) as one message: each error with its kernel, ops and MSL line. Without a diagnostic this
 * tool can place, the compiler's text is kept as it is.
 */
export function describeMslErrors(
  program: Program,
  emitted: EmittedProgram,
  compilerText: string,
  source: string = emitted.source,
): string {
  const all = parseMslDiagnostics(compilerText);
  const errors = all.filter((d) => d.severity === "error" || d.severity === "fatal error");
  const shown = (errors.length ? errors : all).slice(0, MAX_DIAGNOSTICS);
  const head = `Metal could not compile the kernels of @${program.name}`;
  if (shown.length === 0) return `${head}:\n${compilerText.trim()}`;
  const lines = source.split("\n");
  const spans = kernelSpans(source, emitted);
  const parts = shown.map((d) => {
    const text = lines[d.line - 1]?.trim() ?? "";
    return [
      `  ${placeOf(d.line, spans, program, emitted)}`,
      `    MSL line ${d.line}:${d.column}: ${d.severity}: ${d.message}`,
      `    ${d.line} | ${text}`,
    ].join("\n");
  });
  const more = errors.length > shown.length ? `\n  (${errors.length - shown.length} more errors)` : "";
  return `${head}:\n${parts.join("\n")}${more}`;
}

export function mslCompileError(program: Program, emitted: EmittedProgram, compilerText: string, source?: string): CompileError {
  return new CompileError(describeMslErrors(program, emitted, compilerText, source));
}
