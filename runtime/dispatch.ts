// From a planned program and its emitted kernels to the list of dispatches a device runs: each
// kernel's buffer slots resolved to where the memory is (a run's inputs and outputs, the
// executable's arena, its constants, the kernel's metadata), and the barriers a run needs. The
// same list drives every device that runs MSL (host and metal).
import type { EmittedProgram } from "../src/codegen-msl/index.js";
import { DeviceError } from "../src/ir/errors.js";
import { kernelAccess, type PlannedProgram } from "../src/passes/plan.js";
import { bufferBytes } from "../src/passes/plan.js";

export type Binding =
  | { readonly kind: "param"; readonly index: number }
  | { readonly kind: "result"; readonly index: number }
  | { readonly kind: "arena"; readonly offset: number; readonly bytes: number }
  | { readonly kind: "const"; readonly name: string }
  | { readonly kind: "meta"; readonly bytes: Uint8Array };

export interface Dispatch {
  readonly kernel: string;
  readonly entry: string;
  readonly groups: number;
  readonly threadsPerGroup: number;
  readonly cooperative: boolean;
  /** By buffer slot. */
  readonly bindings: readonly Binding[];
  /**
   * Needs a barrier first: it reads or overwrites memory an earlier dispatch of the same run
   * wrote, or overwrites memory an earlier one reads (since the last barrier).
   */
  readonly barrierBefore: boolean;
}

/** What becomes of each of the program's results after a run. */
export type ResultSource =
  /** Written by the kernels into the run's output buffer of this index. */
  | { readonly kind: "written" }
  /** The value of an input (returned as is, or a result written over a donated input). */
  | { readonly kind: "param"; readonly index: number }
  | { readonly kind: "const"; readonly name: string }
  /** The same buffer as an earlier result: a copy of it. */
  | { readonly kind: "copy"; readonly of: number };

export interface DispatchPlan {
  readonly dispatches: readonly Dispatch[];
  readonly results: readonly ResultSource[];
  readonly arenaBytes: number;
}

/** A region of memory a dispatch touches, for barrier placement. */
type Region = { readonly key: string; readonly lo: number; readonly hi: number };

const overlaps = (a: Region, b: Region): boolean => a.key === b.key && a.lo < b.hi && b.lo < a.hi;

export function dispatchList(planned: PlannedProgram, emitted: EmittedProgram): DispatchPlan {
  const byName = new Map(planned.buffers.map((b) => [b.name, b]));
  const paramIndex = new Map<string, number>();
  planned.params.forEach((n, i) => {
    if (!paramIndex.has(n)) paramIndex.set(n, i);
  });
  // A result written over a donated param lives in the param's memory.
  const overParam = new Map<string, string>();
  for (const x of planned.plan.inPlace) {
    if (byName.get(x.input)?.kind === "param") overParam.set(x.output, x.input);
  }
  const results: ResultSource[] = [];
  const resultIndex = new Map<string, number>();
  planned.results.forEach((n, i) => {
    const b = byName.get(n)!;
    const donor = overParam.get(n);
    if (donor !== undefined) results.push({ kind: "param", index: paramIndex.get(donor)! });
    else if (b.kind === "param") results.push({ kind: "param", index: paramIndex.get(n)! });
    else if (b.kind === "const") results.push({ kind: "const", name: n });
    else if (resultIndex.has(n)) results.push({ kind: "copy", of: resultIndex.get(n)! });
    else {
      resultIndex.set(n, i);
      results.push({ kind: "written" });
    }
  });

  const bindingOf = (name: string, kernel: string): Binding => {
    const b = byName.get(name);
    if (!b) throw new DeviceError(`kernel ${kernel} binds %${name}, which is not a buffer of @${planned.name}`);
    const donor = overParam.get(name);
    if (donor !== undefined) return { kind: "param", index: paramIndex.get(donor)! };
    switch (b.kind) {
      case "param":
        return { kind: "param", index: paramIndex.get(name)! };
      case "result":
        return { kind: "result", index: resultIndex.get(name)! };
      case "const":
        return { kind: "const", name };
      case "temp": {
        const offset = planned.plan.offsets[name];
        if (offset === undefined) throw new DeviceError(`kernel ${kernel} binds %${name}, which has no place in the arena`);
        return { kind: "arena", offset, bytes: bufferBytes(b.type) };
      }
      default:
        return b.kind satisfies never;
    }
  };
  const regionOf = (name: string, bind: Binding): Region => {
    switch (bind.kind) {
      case "arena":
        return { key: "arena", lo: bind.offset, hi: bind.offset + Math.max(1, bind.bytes) };
      case "param":
      case "result":
        return { key: `${bind.kind}${bind.index}`, lo: 0, hi: 1 };
      default:
        return { key: name, lo: 0, hi: 1 };
    }
  };

  const kernels = new Map(planned.kernels.map((k) => [k.name, k]));
  // Since the last barrier: what was read (a later write over it must wait for those readers,
  // as when the arena hands a dead temp's space to a new one) and what was written.
  let read: Region[] = [];
  let written: Region[] = [];
  const dispatches = emitted.kernels.map((e): Dispatch => {
    const k = kernels.get(e.name);
    if (!k) throw new DeviceError(`emitted kernel ${e.name} is not in @${planned.name}`);
    const bindings: Binding[] = [];
    for (const b of e.buffers) bindings[b.index] = bindingOf(b.name, e.name);
    const meta = new Uint8Array(e.metaLayout.bytes);
    const view = new DataView(meta.buffer);
    for (const f of e.metaLayout.fields) view.setUint32(f.offset, f.value, true);
    bindings[e.metaLayout.index] = { kind: "meta", bytes: meta };
    const access = kernelAccess(k);
    const reads = [...access.reads].map((n) => regionOf(n, bindingOf(n, e.name)));
    const writes = [...access.writes].map((n) => regionOf(n, bindingOf(n, e.name)));
    const barrierBefore =
      [...reads, ...writes].some((r) => written.some((w) => overlaps(r, w))) ||
      writes.some((w) => read.some((r) => overlaps(r, w)));
    if (barrierBefore) [read, written] = [[], []];
    read.push(...reads);
    written.push(...writes);
    return {
      kernel: e.name,
      entry: e.entry,
      groups: e.grid[0] * e.grid[1] * e.grid[2],
      threadsPerGroup: e.threadsPerGroup,
      cooperative: e.cooperative,
      bindings,
      barrierBefore,
    };
  });
  return { dispatches, results, arenaBytes: planned.plan.arenaBytes };
}
