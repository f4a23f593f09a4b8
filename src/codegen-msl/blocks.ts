// The statement tree a kernel body is written as: blocks (the kernel, loops, guarded statements)
// that bind loop variables and hold the lines computed in them. A value is computed in the
// outermost block where everything it depends on is bound, unless a fence (a conditional block)
// keeps it inside.
import type { Expr, Loop } from "../ir/index.js";

/** The grid's flat index, as a loop variable of the block that binds the grid. */
export const FLAT = "#flat";

export interface Binding {
  readonly name: string;
  /** Its definition, emitted on first use; absent when a loop header binds it. */
  readonly def?: string;
  emitted: boolean;
}

export class Block {
  readonly lines: string[] = [];
  readonly memo = new Map<Expr, string>();
  readonly vars = new Map<string, Binding>();
  readonly reduced = new Map<string, string>();
  /** Random pairs computed here, by their argument names. */
  readonly pairs = new Map<string, string>();

  /** `fence`: nothing inside is hoisted out (the block is conditional). */
  constructor(
    readonly parent: Block | undefined,
    readonly fence: boolean,
  ) {}

  owns(dep: string): boolean {
    return dep.startsWith("@") ? this.reduced.has(dep.slice(1)) : this.vars.has(dep);
  }
}

/** Appends `child` to `parent` as the body of `header` (a loop or an `if`). */
export function splice(parent: Block, header: string, child: Block): void {
  parent.lines.push(`${header} {`, ...child.lines.map((l) => `  ${l}`), "}");
}

/** `if (cond) { then } else { otherwise }`: fill both blocks before splicing (hoisted lines go first). */
export function spliceIfElse(parent: Block, cond: string, then: Block, otherwise: Block): void {
  splice(parent, `if (${cond})`, then);
  splice(parent, "else", otherwise);
}

/** The C name of a kernel-IR loop variable. */
export const loopName = (v: string): string => (/^[pcr]\d+$/.test(v) ? v : `lv_${v.replace(/\W/g, "_")}`);

/** Definitions of `loops`' variables from a flat unsigned index `flat` over them (row-major). */
export function decompose(flat: string, loops: readonly Loop[]): string[] {
  // No iteration happens: the variables are never read at run time, but must compile.
  if (loops.some((l) => l.extent === 0)) return loops.map(() => "0");
  const out: string[] = [];
  let stride = 1;
  for (let i = loops.length - 1; i >= 0; i--) {
    const n = loops[i]!.extent;
    const q = stride === 1 ? flat : `${flat} / ${stride}u`;
    out[i] = n === 1 ? "0" : i === 0 ? `int(${q})` : `int(${q} % ${n}u)`;
    stride *= n;
  }
  return out;
}

export const product = (loops: readonly Loop[]): number => loops.reduce((a, l) => a * l.extent, 1);
export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;
