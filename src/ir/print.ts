// The text form of graph IR (docs/ir.md, "Text form"). The output is canonical: parsing it and
// printing again gives the same text, and every number parses back to the same double.
import type { AttrKind, OpName } from "./attrs.js";
import { isDType, SHORT_NAME } from "./dtype.js";
import type { Func, Op, Value } from "./graph.js";
import type { Loc } from "./loc.js";
import { registry } from "./registry.js";
import { typeStr } from "./types.js";

export interface PrintOptions {
  /** Print `loc("file":line:col)` after each op that has one (default true). */
  readonly locs?: boolean;
  /** Print the source expression as a `// expr` comment after the loc (default true). */
  readonly exprs?: boolean;
  /**
   * Print `data = [...N values]` for constants with more than this many elements. Such text is
   * for reading only: it does not parse.
   */
  readonly elideConstantsOver?: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function printModule(funcs: readonly Func[], opts: PrintOptions = {}): string {
  return funcs.map((f) => printFunc(f, opts)).join("\n");
}

export function printFunc(func: Func, opts: PrintOptions = {}): string {
  const names = nameValues(func);
  const ref = (v: Value): string => names.get(v) ?? names.undefinedName(v);
  const params = func.params.map((p) => `${ref(p)}: ${typeStr(p.type)}`).join(", ");
  const resultTypes = func.results.map((r) => typeStr(r.type)).join(", ");
  const lines = [`func ${funcNameStr(func.name)}(${params}) -> (${resultTypes}) {`];
  for (const op of func.body) lines.push(`  ${printOp(op, ref, opts)}`);
  const ret = func.results.map(ref).join(", ");
  lines.push(ret === "" ? "  return" : `  return ${ret}`, "}");
  return lines.join("\n") + "\n";
}

/** `-0`, `nan`, `inf`, `-inf`, and otherwise JavaScript's shortest round-tripping form. */
export function numberStr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Object.is(x, -0)) return "-0";
  return String(x);
}

// An integer attribute has no negative zero: -0 prints (and parses) as 0.
const intStr = (x: number): string => (x === 0 ? "0" : numberStr(x));

function funcNameStr(name: string): string {
  return IDENT.test(name) ? `@${name}` : `@${JSON.stringify(name)}`;
}

function printOp(op: Op, ref: (v: Value) => string, opts: PrintOptions): string {
  let s = `${ref(op.result)} = ${op.op}`;
  if (op.operands.length > 0) s += ` ${op.operands.map(ref).join(", ")}`;
  const attrs = printAttrs(op, opts);
  if (attrs !== "") s += ` {${attrs}}`;
  s += ` : ${typeStr(op.result.type)}`;
  if (op.loc && opts.locs !== false) s += `  ${locStr(op.loc, opts)}`;
  return s;
}

function locStr(loc: Loc, opts: PrintOptions): string {
  const s = `loc(${JSON.stringify(loc.file)}:${loc.line}:${loc.col})`;
  if (loc.expr === undefined || opts.exprs === false) return s;
  // A line comment cannot hold a line break: a multi-line expression prints on one line.
  return `${s}  // ${loc.expr.replace(/\s*[\r\n]\s*/g, " ")}`;
}

function printAttrs(op: Op, opts: PrintOptions): string {
  const values = op.attrs as Readonly<Record<string, unknown>>;
  const schema = attrSchema(op.op);
  // An op missing from the registry still prints (for debugging), in its own key order.
  const keys = schema ? Object.keys(schema) : Object.keys(values);
  return keys
    .map((k) => `${k} = ${attrValueStr(values[k], schema?.[k] ?? guessKind(values[k]), opts)}`)
    .join(", ");
}

function attrSchema(op: OpName): Readonly<Record<string, AttrKind>> | undefined {
  return Object.hasOwn(registry, op) ? (registry[op].attrs as Readonly<Record<string, AttrKind>>) : undefined;
}

function guessKind(v: unknown): AttrKind {
  if (v instanceof Float64Array) return "data";
  if (Array.isArray(v)) return "ints";
  if (typeof v === "string") return "dtype";
  return "number";
}

function attrValueStr(v: unknown, kind: AttrKind, opts: PrintOptions): string {
  switch (kind) {
    case "int":
      return typeof v === "number" ? intStr(v) : `?${String(v)}`;
    case "number":
      return typeof v === "number" ? numberStr(v) : `?${String(v)}`;
    case "ints":
      return Array.isArray(v) ? `[${v.map((x) => intStr(Number(x))).join(", ")}]` : `?${String(v)}`;
    case "dtype":
      return isDType(v) ? SHORT_NAME[v] : `?${String(v)}`;
    case "data":
      return dataStr(v, opts);
    default:
      return kind satisfies never;
  }
}

function dataStr(v: unknown, opts: PrintOptions): string {
  if (!(v instanceof Float64Array) && !Array.isArray(v)) return `?${String(v)}`;
  const xs = Array.from(v as ArrayLike<number>);
  if (opts.elideConstantsOver !== undefined && xs.length > opts.elideConstantsOver) {
    return `[...${xs.length} values]`;
  }
  return `[${xs.map(numberStr).join(", ")}]`;
}

interface ValueNames {
  get(v: Value): string | undefined;
  /** A name for a value the func never defines (broken IR, printed for debugging). */
  undefinedName(v: Value): string;
}

/**
 * Params keep their names where they are identifiers and unique; the others are sanitized and
 * given a numeric suffix until unique. Op results are `%0, %1, ...` in order, which can never
 * collide with a param, since a param name never starts with a digit.
 */
function nameValues(func: Func): ValueNames {
  const names = new Map<Value, string>();
  const taken = new Set<string>();
  const kept = func.params.map((p) => {
    const n = p.name;
    if (n === undefined || !IDENT.test(n) || taken.has(n)) return false;
    taken.add(n);
    return true;
  });
  func.params.forEach((p, i) => {
    if (kept[i]) {
      names.set(p, `%${p.name}`);
      return;
    }
    const base = sanitize(p.name, i);
    let n = base;
    for (let k = 1; taken.has(n); k++) n = `${base}_${k}`;
    taken.add(n);
    names.set(p, `%${n}`);
  });
  func.body.forEach((op, i) => names.set(op.result, `%${i}`));
  const undefinedNames = new Map<Value, string>();
  return {
    get: (v) => names.get(v),
    undefinedName: (v) => {
      let n = undefinedNames.get(v);
      if (n === undefined) {
        n = `%?${undefinedNames.size}`;
        undefinedNames.set(v, n);
      }
      return n;
    },
  };
}

function sanitize(name: string | undefined, index: number): string {
  if (name === undefined || name === "") return `arg${index}`;
  const s = name.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}
