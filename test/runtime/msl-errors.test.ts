// Compiler messages on emitted MSL mapped back to kernels, their graph ops and source lines:
// Metal's format (written here by hand), and clang's, from compiling a deliberately broken
// library with the host header.
import { describe, expect, it } from "vitest";
import { type EmittedProgram, emitProgram } from "../../src/codegen-msl/index.js";
import { CompileError } from "../../src/ir/errors.js";
import { type Kernel, parseFunc, type Program } from "../../src/ir/index.js";
import { fuse } from "../../src/passes/fuse.js";
import {
  describeMslErrors,
  kernelSpans,
  mslCompileError,
  parseMslDiagnostics,
} from "../../runtime/msl-errors.js";
import { findClang, programText, syntaxCheck } from "../codegen-msl/support/host.js";

const clang = findClang();
if (!clang) console.log("test/runtime/msl-errors.test.ts: clang-19 not found, the clang case is skipped (CI installs it)");

/** softmax as one kernel per op: nine kernels, each with its own MSL function. */
function softmax(cooperative = true): { program: Program; emitted: EmittedProgram } {
  const program = fuse(parseFunc(programText("softmax")), { strategy: "none" });
  return { program, emitted: emitProgram(program, { cooperative }) };
}

/** 1-based number of the first line satisfying `pred` at or after line `from`. */
function lineWhere(lines: readonly string[], from: number, pred: (l: string) => boolean): number {
  for (let i = from - 1; i < lines.length; i++) if (pred(lines[i]!)) return i + 1;
  throw new Error("no such line");
}

/** The 1-based line of `kernel void ENTRY(`. */
const kernelLine = (lines: readonly string[], entry: string): number =>
  lineWhere(lines, 1, (l) => l.startsWith(`kernel void ${entry}(`));

/**
 * The first line containing `needle` among the kernel's own lines: after the host-only block
 * that ends the previous kernel, before the one that follows this kernel.
 */
function kernelLineWith(lines: readonly string[], entry: string, needle: string): number {
  const k = kernelLine(lines, entry);
  let from = k - 1;
  while (from > 0 && lines[from - 1] !== "#endif") from--;
  const to = lineWhere(lines, k, (l) => l === "#ifdef SMELT_HOST");
  const at = lineWhere(lines, from + 1, (l) => l.includes(needle));
  if (at >= to) throw new Error(`no ${needle} in the text of ${entry}`);
  return at;
}

describe("parseMslDiagnostics", () => {
  it("reads Metal's program_source format, with its source echo and caret", () => {
    const text = [
      "program_source:57:12: error: use of undeclared identifier 'v3'",
      "    const int v4 = v3 + 1;",
      "                   ^",
      "program_source:60:3: warning: unused variable 'v9'",
    ].join("\n");
    expect(parseMslDiagnostics(text)).toEqual([
      { line: 57, column: 12, severity: "error", message: "use of undeclared identifier 'v3'" },
      { line: 60, column: 3, severity: "warning", message: "unused variable 'v9'" },
    ]);
  });

  it("reads clang's path:LINE:COL format and skips diagnostics in headers", () => {
    const text = [
      "/usr/include/smelt_msl_host.h:200:7: note: candidate function not viable",
      "/tmp/smelt-msl-abc/lib.metal:9:1: fatal error: 'missing.h' file not found",
      "In file included from <built-in>:1:",
    ].join("\n");
    expect(parseMslDiagnostics(text)).toEqual([
      { line: 9, column: 1, severity: "fatal error", message: "'missing.h' file not found" },
    ]);
  });
});

describe("kernelSpans", () => {
  it("covers each kernel's functions, from the first named after it to its closing brace", () => {
    for (const cooperative of [true, false]) {
      const { emitted } = softmax(cooperative);
      const lines = emitted.source.split("\n");
      const spans = kernelSpans(emitted.source, emitted);
      expect(spans.map((s) => s.entry)).toEqual([...new Set(emitted.kernels.map((k) => k.entry))]);
      for (const s of spans) {
        const k = kernelLine(lines, s.entry);
        expect(s.first).toBeLessThanOrEqual(k);
        expect(lines[s.first - 1]).toMatch(new RegExp(`^\\S.*\\b${s.entry}`));
        expect(lines[s.last - 1]).toBe("}");
        expect(lines[s.last]).toBe("#ifdef SMELT_HOST");
        // Nothing of this kernel's before its span, back to the previous kernel's trampolines.
        for (let i = s.first - 2; i >= 0 && lines[i] !== "#endif"; i--) expect(lines[i]).not.toContain(s.entry);
      }
    }
  });
});

