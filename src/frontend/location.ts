// The user's source location of an op: the first stack frame outside smelt itself. Frames are
// read as V8 call sites (cheap) and only the chosen one is formatted, through whatever
// source-map support is installed (`Error.prepareStackTrace`), so a TypeScript file reports
// its own lines.
import { findSourceMap } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Loc } from "../ir/loc.js";

// This file sits in <root>/src/frontend (or <root>/dist/src/frontend when built): smelt's own
// frames are those under <root>/src and <root>/runtime.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const internalDirs = [path.join(packageRoot, "src") + path.sep, path.join(packageRoot, "runtime") + path.sep];

// Capturing costs per frame. Frames above the public op's entry are never captured, so the
// user's frame is usually within the first few (op function, method); deeper nesting (an nn
// layer calling ops) is retried with more.
const LIMITS = [4, 32, Infinity];

const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;

function toPath(file: string): string {
  return file.startsWith("file://") ? fileURLToPath(file) : file;
}

function isUserFile(file: string): boolean {
  return (
    path.isAbsolute(file) &&
    !file.includes(`${path.sep}node_modules${path.sep}`) &&
    !internalDirs.some((d) => file.startsWith(d))
  );
}

function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
function callSites(limit: number, above: Function): NodeJS.CallSite[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = (_e, sites) => sites;
  Error.stackTraceLimit = limit;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, above);
    return holder.stack as NodeJS.CallSite[];
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/** The site's position after source maps: through the installed formatter, else Node's own maps. */
function mapped(site: NodeJS.CallSite, file: string): Loc {
  const raw = { file, line: site.getLineNumber() ?? 0, col: site.getColumnNumber() ?? 0 };
  const prepare = Error.prepareStackTrace;
  if (prepare) {
    const text = String(prepare({ name: "Error", message: "" } as Error, [site]));
    const m = FRAME.exec(text.split("\n")[1] ?? "");
    if (m) return { file: toPath(m[1]!), line: Number(m[2]), col: Number(m[3]) };
    return raw;
  }
  const entry = findSourceMap(file)?.findEntry(raw.line - 1, raw.col - 1);
  if (entry && "originalLine" in entry && entry.originalSource) {
    return { file: toPath(entry.originalSource), line: entry.originalLine + 1, col: entry.originalColumn + 1 };
  }
  return raw;
}

// Mapping a position is the costly part; an op in a loop is called from one site again and again.
const mappedCache = new Map<string, Loc>();

function firstUserFrame(sites: readonly NodeJS.CallSite[]): Loc | undefined {
  for (const site of sites) {
    const name = site.getFileName();
    if (!name || name.startsWith("node:")) continue;
    const file = toPath(name);
    if (!isUserFile(file)) continue;
    const key = `${file}:${site.getLineNumber()}:${site.getColumnNumber()}`;
    let loc = mappedCache.get(key);
    if (!loc) {
      const m = mapped(site, file);
      loc = { ...m, file: displayPath(m.file) };
      if (mappedCache.size > 10000) mappedCache.clear();
      mappedCache.set(key, loc);
    }
    return loc;
  }
  return undefined;
}

/**
 * `file:line:col` of the innermost caller outside smelt, or undefined when there is none.
 * `above`: a function on the current stack whose frame and callees are smelt's own.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function userLoc(above: Function = userLoc): Loc | undefined {
  for (const limit of LIMITS) {
    const sites = callSites(limit, above);
    const loc = firstUserFrame(sites);
    if (loc || sites.length < limit) return loc;
  }
  return undefined;
}
