// The source text of the call an op came from (`x.matmul(w)`), found from its `file:line:col`.
//
// V8 stack columns are 1-based and, for a method call, point at the property name (`matmul` in
// `x.matmul(w)`); for a plain call at the callee (`exp(x)`); for a getter near the name (`a.T`).
// ts-morph takes about half a second to load, so it is loaded only when a location is first
// resolved, and each file is parsed once per modification time.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Node, PropertyAccessExpression, SourceFile } from "ts-morph";

export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

type TsMorph = typeof import("ts-morph");

let tsMorph: TsMorph | undefined;
let project: InstanceType<TsMorph["Project"]> | undefined;

// ts-morph is CommonJS, so a synchronous require loads it: callers (the tracer) need not be async.
function loadTsMorph(): TsMorph {
  tsMorph ??= createRequire(import.meta.url)("ts-morph") as TsMorph;
  return tsMorph;
}

function theProject(): InstanceType<TsMorph["Project"]> {
  project ??= new (loadTsMorph().Project)({
    useInMemoryFileSystem: true,
    skipAddingFilesFromTsConfig: true,
    compilerOptions: { allowJs: true },
  });
  return project;
}

interface Parsed {
  readonly mtimeMs: number;
  readonly size: number;
  readonly source: SourceFile;
}

const parsed = new Map<string, Parsed>();

function toPath(file: string): string {
  return file.startsWith("file://") ? fileURLToPath(file) : path.resolve(file);
}

function sourceFileOf(file: string): SourceFile | undefined {
  const abs = toPath(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    return undefined;
  }
  const hit = parsed.get(abs);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.source;
  const text = fs.readFileSync(abs, "utf8");
  // The in-memory project wants a script name: the extension decides how it parses (TS, TSX, JS).
  const source = theProject().createSourceFile(abs, text, { overwrite: true });
  parsed.set(abs, { mtimeMs: stat.mtimeMs, size: stat.size, source });
  return source;
}

/** The offset of 1-based `line:col`, or undefined when the file has no such position. */
function offsetOf(source: SourceFile, line: number, col: number): number | undefined {
  const starts = source.compilerNode.getLineStarts();
  if (!Number.isInteger(line) || !Number.isInteger(col) || line < 1 || col < 1 || line > starts.length) {
    return undefined;
  }
  const lineStart = starts[line - 1]!;
  const lineEnd = line < starts.length ? starts[line]! : source.getEnd();
  const pos = lineStart + col - 1;
  return pos < lineEnd ? pos : undefined;
}

/**
 * Where a frame of a getter (`a.T`) points: V8 gives the name, or the dot when the receiver is a
 * call; through esbuild's source maps (tsx) the dot becomes the receiver's last character.
 */
function accessCovers(n: PropertyAccessExpression, pos: number): boolean {
  return n.getExpression().getEnd() - 1 <= pos && pos <= n.getNameNode().getStart();
}

/**
 * The expression a stack frame at `pos` stands for, the smallest that fits: a call whose callee's
 * name starts there, else a property access around there (a getter), else a `new` expression
 * that starts there (constructor frames point at `new`), else the expression token there.
 */
function expressionAt(source: SourceFile, pos: number): Node | undefined {
  const { Node } = loadTsMorph();
  const token = source.getDescendantAtPos(pos);
  if (!token || token.getStart() !== pos) return undefined;
  for (let n: Node | undefined = token; n && !Node.isStatement(n) && !Node.isSourceFile(n); n = n.getParent()) {
    if (Node.isNewExpression(n) && n.getStart() === pos) return n;
    const access = Node.isPropertyAccessExpression(n) && accessCovers(n, pos);
    const callee = access || (Node.isIdentifier(n) && n.getStart() === pos);
    if (!callee) continue;
    const parent = n.getParent();
    if (parent && Node.isCallExpression(parent) && parent.getExpression().compilerNode === n.compilerNode) {
      return parent;
    }
    if (access) return n;
  }
  return Node.isExpression(token) ? token : undefined;
}

/** The source text of the call (or property access) at `file:line:col`, when it can be found. */
export function exprAt(loc: SourcePos): string | undefined {
  const source = sourceFileOf(loc.file);
  if (!source) return undefined;
  const pos = offsetOf(source, loc.line, loc.col);
  if (pos === undefined) return undefined;
  return expressionAt(source, pos)?.getText();
}
