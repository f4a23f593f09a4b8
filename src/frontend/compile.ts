// `sm.compile(fn)`: trace `fn` once per input signature (tree structure, shapes, dtypes, static
// leaf values) into a graph-IR func, cache it, and run the cached func on later calls.
import type { Executable } from "../../runtime/device.js";
import { currentDevice, mslOf } from "../../runtime/devices.js";
import { CompileError, SmeltError, TraceError } from "../ir/errors.js";
import type { Func } from "../ir/graph.js";
import type { Loc } from "../ir/loc.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { printProgram } from "../ir/kernel-print.js";
import { printFunc } from "../ir/print.js";
import { type Lowered, lowerFunc } from "../passes/pipeline.js";
import { printPlanned } from "../passes/plan.js";
import type { ProgramStats } from "../passes/stats.js";
import { annotateExprsSync } from "./annotate.js";
import { typeStr } from "../ir/types.js";
import { verify } from "../ir/verify.js";
import { type Array, isArray, placeholderArray, realizedArray } from "./array.js";
import { publicOp, rebrand, userCode } from "./context.js";
import { deviceBuffer, realize } from "./eval.js";
import { userLoc } from "./location.js";
import { lowerGraph } from "./lower.js";
import { paramNames } from "./params.js";
import { untracked } from "./scope.js";
import { activeTrace, Trace, withTrace } from "./trace.js";
import { flatten, leafPaths, type PathStep, pathString, type TreeDef, treedefString, unflatten } from "./tree.js";

export const STAGES = ["traced", "autodiff", "simplified", "fused", "planned"] as const;
export type Stage = (typeof STAGES)[number];
/**
 * The stages this build produces. Gradients are expanded while tracing (a `grad` inside a
 * compiled function is inlined into the trace), so "autodiff" is the traced func itself.
 */
const EXISTING: readonly Stage[] = ["traced", "autodiff", "simplified", "fused", "planned"];
/** What `--dump-ir` can print: the IR stages and the MSL the device runs. */
type DumpStage = Stage | "msl";
const DUMP_STAGES: readonly DumpStage[] = [...EXISTING, "msl"];

export interface CompileOptions {
  /** Print each newly traced function's IR to stderr: `true` (every stage) or stage names. */
  readonly dumpIr?: boolean | string | readonly string[];
  /** How much fusion may do: "full" (default), "elementwise" or "none". */
  readonly fusion?: "full" | "elementwise" | "none";
  /** The function's name in IR (default: `fn.name`). */
  readonly name?: string;
}

export interface LoweredFunction {
  /** The IR text at `stage` (default "traced"). */
  ir(stage?: Stage): string;
  msl(): string;
  readonly stats: ProgramStats;
}

// Parameters and results of a compiled function are trees of arrays and static values; the
// signature is the user's own, so any function type is accepted.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

export type CompiledFunction<F extends AnyFunction> = F & {
  /** How many times the function has been traced (once per new input signature). */
  readonly traceCount: number;
  lower(...args: Parameters<F>): LoweredFunction;
};

/** Traces beyond this many for one function print a warning (once). */
const RETRACE_WARNING = 8;

const ARRAY_SLOT: unique symbol = Symbol("array result");

interface Entry {
  readonly func: Func;
  readonly outDef: TreeDef;
  /** The results' leaves: static values as they are, arrays as ARRAY_SLOT in result order. */
  readonly outLeaves: readonly unknown[];
  /** Simplified, fused and planned, on first demand. */
  lowered?: Lowered;
  /** Ready to run, by device name. */
  readonly executables: Map<string, Executable>;
}

interface Signature {
  readonly key: string;
  readonly structure: string;
  /** Each leaf's path (as the user would write it) and its signature. */
  readonly leaves: readonly (readonly [string, string])[];
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

function leafSignature(x: unknown): string {
  if (isArray(x)) return typeStr(x.type);
  if (typeof x === "number") return Object.is(x, -0) ? "-0" : String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "object" && x !== null) return `object#${idOf(x)}`;
  if (typeof x === "function") return `function#${idOf(x)}`;
  return String(x);
}

function idOf(x: object): number {
  let id = objectIds.get(x);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(x, id);
  }
  return id;
}


function argPath(path: readonly PathStep[], names: readonly (string | undefined)[]): string {
  const i = path[0] as number;
  return pathString(path.slice(1), names[i] ?? `args[${i}]`);
}

