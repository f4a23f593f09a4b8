// The user's source location of an op: the first stack frame outside smelt itself.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Loc } from "../ir/loc.js";

// This file sits in <root>/src/frontend (or <root>/dist/src/frontend when built): smelt's own
// frames are those under <root>/src and <root>/runtime.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const internalDirs = [path.join(packageRoot, "src") + path.sep, path.join(packageRoot, "runtime") + path.sep];

// Enough frames for smelt's own nesting (op -> composite -> method -> nn layer); a deeper
// stack is rare and retried once with no limit.
const FRAMES = 24;

const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;

function isInternal(file: string): boolean {
  return (
    file.startsWith("node:") ||
    file.includes(`${path.sep}node_modules${path.sep}`) ||
    internalDirs.some((d) => file.startsWith(d))
  );
}

function toPath(file: string): string {
  return file.startsWith("file://") ? fileURLToPath(file) : file;
}

function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}

function firstUserFrame(stack: string): Loc | undefined {
  const lines = stack.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const m = FRAME.exec(lines[i]!);
    if (!m) continue;
    const file = toPath(m[1]!);
    if (isInternal(file) || !file.includes(path.sep)) continue;
    return { file: displayPath(file), line: Number(m[2]), col: Number(m[3]) };
  }
  return undefined;
}

function stackWithLimit(limit: number): string {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  try {
    return new Error().stack ?? "";
  } finally {
    Error.stackTraceLimit = saved;
  }
}

/** `file:line:col` of the innermost caller outside smelt, or undefined when there is none. */
export function userLoc(): Loc | undefined {
  const stack = stackWithLimit(FRAMES);
  const loc = firstUserFrame(stack);
  if (loc || stack.split("\n").length <= FRAMES) return loc;
  return firstUserFrame(stackWithLimit(Infinity));
}
