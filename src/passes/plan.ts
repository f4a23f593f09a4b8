// Memory planning: every temp buffer of a program gets a byte offset in one arena. Temps whose
// live ranges over the kernel schedule overlap never overlap in the arena; a temp dead after a
// kernel gives its space back for later temps (best fit), or hands it straight to an output of
// that kernel when the kernel provably reads each element before overwriting it (in place).
// Params, results and consts are the caller's or the program's own and never live in the arena;
// a donated param may still hand its storage to a result the same way. Independent kernels may
// run in another order than fusion gave, when that lets big temps die sooner.
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
import { rowRenaming } from "./regions.js";

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
  /** Reorder independent kernels when that lowers the peak (default true). */
  readonly schedule?: boolean;
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
 * `output` may be written over `input` in kernel `k` when each grid point reads `input` only
 * where it writes `output`, and reads each element before writing it: one unguarded "set" store
 * to `output`, every load of `input` in the stores at that store's index, none in a later store
 * (a thread runs its stores in order). Reductions may not read `input` (a matmul's elementwise
 * epilogue qualifies, its operands do not), except in a row kernel, whose reductions all finish
 * before any store of the row: there they may read the row the grid point writes.
 */
function canWriteOver(k: Kernel, output: ProgramBuffer, input: ProgramBuffer): boolean {
  if (size(output.type.shape) !== size(input.type.shape)) return false;
  if (itemsize(output.type.dtype) !== itemsize(input.type.dtype)) return false;
  const at = k.stores.findIndex((s) => s.buf === output.name);
  if (at < 0 || k.stores.slice(at + 1).some((s) => s.buf === output.name)) return false;
  const store = k.stores[at]!;
  const row = k.kind === "row" && store.loops.length > 0;
  if (store.mode !== "set" || store.guard || (store.loops.length > 0 && !row)) return false;
  const rowLoops = new Map(store.loops.map((l) => [l.v, l.extent]));
  const extents = new Map(k.reductions.flatMap((r) => [...r.scope, ...r.loops]).map((l) => [l.v, l.extent]));
  for (const r of k.reductions) {
    for (const l of collectLoads(r.body, new Set())) {
      if (l.k !== "load" || l.buf !== input.name) continue;
      if (!row || !rowRenaming(store.index, l.index, rowLoops, extents)) return false;
    }
  }
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

/**
 * Plans the program in its own kernel order, and in the order `scheduleForMemory` gives; keeps
 * the reordered kernels when their arena is smaller.
 */
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
  const access = program.kernels.map(kernelAccess);
  const given = planOrder(program, program.kernels, access, donated);
  if (opts.schedule === false) return { ...program, plan: given };
  const order = scheduleForMemory(program, access);
  if (order.every((k, i) => k === i)) return { ...program, plan: given };
  const kernels = order.map((i) => program.kernels[i]!);
  const reordered = planOrder(program, kernels, order.map((i) => access[i]!), donated);
  return reordered.peakBytes < given.peakBytes ? { ...program, kernels, plan: reordered } : { ...program, plan: given };
}

/**
 * Of the kernels whose inputs are ready (every earlier kernel they conflict with has run), the
 * one that frees the most temp bytes, net of the temps it creates, runs next; ties keep the
 * given order. Kernel indices in run order.
 */
export function scheduleForMemory(program: Program, access: readonly KernelAccess[]): number[] {
  const bytes = new Map(program.buffers.filter((b) => b.kind === "temp").map((b) => [b.name, alignUp(bufferBytes(b.type))]));
  const touches = access.map((a) => [...new Set([...a.reads, ...a.writes])]);
  const blockers = orderConstraints(access);
  const users = new Map<string, number>();
  for (const t of touches) for (const n of t) if (bytes.has(n)) users.set(n, (users.get(n) ?? 0) + 1);
  const waiting = access.map(() => 0);
  const unblocks: number[][] = access.map(() => []);
  blockers.forEach((before, j) => {
    waiting[j] = before.size;
    for (const i of before) unblocks[i]!.push(j);
  });
  const created = new Set<string>();
  const ready = new Set(access.flatMap((_, j) => (waiting[j] === 0 ? [j] : [])));
  const order: number[] = [];
  const growth = (j: number) => {
    let g = 0;
    for (const n of touches[j]!) {
      const b = bytes.get(n);
      if (b === undefined) continue;
      if (!created.has(n)) g += b;
      if (users.get(n) === 1) g -= b;
    }
    return g;
  };
  while (ready.size > 0) {
    let pick = -1;
    let best = Infinity;
    for (const j of ready) {
      const g = growth(j);
      if (g < best || (g === best && j < pick)) [pick, best] = [j, g];
    }
    ready.delete(pick);
    order.push(pick);
    for (const n of touches[pick]!) {
      if (!bytes.has(n)) continue;
      created.add(n);
      users.set(n, users.get(n)! - 1);
    }
    for (const j of unblocks[pick]!) if (--waiting[j]! === 0) ready.add(j);
  }
  return order;
}