describe("describeMslErrors", () => {
  it("names the kernel, its ops with their source lines, and the MSL line of a Metal error", () => {
    const { program, emitted } = softmax();
    const target = emitted.kernels[3]!;
    const withLocs: Program = {
      ...program,
      kernels: program.kernels.map(
        (k): Kernel =>
          k.name === target.name
            ? { ...k, sources: [{ op: "sub", loc: { file: "model.ts", line: 12, col: 5, expr: "x.sub(m)" } }] }
            : k,
      ),
    };
    const lines = emitted.source.split("\n");
    const at = kernelLine(lines, target.entry) + 3;
    const text = `program_source:${at}:9: error: use of undeclared identifier 'q'\n  ${lines[at - 1]}\n        ^\n`;
    const msg = describeMslErrors(withLocs, emitted, text);
    expect(msg).toContain("Metal could not compile the kernels of @softmax:");
    expect(msg).toContain(`in kernel ${target.name} (MSL function ${target.entry}), computing sub at model.ts:12:5 (x.sub(m))`);
    expect(msg).toContain(`MSL line ${at}:9: error: use of undeclared identifier 'q'`);
    expect(msg).toContain(`${at} | ${lines[at - 1]!.trim()}`);
    const others = emitted.kernels.filter((k) => k.entry !== target.entry);
    for (const k of others) expect(msg).not.toContain(`kernel ${k.name} `);
  });

  it("a line in the prelude is the library's, not a kernel's", () => {
    const { program, emitted } = softmax();
    const at = lineWhere(emitted.source.split("\n"), 1, (l) => l.startsWith("struct smelt_meta"));
    const msg = describeMslErrors(program, emitted, `program_source:${at}:1: error: redefinition of 'smelt_meta'`);
    expect(msg).toContain("in the library prelude");
    expect(msg).not.toContain("in kernel");
  });

  it("an error in a function identical kernels share names every one of them", () => {
    const program = fuse(parseFunc(programText("layernorm")), { strategy: "none" });
    const emitted = emitProgram(program, { cooperative: true });
    const byEntry = new Map<string, string[]>();
    for (const k of emitted.kernels) byEntry.set(k.entry, [...(byEntry.get(k.entry) ?? []), k.name]);
    const [entry, names] = [...byEntry].find(([, ns]) => ns.length > 1)!;
    const at = kernelLine(emitted.source.split("\n"), entry) + 1;
    const msg = describeMslErrors(program, emitted, `program_source:${at}:5: error: unknown type name 'flaot'`);
    for (const n of names) expect(msg).toContain(`in kernel ${n} (MSL function ${entry})`);
  });

  it("keeps the compiler's text when it places nothing", () => {
    const { program, emitted } = softmax();
    const msg = describeMslErrors(program, emitted, "Compiler encountered an internal error");
    expect(msg).toBe("Metal could not compile the kernels of @softmax:\nCompiler encountered an internal error");
    expect(mslCompileError(program, emitted, "x")).toBeInstanceOf(CompileError);
  });

  it.skipIf(!clang)("maps clang's error on a deliberately broken kernel back to that kernel", async () => {
    // Serial reductions: no kernel-scope threadgroup arrays, which C++ needs the host's rewrite for.
    const { program, emitted } = softmax(false);
    const target = emitted.kernels[3]!;
    const lines = emitted.source.split("\n");
    // Break one line of the target kernel's body without moving any line.
    const at = kernelLineWith(lines, target.entry, "meta.n");
    const broken = [...lines];
    broken[at - 1] = lines[at - 1]!.replace("meta.n", "meta.count");
    const source = broken.join("\n");
    const r = await syntaxCheck(clang!, source);
    expect(r.ok).toBe(false);
    expect(parseMslDiagnostics(r.stderr).filter((d) => d.severity === "error")).toHaveLength(1);
    const msg = describeMslErrors(program, emitted, r.stderr, source);
    const kernel = program.kernels.find((k) => k.name === target.name)!;
    expect(msg).toContain(`in kernel ${target.name} (MSL function ${target.entry}), computing ${kernel.sources[0]!.op}`);
    expect(msg).toMatch(new RegExp(`MSL line ${at}:\\d+: error: no member named 'count'`));
    expect(msg).toContain(`${at} | ${broken[at - 1]!.trim()}`);
  });
});
