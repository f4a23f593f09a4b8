// Text form of kernel IR, for `--dump-ir=fused` and tests. Print-only: kernel IR is produced by
// fusion, never written by hand.
import { SHORT_NAME } from "./dtype.js";
import { type Expr, exprChildren, type Kernel, type Loop, type Program } from "./kernel.js";
import { typeStr } from "./types.js";

const INFIX: Partial<Record<string, string>> = {
  add: "+",
  sub: "-",
  mul: "*",
  div: "/",
  mod: "%",
  eq: "==",
  ne: "!=",
  lt: "<",
  le: "<=",
  gt: ">",
  ge: ">=",
  and: "&&",
  or: "||",
};

function litStr(e: Extract<Expr, { k: "const" }>): string {
  const v = e.value;
  const num = Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : Object.is(v, -0) ? "-0" : String(v);
  switch (e.dtype) {
    case "int32":
      return num;
    case "uint32":
      return `${num}u`;
    case "bool":
      return v ? "true" : "false";
    case "float32":
      return `${num}f`;
    case "float16":
      return `${num}h`;
    case "bfloat16":
      return `${num}bf`;
    default:
      return e.dtype satisfies never;
  }
}

const loopsStr = (ls: readonly Loop[]): string => ls.map((l) => `${l.v}<${l.extent}>`).join(", ");

/** Prints one statement's expressions, naming subexpressions used more than once. */
class ExprPrinter {
  private readonly uses = new Map<Expr, number>();
  private readonly names = new Map<Expr, string>();
  readonly lets: string[] = [];

  constructor(roots: readonly Expr[], private readonly prefix: string) {
    const seen = new Set<Expr>();
    const count = (e: Expr) => {
      this.uses.set(e, (this.uses.get(e) ?? 0) + 1);
      if (seen.has(e)) return;
      seen.add(e);
      for (const c of exprChildren(e)) count(c);
    };
    roots.forEach(count);
  }

  print(e: Expr): string {
    const named = this.names.get(e);
    if (named) return named;
    const text = this.render(e);
    const shared = (this.uses.get(e) ?? 0) > 1 && e.k !== "idx" && e.k !== "const" && e.k !== "reduced";
    if (!shared) return text;
    const name = `$${this.prefix}${this.names.size}`;
    this.names.set(e, name);
    this.lets.push(`let ${name} = ${text}`);
    return name;
  }

  private render(e: Expr): string {
    switch (e.k) {
      case "idx":
        return e.v;
      case "const":
        return litStr(e);
      case "reduced":
        return `%${e.name}`;
      case "load":
        return `%${e.buf}[${bare(this.print(e.index))}]`;
      case "random":
        return `threefry${e.word}(${this.print(e.key0)}, ${this.print(e.key1)}, ${this.print(e.counter)})`;
      case "op": {
        const infix = INFIX[e.op];
        if (infix && e.args.length === 2) return `(${this.print(e.args[0]!)} ${infix} ${this.print(e.args[1]!)})`;
        const name = e.op === "convert" ? `convert<${SHORT_NAME[e.dtype]}>` : e.op;
        return `${name}(${e.args.map((a) => bare(this.print(a))).join(", ")})`;
      }
      default:
        return e satisfies never;
    }
  }
}


/** Strips one level of parentheses from a printed top-level expression. */
const bare = (s: string): string => (s.startsWith("(") && s.endsWith(")") ? s.slice(1, -1) : s);

export function printKernel(k: Kernel): string {
  const lines: string[] = [];
  const bufs = k.buffers.map((b) => `%${b.name}: ${typeStr(b.type)} ${b.access}`).join(", ");
  lines.push(`kernel @${k.name} ${k.kind} grid(${loopsStr(k.grid)}) buffers(${bufs}) {`);
  k.reductions.forEach((r, i) => {
    const p = new ExprPrinter([r.body], `r${i}_`);
    const body = bare(p.print(r.body));
    for (const l of p.lets) lines.push(`    ${l}`);
    const within = r.scope.length ? ` within ${loopsStr(r.scope)}` : "";
    lines.push(`  %${r.name} = reduce_${r.op} over ${loopsStr(r.loops)}${within}: ${body}`);
  });
  k.stores.forEach((s, i) => {
    const roots = s.guard ? [s.index, s.value, s.guard] : [s.index, s.value];
    const p = new ExprPrinter(roots, `s${i}_`);
    const index = bare(p.print(s.index));
    const value = bare(p.print(s.value));
    const guard = s.guard ? ` if ${bare(p.print(s.guard))}` : "";
    for (const l of p.lets) lines.push(`    ${l}`);
    const over = s.loops.length ? ` over ${loopsStr(s.loops)}` : "";
    const op = s.mode === "add" ? "+=" : "=";
    lines.push(`  %${s.buf}[${index}] ${op} ${value}${over}${guard}`);
  });
  const from = k.sources.map((s) => s.op + (s.loc ? `@${s.loc.line}` : "")).join(" ");
  lines.push(`}  // ${from}`);
  return lines.join("\n");
}

export function printProgram(p: Program): string {
  const byName = new Map(p.buffers.map((b) => [b.name, b]));
  const sig = (names: readonly string[]) => names.map((n) => `%${n}: ${typeStr(byName.get(n)!.type)}`).join(", ");
  const lines = [`program @${p.name}(${sig(p.params)}) -> (${p.results.map((n) => `%${n}`).join(", ")}) {`];
  for (const b of p.buffers) {
    if (b.kind === "param") continue;
    lines.push(`  buffer %${b.name}: ${typeStr(b.type)} ${b.kind}`);
  }
  for (const k of p.kernels) lines.push(...printKernel(k).split("\n").map((l) => `  ${l}`));
  if (p.report.length) {
    lines.push("  fusion report:");
    for (const n of p.report) lines.push(`    ${n.value}: ${n.reason}`);
  }
  lines.push("}");
  return lines.join("\n");
}
