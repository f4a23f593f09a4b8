// Memory planning: every temp buffer of a program gets a byte offset in one arena. Temps whose
// live ranges over the kernel schedule overlap never overlap in the arena; a temp dead after a
// kernel gives its space back for later temps (best fit), or hands it straight to an output of
// that kernel when the kernel provably reads each element before overwriting it (in place).
// Params, results and consts are the caller's or the program's own and never live in the arena;
// a donated param may still hand its storage to a result the same way.
import {
  type Expr,
  exprEqual,
  itemsize,
  type Kernel,
  type Program,
  printProgram,
  type ProgramBuffer,
  SmeltError,
  size,
  type TensorType,
  typeStr,
} from "../ir/index.js";

export const ARENA_ALIGN = 256;

export interface InPlace {
  readonly kernel: string;
  /** Written by `kernel` into the storage of `input`. */
  readonly output: string;
  /** A temp (or a donated param) whose last reader is `kernel`. */
  readonly input: string;
}

export interface MemoryPlan {
  readonly arenaBytes: number;
  /** Temp buffer name -> byte offset in the arena. A temp no kernel touches has none. */
  readonly offsets: Readonly<Record<string, number>>;
  readonly inPlace: readonly InPlace[];
  /** The arena size: the most intermediate memory alive at once under this plan. */
  readonly peakBytes: number;
  /** Every temp alive at once (each 256-byte aligned): what no planning would cost. */
  readonly naivePeakBytes: number;
  /** Temp buffer name -> [first kernel touching it, last kernel touching it] (schedule indices). */
  readonly liveRanges: Readonly<Record<string, readonly [first: number, last: number]>>;
}

export type PlannedProgram = Program & { readonly plan: MemoryPlan };

export interface PlanOptions {
  /** Param buffer names whose storage the caller gives up: results may be written over them. */
  readonly donate?: readonly string[];
}

export const bufferBytes = (t: TensorType): number => size(t.shape) * itemsize(t.dtype);
export const alignUp = (n: number): number => Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;

// ------------------------------------------------------------ what a kernel touches

export interface KernelAccess {
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
}

/**
 * Buffers a kernel reads and writes: its loads, its stores (an "add" store also reads), and
 * whatever its buffer list declares, so a buffer the kernel binds is never treated as free.
 */
export function kernelAccess(k: Kernel): KernelAccess {
  const reads = new Set<string>();
  const writes = new Set<string>();
  const loads = new Set<Expr>();
  for (const r of k.reductions) collectLoads(r.body, loads);
  for (const s of k.stores) {
    collectLoads(s.index, loads);
    collectLoads(s.value, loads);
    if (s.guard) collectLoads(s.guard, loads);
    writes.add(s.buf);
    if (s.mode === "add") reads.add(s.buf);
  }
  for (const e of loads) if (e.k === "load") reads.add(e.buf);
  for (const b of k.buffers) {
    if (b.access !== "write") reads.add(b.name);
    if (b.access !== "read") writes.add(b.name);
  }
  return { reads, writes };
}

/** Every distinct load expression under `e` (the DAG may share subexpressions). */
function collectLoads(e: Expr, out: Set<Expr>, seen: Set<Expr> = new Set()): Set<Expr> {
  if (seen.has(e)) return out;
  seen.add(e);
  switch (e.k) {
    case "idx":
    case "const":
    case "reduced":
      break;
    case "load":
      out.add(e);
      collectLoads(e.index, out, seen);
      break;
    case "op":
      for (const a of e.args) collectLoads(a, out, seen);
      break;
    case "random":
      collectLoads(e.key0, out, seen);
      collectLoads(e.key1, out, seen);
      collectLoads(e.counter, out, seen);
      break;
    default:
      e satisfies never;
  }
  return out;
}

// ------------------------------------------------------------ live ranges