/**
 * For each kernel, the earlier kernels it must follow: the last writer of each buffer it
 * touches, and for a buffer it writes, every reader since that write (transitively, every
 * earlier kernel that writes what it touches or touches what it writes).
 */
function orderConstraints(access: readonly KernelAccess[]): Set<number>[] {
  const lastWriter = new Map<string, number>();
  const readersSince = new Map<string, number[]>();
  return access.map((a, j) => {
    const before = new Set<number>();
    for (const n of a.reads) {
      const w = lastWriter.get(n);
      if (w !== undefined) before.add(w);
    }
    for (const n of a.writes) {
      const w = lastWriter.get(n);
      if (w !== undefined) before.add(w);
      for (const r of readersSince.get(n) ?? []) before.add(r);
    }
    for (const n of a.reads) {
      if (a.writes.has(n)) continue;
      const readers = readersSince.get(n);
      if (readers) readers.push(j);
      else readersSince.set(n, [j]);
    }
    for (const n of a.writes) {
      lastWriter.set(n, j);
      readersSince.set(n, []);
    }
    before.delete(j);
    return before;
  });
}

function planOrder(
  program: Program,
  kernels: readonly Kernel[],
  access: readonly KernelAccess[],
  donated: ReadonlySet<string>,
): MemoryPlan {
  const byName = new Map(program.buffers.map((b) => [b.name, b]));
  const temps = new Set(program.buffers.filter((b) => b.kind === "temp").map((b) => b.name));
  const ranges = liveRangesOf(access, new Set([...temps, ...donated, ...program.results]));
  const tempBytes = (n: string) => alignUp(bufferBytes(byName.get(n)!.type));

  const arena = new Arena();
  const offsets: Record<string, number> = {};
  const liveRanges: Record<string, readonly [number, number]> = {};
  const inPlace: InPlace[] = [];
  /** Temps whose space was handed to an output: not freed at their death. */
  const handedOver = new Set<string>();

  // Temps by the kernel that first and last touches them, in buffer order.
  const bornAt = kernels.map((): string[] => []);
  const lastAt = kernels.map((): string[] => []);
  for (const n of temps) {
    const r = ranges.get(n);
    if (!r) continue;
    bornAt[r[0]]!.push(n);
    lastAt[r[1]]!.push(n);
  }
  kernels.forEach((k, i) => {
    const a = access[i]!;
    const born = (n: string) => ranges.get(n)?.[0] === i && a.writes.has(n) && !a.reads.has(n);
    const dying = (n: string) => {
      const r = ranges.get(n);
      // A temp first touched here (read, never written) has no place yet to hand over.
      const placed = !temps.has(n) || offsets[n] !== undefined;
      return placed && r?.[1] === i && a.reads.has(n) && !a.writes.has(n) && !handedOver.has(n);
    };
    for (const n of bornAt[i]!) {
      const out = byName.get(n)!;
      const input = born(n) ? lastAt[i]!.find((m) => dying(m) && canWriteOver(k, out, byName.get(m)!)) : undefined;
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
    for (const n of lastAt[i]!) {
      if (!handedOver.has(n)) arena.release(offsets[n]!, tempBytes(n));
    }
  });
  for (const n of temps) {
    const r = ranges.get(n);
    if (r) liveRanges[n] = [r[0], r[1]];
  }
  const naivePeakBytes = [...temps].reduce((s, n) => s + tempBytes(n), 0);
  return { arenaBytes: arena.end, offsets, inPlace, peakBytes: arena.end, naivePeakBytes, liveRanges };
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