/** An IR param name for a leaf: `x`, `params_w`, `arg0_1`. */
function irName(path: readonly PathStep[], names: readonly (string | undefined)[]): string {
  const i = path[0] as number;
  const parts = [names[i] ?? `arg${i}`, ...path.slice(1).map(String)];
  const s = parts.join("_").replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((n) => {
    let s = n;
    for (let k = 1; seen.has(s); k++) s = `${n}_${k}`;
    seen.add(s);
    return s;
  });
}

function requestedStages(spec: boolean | string | readonly string[] | undefined): DumpStage[] {
  if (spec === undefined || spec === false) return [];
  if (spec === true) return [...DUMP_STAGES];
  const list = (typeof spec === "string" ? spec.split(",") : [...spec]).map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0 || list.includes("all")) return [...DUMP_STAGES];
  for (const s of list) {
    if (!(DUMP_STAGES as readonly string[]).includes(s)) {
      throw new CompileError(`unknown IR stage "${s}" to dump; stages are ${DUMP_STAGES.join(", ")} (or all)`, {
        op: "compile",
      });
    }
  }
  return DUMP_STAGES.filter((s) => list.includes(s));
}

function irAt(func: Func, lowered: () => Lowered, stage: Stage): string {
  if (!(STAGES as readonly string[]).includes(stage)) {
    throw new CompileError(`unknown stage "${String(stage)}"; stages are ${STAGES.join(", ")}`);
  }
  if (!EXISTING.includes(stage)) {
    throw new CompileError(`stage "${stage}" is not available yet; stages that exist: ${EXISTING.join(", ")}`);
  }
  switch (stage) {
    case "traced":
    case "autodiff":
      return printFunc(func);
    case "simplified":
      return printFunc(lowered().simplified);
    case "fused":
      return printProgram(lowered().program);
    case "planned":
      return printPlanned(lowered().planned);
    default:
      return stage satisfies never;
  }
}

/** Each stage's text to stderr, or to `SMELT_DUMP_DIR/<name>.<stage>.txt`, with source expressions. */
function dumpStage(name: string, stage: DumpStage, text: string): void {
  const ended = text.endsWith("\n") ? text : `${text}\n`;
  const annotated = stage === "msl" ? ended : annotateExprsSync(ended);
  const dir = process.env["SMELT_DUMP_DIR"];
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.${stage}.txt`), annotated);
  } else {
    process.stderr.write(`// @${name}: IR at stage "${stage}"\n${annotated}`);
  }
}

/** The path whose signature took the most distinct values over the traces so far. */
function mostChanging(history: readonly Signature[]): string {
  const seen = new Map<string, Set<string>>();
  for (const sig of history) {
    for (const [path, leaf] of sig.leaves) {
      let s = seen.get(path);
      if (!s) seen.set(path, (s = new Set()));
      s.add(leaf);
    }
  }
  let best: [string, Set<string>] | undefined;
  for (const e of seen) if (e[1].size > 1 && (!best || e[1].size > best[1].size)) best = e;
  const structures = new Set(history.map((s) => s.structure)).size;
  if (!best || structures > best[1].size) return "the structure of the arguments (their nesting and object keys)";
  const values = [...best[1]].slice(0, 4).join(", ");
  return `argument ${best[0]} (seen as ${values}${best[1].size > 4 ? ", ..." : ""})`;
}

/**
 * A function with `fn`'s signature that traces `fn` into graph IR once per input signature
 * (tree structure, shapes and dtypes of arrays, values of other leaves: numbers are static),
 * caches the result and runs it on the current device. Called while another function is being
 * traced, it simply runs `fn` (it is inlined into that trace).
 */