/**
 * [first kernel that touches each buffer, last kernel that touches it]: normally its first
 * writer and last reader, but a buffer written again later (scatter-add) needs its space until then.
 */
function liveRangesOf(access: readonly KernelAccess[], names: ReadonlySet<string>) {
  const ranges = new Map<string, [number, number]>();
  access.forEach((a, i) => {
    for (const n of new Set([...a.writes, ...a.reads])) {
      if (!names.has(n)) continue;
      const r = ranges.get(n);
      if (r) r[1] = i;
      else ranges.set(n, [i, i]);
    }
  });
  return ranges;
}

// ------------------------------------------------------------ the arena

interface Block {
  offset: number;
  bytes: number;
}

/** Best fit over a free list kept sorted by offset and coalesced. */
class Arena {
  private readonly free: Block[] = [];
  end = 0;

  alloc(bytes: number): number {
    if (bytes === 0) return 0;
    let best: Block | undefined;
    for (const b of this.free) if (b.bytes >= bytes && (!best || b.bytes < best.bytes)) best = b;
    if (best) {
      const offset = best.offset;
      best.offset += bytes;
      best.bytes -= bytes;
      if (best.bytes === 0) this.free.splice(this.free.indexOf(best), 1);
      return offset;
    }
    // Nothing fits: a free block at the end of the arena only has to grow by the difference.
    const last = this.free[this.free.length - 1];
    if (last && last.offset + last.bytes === this.end) {
      this.free.pop();
      this.end = last.offset + bytes;
      return last.offset;
    }
    const offset = this.end;
    this.end += bytes;
    return offset;
  }

  release(offset: number, bytes: number): void {
    if (bytes === 0) return;
    let i = this.free.findIndex((b) => b.offset > offset);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { offset, bytes });
    const next = this.free[i + 1];
    if (next && offset + bytes === next.offset) {
      this.free[i]!.bytes += next.bytes;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.offset + prev.bytes === offset) {
      prev.bytes += this.free[i]!.bytes;
      this.free.splice(i, 1);
    }
  }
}

// ------------------------------------------------------------ in place

/**
 * `output` may be written over `input` in kernel `k` when each grid point reads `input` only at
 * the element it writes of `output`, and reads it before writing it: an elementwise kernel,
 * one unguarded "set" store to `output`, every load of `input` at that store's index, and no
 * load of `input` in a later store of the kernel (a thread runs its stores in order).
 */
function canWriteOver(k: Kernel, output: ProgramBuffer, input: ProgramBuffer): boolean {
  if (k.kind !== "elementwise" || k.reductions.length > 0) return false;
  if (size(output.type.shape) !== size(input.type.shape)) return false;
  if (itemsize(output.type.dtype) !== itemsize(input.type.dtype)) return false;
  const at = k.stores.findIndex((s) => s.buf === output.name);
  if (at < 0 || k.stores.slice(at + 1).some((s) => s.buf === output.name)) return false;
  const store = k.stores[at]!;
  if (store.mode !== "set" || store.guard || store.loops.length > 0) return false;
  for (const [i, s] of k.stores.entries()) {
    const loads = new Set<Expr>();
    collectLoads(s.index, loads);
    collectLoads(s.value, loads);
    if (s.guard) collectLoads(s.guard, loads);
    for (const l of loads) {
      if (l.k !== "load" || l.buf !== input.name) continue;
      if (i > at || !exprEqual(l.index, store.index)) return false;
    }
  }
  return true;
}

// ------------------------------------------------------------ plan