export function compile<F extends AnyFunction>(fn: F, opts: CompileOptions = {}): CompiledFunction<F> {
  const name = opts.name ?? (fn.name || "compiled");
  if (opts.fusion !== undefined && !["full", "elementwise", "none"].includes(opts.fusion)) {
    throw new CompileError(`fusion must be "full", "elementwise" or "none", got ${JSON.stringify(opts.fusion)}`, {
      op: "compile",
    });
  }
  const names = paramNames(fn);
  const cache = new Map<string, Entry>();
  const history: Signature[] = [];
  let traceCount = 0;
  let warned = false;

  function signature(leaves: readonly unknown[], def: TreeDef): Signature {
    const paths = leafPaths(def);
    const structure = treedefString(def);
    const list = leaves.map((x, i) => [argPath(paths[i]!, names), leafSignature(x)] as const);
    return { key: `${structure}|${list.map((l) => l[1]).join(";")}`, structure, leaves: list };
  }

  function trace(leaves: readonly unknown[], def: TreeDef, loc: Loc | undefined): Entry {
    const t = new Trace(name);
    const paths = leafPaths(def);
    const placeholders: Array[] = [];
    const irNames: string[] = [];
    const traceLeaves = untracked(() =>
      leaves.map((x, i) => {
        if (!isArray(x)) return x;
        const p = placeholderArray(x.dtype, x.shape, t, placeholders.length, argPath(paths[i]!, names));
        placeholders.push(p);
        irNames.push(irName(paths[i]!, names));
        return p;
      }),
    );
    const args = unflatten(def, traceLeaves) as unknown[];
    const out: unknown = withTrace(t, () => userCode(() => fn(...args)));
    if (out instanceof Promise) {
      throw new TraceError(`@${name} returned a Promise: a compiled function must be synchronous`, { op: "compile", loc });
    }
    const [outLeaves, outDef] = flatten(out);
    const results = outLeaves.filter(isArray);
    let func: Func;
    try {
      func = lowerGraph(name, results, { kind: "trace", trace: t, params: placeholders, paramNames: uniqueNames(irNames) })
        .func;
    } catch (e) {
      throw e instanceof SmeltError ? rebrand(e, { op: `compile(@${name})`, loc }) : e;
    }
    verify(func);
    const entry: Entry = {
      func,
      outDef,
      outLeaves: outLeaves.map((l) => (isArray(l) ? ARRAY_SLOT : l)),
      executables: new Map(),
    };
    for (const stage of requestedStages(opts.dumpIr ?? process.env["SMELT_DUMP_IR"])) {
      dumpStage(name, stage, stage === "msl" ? mslOf(lowered(entry).planned) : irAt(func, () => lowered(entry), stage));
    }
    return entry;
  }

  function lowered(entry: Entry): Lowered {
    entry.lowered ??= lowerFunc(entry.func, { strategy: opts.fusion ?? "full" });
    return entry.lowered;
  }

  function entryFor(args: readonly unknown[]): [Entry, unknown[]] {
    const [leaves, def] = flatten([...args]);
    const sig = signature(leaves, def);
    let entry = cache.get(sig.key);
    if (!entry) {
      entry = trace(leaves, def, userLoc());
      cache.set(sig.key, entry);
      traceCount++;
      history.push(sig);
      if (traceCount > RETRACE_WARNING && !warned) {
        warned = true;
        console.warn(
          `smelt: compile(@${name}) has traced ${traceCount} times; ${mostChanging(history)} keeps changing. ` +
            "Each new shape, dtype, tree structure or static number traces again: pass numbers that change as arrays (sm.array(x)).",
        );
      }
    }
    return [entry, leaves];
  }

  function run(entry: Entry, leaves: readonly unknown[]): unknown {
    const inputs = leaves.filter(isArray);
    realize(inputs);
    const device = currentDevice();
    let exe = entry.executables.get(device.name);
    if (!exe) {
      exe = device.prepare(entry.func, { lowered: () => lowered(entry) });
      entry.executables.set(device.name, exe);
    }
    const out = exe.run(inputs.map(deviceBuffer));
    let k = 0;
    const outLeaves = entry.outLeaves.map((l) => (l === ARRAY_SLOT ? realizedArray(out[k++]!) : l));
    return unflatten(entry.outDef, outLeaves);
  }

  const compiled = (...args: unknown[]): unknown => {
    if (activeTrace()) return fn(...args);
    const [entry, leaves] = entryFor(args);
    return run(entry, leaves);
  };
  Object.defineProperty(compiled, "traceCount", { get: () => traceCount });
  Object.defineProperty(compiled, "name", { value: name });
  Object.assign(compiled, {
    lower: (...args: unknown[]): LoweredFunction => {
      const [entry] = entryFor(args);
      return {
        ir: (stage: Stage = "traced") => publicOp("lower.ir", () => irAt(entry.func, () => lowered(entry), stage)),
        msl: () => publicOp("lower.msl", () => mslOf(lowered(entry).planned)),
        get stats() {
          return lowered(entry).stats;
        },
      };
    },
  });
  return compiled as unknown as CompiledFunction<F>;
}