export function plan(program: Program, opts: PlanOptions = {}): PlannedProgram {
  const byName = new Map(program.buffers.map((b) => [b.name, b]));
  const donated = new Set(opts.donate ?? []);
  for (const n of donated) {
    if (byName.get(n)?.kind !== "param") {
      throw new SmeltError(`cannot donate %${n}: it is not a param of @${program.name}`);
    }
  }
  // A donated param that is also returned stays alive after the program.
  for (const n of program.results) donated.delete(n);

  const temps = new Set(program.buffers.filter((b) => b.kind === "temp").map((b) => b.name));
  const access = program.kernels.map(kernelAccess);
  const ranges = liveRangesOf(access, new Set([...temps, ...donated, ...program.results]));
  const tempBytes = (n: string) => alignUp(bufferBytes(byName.get(n)!.type));

  const arena = new Arena();
  const offsets: Record<string, number> = {};
  const liveRanges: Record<string, readonly [number, number]> = {};
  const inPlace: InPlace[] = [];
  /** Temps whose space was handed to an output: not freed at their death. */
  const handedOver = new Set<string>();

  program.kernels.forEach((k, i) => {
    const a = access[i]!;
    const born = (n: string) => ranges.get(n)?.[0] === i && a.writes.has(n) && !a.reads.has(n);
    const dying = (n: string) => {
      const r = ranges.get(n);
      // A temp first touched here (read, never written) has no place yet to hand over.
      const placed = !temps.has(n) || offsets[n] !== undefined;
      return placed && r?.[1] === i && a.reads.has(n) && !a.writes.has(n) && !handedOver.has(n);
    };
    const bornTemps = [...temps].filter((n) => ranges.get(n)?.[0] === i);
    for (const n of bornTemps) {
      const out = byName.get(n)!;
      const input = born(n) ? [...temps].find((m) => dying(m) && canWriteOver(k, out, byName.get(m)!)) : undefined;
      if (input !== undefined) {
        offsets[n] = offsets[input]!;
        handedOver.add(input);
        inPlace.push({ kernel: k.name, output: n, input });
      } else {
        offsets[n] = arena.alloc(tempBytes(n));
      }
    }
    for (const n of new Set(program.results)) {
      if (!born(n)) continue;
      const out = byName.get(n)!;
      const input = [...donated].find((m) => dying(m) && canWriteOver(k, out, byName.get(m)!));
      if (input === undefined) continue;
      handedOver.add(input);
      inPlace.push({ kernel: k.name, output: n, input });
    }
    for (const n of temps) {
      if (ranges.get(n)?.[1] === i && !handedOver.has(n)) arena.release(offsets[n]!, tempBytes(n));
    }
  });
  for (const n of temps) {
    const r = ranges.get(n);
    if (r) liveRanges[n] = [r[0], r[1]];
  }
  const naivePeakBytes = [...temps].reduce((s, n) => s + tempBytes(n), 0);
  const memory: MemoryPlan = {
    arenaBytes: arena.end,
    offsets,
    inPlace,
    peakBytes: arena.end,
    naivePeakBytes,
    liveRanges,
  };
  return { ...program, plan: memory };
}

// ------------------------------------------------------------ text

/** The program's text with its memory plan before the closing brace (`--dump-ir=planned`). */
export function printPlanned(p: PlannedProgram): string {
  const { plan: m } = p;
  const kernel = (i: number) => p.kernels[i]?.name ?? `#${i}`;
  const lines = [`  memory plan: arena ${m.arenaBytes} bytes (naive ${m.naivePeakBytes} bytes)`];
  for (const b of p.buffers) {
    if (b.kind !== "temp") continue;
    const r = m.liveRanges[b.name];
    const offset = m.offsets[b.name];
    if (!r || offset === undefined) {
      lines.push(`    %${b.name}: ${typeStr(b.type)} unused`);
      continue;
    }
    const bytes = alignUp(bufferBytes(b.type));
    lines.push(`    %${b.name}: ${typeStr(b.type)} at [${offset}, ${offset + bytes}) live ${kernel(r[0])}..${kernel(r[1])}`);
  }
  for (const x of m.inPlace) lines.push(`    in place: ${x.kernel} writes %${x.output} over %${x.input}`);
  const text = printProgram(p).split("\n");
  text.splice(text.length - 1, 0, ...lines);
  return text.join("\n");
}
