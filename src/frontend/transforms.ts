// `grad`, `valueAndGrad`, `vjp`, `jvp`. Each traces the user's function into a graph-IR func as
// `compile` does (a placeholder per array leaf of the arguments, numbers static), applies the
// graph transform of passes/autodiff.ts, and inlines the result into the caller's lazy graph
// with `callFunc`. The derivative is then made of ordinary lazy arrays: it is computed eagerly,
// traced by an enclosing `compile`, or differentiated again by an enclosing transform, with no
// special case for any combination.
import { isFloat } from "../ir/dtype.js";
import { DTypeError, ShapeError, SmeltError, TraceError } from "../ir/errors.js";
import { type Func, makeOp, newValue, type Op, type Value } from "../ir/graph.js";
import { shapeEq, shapeStr } from "../ir/shape.js";
import { typeStr } from "../ir/types.js";
import { jvp as jvpFunc, vjp as vjpFunc } from "../passes/autodiff.js";
import { withOperands } from "../passes/rewrite.js";
import { type Array, isArray, placeholderArray } from "./array.js";
import { publicOp, userCode } from "./context.js";
import { full } from "./creation.js";
import { callFunc } from "./inline.js";
import { lowerGraph } from "./lower.js";
import { paramNames } from "./params.js";
import { scalar } from "./ops/util.js";
import { untracked } from "./scope.js";
import { Trace, withTrace } from "./trace.js";
import { flatten, leafPaths, type PathStep, pathString, type TreeDef, treedefEqual, treedefString, unflatten } from "./tree.js";

// Arguments and results are trees whose types are the user's own.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

/** Which arguments to differentiate: one position, or a list (the gradients come as a list). */
export type ArgNums = number | readonly number[];

export interface GradOptions {
  /** `fn` returns `[loss, aux]`: `aux` (any tree) is returned alongside, not differentiated. */
  readonly hasAux?: boolean;
}

/** The derivative of an argument tree: its structure, an array per array or number leaf, null elsewhere. */
export type GradTree<T> = T extends Array
  ? Array
  : T extends number
    ? Array
    : T extends (...args: never[]) => unknown
      ? null
      : T extends object
        ? { -readonly [K in keyof T]: GradTree<T[K]> }
        : null;

/** The derivative of a result tree: its structure, an array per array leaf, null elsewhere. */
export type TangentTree<T> = T extends Array
  ? Array
  : T extends (...args: never[]) => unknown
    ? null
    : T extends object
      ? { -readonly [K in keyof T]: TangentTree<T[K]> }
      : null;

/** One gradient tree per argument. */
export type GradTrees<P extends readonly unknown[]> = { -readonly [K in keyof P]: GradTree<P[K]> };

export type GradsAt<P extends readonly unknown[], A> = A extends number
  ? GradTree<P[A]>
  : { -readonly [K in keyof A]: A[K] extends number ? GradTree<P[A[K]]> : never };

type AuxOf<F extends AnyFunction> = ReturnType<F> extends readonly [unknown, infer X] ? X : unknown;
type LossOf<F extends AnyFunction> = ReturnType<F> extends readonly [infer L, unknown] ? L : Array;

// ---------------------------------------------------------------- tracing to a func

/** `fn` called on placeholders: what the transforms and checkGrad lower and transform. */
interface Call {
  readonly trace: Trace;
  /** The arguments' leaves as traced (numbers of differentiated arguments already arrays). */
  readonly leaves: readonly unknown[];
  readonly def: TreeDef;
  readonly paths: readonly (readonly PathStep[])[];
  /** Per leaf: its param index, or -1 for a static leaf. */
  readonly param: readonly number[];
  /** The array leaves in order, and the placeholder standing for each while tracing. */
  readonly arrays: readonly Array[];
  readonly placeholders: readonly Array[];
  readonly out: unknown;
}

/** A traced call lowered to a func: params are the array leaves of the arguments, then the captures. */
export interface Lowered {
  readonly func: Func;
  /** What to call `func` with: the arguments' array leaves, then the captured arrays. */
  readonly inputs: readonly Array[];
  readonly captures: number;
}


/** `x`, `params.w`, `args[1][0]`: a leaf as the user would write it. */
export function leafLabel(path: readonly PathStep[], names: readonly (string | undefined)[]): string {
  const i = path[0] as number;
  return pathString(path.slice(1), names[i] ?? `args[${i}]`);
}

function traceCall(name: string, fn: AnyFunction, leaves: readonly unknown[], def: TreeDef): Call {
  const names = paramNames(fn);
  const paths = leafPaths(def);
  const trace = new Trace(name);
  const arrays: Array[] = [];
  const placeholders: Array[] = [];
  const param: number[] = [];
  const traced = untracked(() =>
    leaves.map((x, i) => {
      if (!isArray(x)) {
        param.push(-1);
        return x;
      }
      const p = placeholderArray(x.dtype, x.shape, trace, placeholders.length, leafLabel(paths[i]!, names));
      param.push(placeholders.length);
      placeholders.push(p);
      arrays.push(x);
      return p;
    }),
  );
  const args = unflatten(def, traced) as unknown[];
  const out: unknown = withTrace(trace, () => userCode(() => fn(...args)));
  return { trace, leaves, def, paths, param, arrays, placeholders, out };
}

/** Whether an array depends on a placeholder of `trace` (memoized over one graph walk). */
function dependenceOn(trace: Trace): (a: Array) => boolean {
  const memo = new Map<Array, boolean>();
  return (root) => {
    // Iterative: graphs built by long loops are deeper than the JS call stack.
    const stack = [root];
    while (stack.length > 0) {
      const a = stack[stack.length - 1]!;
      if (memo.has(a)) {
        stack.pop();
        continue;
      }
      const n = a.node;
      if (n.kind !== "pending") {
        memo.set(a, n.kind === "placeholder" && n.trace === trace);
        stack.pop();
        continue;
      }
      const todo = n.pending.inputs.filter((x) => !memo.has(x));
      if (todo.length > 0) {
        stack.push(...todo);
        continue;
      }
      memo.set(a, n.pending.inputs.some((x) => memo.get(x)));
      stack.pop();
    }
    return memo.get(root)!;
  };
}

/**
 * The arrays the results read that do not depend on the traced arguments: closed-over arrays
 * (realized ones, a pending computation, placeholders of an enclosing trace) and constants.
 * They become params of the func and are passed back as they are, so an enclosing transform
 * still sees (and differentiates through) them, and nothing is computed twice.
 */
function capturesOf(results: readonly Array[], depends: (a: Array) => boolean): Array[] {
  const seen = new Set<Array>();
  const out: Array[] = [];
  const stack = [...results];
  while (stack.length > 0) {
    const a = stack.pop()!;
    if (seen.has(a)) continue;
    seen.add(a);
    if (!depends(a)) out.push(a);
    else if (a.node.kind === "pending") stack.push(...a.node.pending.inputs);
  }
  return out;
}

function lowerCall(call: Call, results: readonly Array[]): Lowered {
  const captures = capturesOf(results, dependenceOn(call.trace));
  const params = [...call.placeholders, ...captures];
  const paramNames = [...call.placeholders.map((_, i) => `x${i}`), ...captures.map((_, i) => `c${i}`)];
  const { func } = lowerGraph(call.trace.name, results, { kind: "trace", trace: call.trace, params, paramNames });
  return { func, inputs: [...call.arrays, ...captures], captures: captures.length };
}

function notPromise(out: unknown, name: string): void {
  if (out instanceof Promise) throw new TraceError(`@${name} returned a Promise: a differentiated function must be synchronous`);
}

/**
 * `fn` traced on `args` to a func of one param per array leaf of `args` (in leaf order) then
 * one per captured array, and one result per array leaf of its output. For checkGrad, which
 * runs the func itself; `op` names its errors.
 */
export function traceToFunc(op: string, fn: AnyFunction, args: readonly unknown[]): Lowered & { readonly out: unknown } {
  const [leaves, def] = flatten([...args]);
  const call = traceCall(fn.name || "fn", fn, leaves, def);
  return publicOp(op, () => {
    notPromise(call.out, call.trace.name);
    return { ...lowerCall(call, flatten(call.out)[0].filter(isArray)), out: call.out };
  });
}

// ---------------------------------------------------------------- arguments

function checkArgnums(argnums: ArgNums, nargs: number): number[] {
  const list = typeof argnums === "number" ? [argnums] : globalThis.Array.isArray(argnums) ? [...argnums] : undefined;
  if (list === undefined) throw new SmeltError(`argnums must be a number or a list of numbers, got ${String(argnums)}`);
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= nargs) {
      throw new SmeltError(`argnums ${JSON.stringify(argnums)}: there is no argument ${i} (called with ${nargs} argument(s))`);
    }
  }
  return list;
}

/** A leaf of a differentiated argument as traced: numbers become float32 scalars. */
function asPrimal(x: unknown): unknown {
  return typeof x === "number" ? scalar(x, "float32") : x;
}

/** The leaf's derivative input for a primal leaf: what `jvp` takes as a tangent, `vjp` as a cotangent. */
function derivativeInput(kind: string, primal: Array, d: unknown, label: string): Array {
  // Integer and bool values carry no derivative: whatever is passed is ignored.
  if (!isFloat(primal.dtype)) return full(primal.shape, 0, primal.dtype);
  if (typeof d === "number") return full(primal.shape, d, primal.dtype);
  if (!isArray(d)) {
    throw new SmeltError(`the ${kind} for ${label} (${typeStr(primal.type)}) must be an array or a number, got ${describeLeaf(d)}`);
  }
  if (!shapeEq(d.shape, primal.shape)) {
    throw new ShapeError(`the ${kind} for ${label} is ${typeStr(d.type)}, but ${label} has shape ${shapeStr(primal.shape)}`);
  }
  if (d.dtype !== primal.dtype) {
    throw new DTypeError(`the ${kind} for ${label} is ${typeStr(d.type)}, but ${label} has dtype ${primal.dtype}`);
  }
  return d;
}

function describeLeaf(x: unknown): string {
  if (isArray(x)) return typeStr(x.type);
  if (x === null || x === undefined) return String(x);
  return typeof x === "object" ? "an object" : `${typeof x} ${String(x)}`;
}

/** The output tree with its array leaves replaced by `arrays` (in order) and the rest by `other(leaf)`. */
function refill(leaves: readonly unknown[], def: TreeDef, arrays: readonly Array[], other: (leaf: unknown) => unknown): unknown {
  let k = 0;
  return unflatten(
    def,
    leaves.map((l) => (isArray(l) ? arrays[k++]! : other(l))),
  );
}

const same = (x: unknown): unknown => x;
const none = (): null => null;

// ---------------------------------------------------------------- grad and valueAndGrad

function gradCall(
  kind: "grad" | "valueAndGrad",
  fn: AnyFunction,
  argnums: ArgNums,
  hasAux: boolean,
  args: readonly unknown[],
): { value: unknown; grads: unknown; aux: unknown } {
  const name = fn.name || "fn";
  const names = paramNames(fn);
  const prep = publicOp(kind, () => {
    const nums = checkArgnums(argnums, args.length);
    const [leaves, def] = flatten([...args]);
    const paths = leafPaths(def);
    const wanted = new Set(nums);
    const traced = leaves.map((x, i) => {
      if (!wanted.has(paths[i]![0] as number)) return x;
      if (isArray(x) && !isFloat(x.dtype)) {
        throw new DTypeError(
          `argument ${leafLabel(paths[i]!, names)} (${typeStr(x.type)}) is ${x.dtype}: only float arguments have gradients ` +
            `(argnums ${JSON.stringify(argnums)}): make it float (sm.array(data, { dtype: "float32" })) or leave it out of argnums`,
        );
      }
      return asPrimal(x);
    });
    return { nums, leaves: traced, def };
  });
  const call = traceCall(`${kind}_${name}`, fn, prep.leaves, prep.def);
  return publicOp(kind, () => {
    notPromise(call.out, name);
    const [loss, auxTree] = lossAndAux(kind, call.out, hasAux, name);
    const [auxLeaves, auxDef] = flatten(auxTree);
    const auxArrays = auxLeaves.filter(isArray);
    const { func, inputs } = lowerCall(call, [loss, ...auxArrays]);
    const wrt: number[] = [];
    const wanted = new Set(prep.nums);
    call.leaves.forEach((x, i) => {
      if (isArray(x) && wanted.has(call.paths[i]![0] as number)) wrt.push(call.param[i]!);
    });
    const back = vjpFunc({ ...func, results: func.results.slice(0, 1) }, [...new Set(wrt)]);
    // The aux results are computed by the forward ops the vjp func keeps.
    const both: Func = { ...back, results: [...back.results, ...func.results.slice(1)] };
    const outs = callFunc(both, [...inputs, scalar(1, loss.dtype)]);
    const gradOf = new Map<number, Array>([...new Set(wrt)].map((p, k) => [p, outs[1 + k]!]));
    const perArg = prep.nums.map((n) => {
      const argDef = (call.def as Extract<TreeDef, { kind: "list" }>).children[n]!;
      const leaves = call.leaves.flatMap((x, i) => (call.paths[i]![0] === n ? [isArray(x) ? gradOf.get(call.param[i]!)! : null] : []));
      return unflatten(argDef, leaves);
    });
    const aux = refill(auxLeaves, auxDef, outs.slice(1 + gradOf.size), same);
    return { value: outs[0]!, grads: typeof argnums === "number" ? perArg[0] : perArg, aux };
  });
}

function lossAndAux(kind: string, out: unknown, hasAux: boolean, name: string): [Array, unknown] {
  if (hasAux && !(globalThis.Array.isArray(out) && out.length === 2)) {
    throw new SmeltError(`with hasAux, @${name} must return [loss, aux], got ${describeOut(out)}`);
  }
  const loss = hasAux ? (out as unknown[])[0] : out;
  if (!isArray(loss)) {
    throw new SmeltError(`@${name} must return a scalar array${hasAux ? " as the loss" : ""}, got ${describeOut(loss)}`);
  }
  if (loss.ndim !== 0) {
    throw new ShapeError(
      `@${name} returned ${typeStr(loss.type)}: ${kind} needs a scalar output (shape []); ` +
        "reduce it (sum, mean) or use vjp for a non-scalar output",
    );
  }
  if (!isFloat(loss.dtype)) {
    throw new DTypeError(`@${name} returned ${typeStr(loss.type)}: ${kind} needs a float output`);
  }
  return [loss, hasAux ? (out as unknown[])[1] : undefined];
}

function describeOut(x: unknown): string {
  if (globalThis.Array.isArray(x)) return `a list of ${x.length}`;
  const [, def] = flatten(x);
  return def.kind === "leaf" ? describeLeaf(x) : treedefString(def);
}

/** The wrapper's name in IR dumps and errors: `grad_loss`. */
function named<T extends AnyFunction>(f: T, prefix: string, fn: AnyFunction): T {
  Object.defineProperty(f, "name", { value: `${prefix}_${fn.name || "fn"}` });
  return f;
}

/**
 * The gradient of `fn` (which returns a float scalar, or `[loss, aux]` with `hasAux`) with
 * respect to its argument(s) `argnums`: a function of the same arguments returning, for each
 * differentiated argument, a tree of its structure (an array per array or number leaf, null for
 * other leaves); a list of those when `argnums` is a list; `[grads, aux]` with `hasAux`.
 * Numbers in differentiated arguments are treated as float32 scalars; integer and bool arrays
 * there are a DTypeError. Other arguments are as in `compile`: arrays are inputs, numbers static.
 */
export function grad<F extends AnyFunction, const A extends ArgNums = 0>(
  fn: F,
  argnums?: A,
  opts?: { readonly hasAux?: false },
): (...args: Parameters<F>) => GradsAt<Parameters<F>, A>;
export function grad<F extends AnyFunction, const A extends ArgNums = 0>(
  fn: F,
  argnums: A | undefined,
  opts: { readonly hasAux: true },
): (...args: Parameters<F>) => [GradsAt<Parameters<F>, A>, AuxOf<F>];
export function grad(fn: AnyFunction, argnums?: ArgNums, opts?: GradOptions): (...args: unknown[]) => unknown;
export function grad(fn: AnyFunction, argnums: ArgNums = 0, opts: GradOptions = {}): (...args: unknown[]) => unknown {
  const hasAux = opts.hasAux ?? false;
  return named(
    (...args: unknown[]) => {
      const r = gradCall("grad", fn, argnums, hasAux, args);
      return hasAux ? [r.grads, r.aux] : r.grads;
    },
    "grad",
    fn,
  );
}

/**
 * `fn`'s value and its gradient, computed together: `[value, grads]` (`[[loss, aux], grads]`
 * with `hasAux`); `grads` as `grad` returns them.
 */
export function valueAndGrad<F extends AnyFunction, const A extends ArgNums = 0>(
  fn: F,
  argnums?: A,
  opts?: { readonly hasAux?: false },
): (...args: Parameters<F>) => [Array, GradsAt<Parameters<F>, A>];
export function valueAndGrad<F extends AnyFunction, const A extends ArgNums = 0>(
  fn: F,
  argnums: A | undefined,
  opts: { readonly hasAux: true },
): (...args: Parameters<F>) => [[LossOf<F>, AuxOf<F>], GradsAt<Parameters<F>, A>];
export function valueAndGrad(fn: AnyFunction, argnums?: ArgNums, opts?: GradOptions): (...args: unknown[]) => unknown;
export function valueAndGrad(fn: AnyFunction, argnums: ArgNums = 0, opts: GradOptions = {}): (...args: unknown[]) => unknown {
  const hasAux = opts.hasAux ?? false;
  return named(
    (...args: unknown[]) => {
      const r = gradCall("valueAndGrad", fn, argnums, hasAux, args);
      return [hasAux ? [r.value, r.aux] : r.value, r.grads];
    },
    "valueAndGrad",
    fn,
  );
}

// ---------------------------------------------------------------- vjp and jvp

function primalLeaves(primals: readonly unknown[]): [unknown[], TreeDef] {
  if (!globalThis.Array.isArray(primals)) {
    throw new SmeltError(`primals must be a list of the function's arguments, got ${describeLeaf(primals)}`);
  }
  const [leaves, def] = flatten([...primals]);
  return [leaves.map(asPrimal), def];
}

/**
 * Reverse mode, as `jax.vjp` applied at once: `fn(...primals)` and the cotangent of each primal
 * for the output cotangents `cotangents` (a tree of the output's structure, one array of each
 * output array's shape and dtype, or a number filling it). Returns `[outputs, grads]` with
 * `grads[i]` a tree of `primals[i]`'s structure: for each float array or number leaf the sum over
 * outputs of `<output, cotangent>` differentiated with respect to it, null for other leaves
 * (integer and bool arrays included). Cotangents of integer, bool and static outputs are ignored.
 */
export function vjp<F extends AnyFunction>(
  fn: F,
  primals: Parameters<F>,
  cotangents: unknown,
): [ReturnType<F>, GradTrees<Parameters<F>>] {
  return reverseMode(fn, primals, cotangents) as [ReturnType<F>, GradTrees<Parameters<F>>];
}

function reverseMode(fn: AnyFunction, primals: readonly unknown[], cotangents: unknown): [unknown, unknown[]] {
  const name = fn.name || "fn";
  const [leaves, def] = publicOp("vjp", () => primalLeaves(primals));
  const call = traceCall(`vjp_${name}`, fn, leaves, def);
  return publicOp("vjp", () => {
    notPromise(call.out, name);
    const [outLeaves, outDef] = flatten(call.out);
    const [ctLeaves, ctDef] = flatten(cotangents);
    if (!treedefEqual(outDef, ctDef)) {
      throw new SmeltError(`the cotangents have structure ${treedefString(ctDef)}, @${name}'s output ${treedefString(outDef)}`);
    }
    const outPaths = leafPaths(outDef);
    const results: Array[] = [];
    const cts: Array[] = [];
    outLeaves.forEach((l, i) => {
      if (!isArray(l)) return;
      results.push(l);
      cts.push(derivativeInput("cotangent", l, ctLeaves[i], pathString(outPaths[i]!, "output")));
    });
    const { func, inputs } = lowerCall(call, results);
    const wrt = call.leaves.flatMap((x, i) => (isArray(x) && isFloat(x.dtype) ? [call.param[i]!] : []));
    const outs = callFunc(vjpFunc(func, wrt), [...inputs, ...cts]);
    const gradOf = new Map(wrt.map((p, k) => [p, outs[results.length + k]!]));
    const outputs = refill(outLeaves, outDef, outs.slice(0, results.length), same);
    const grads = unflatten(
      def,
      call.leaves.map((x, i) => (isArray(x) ? (gradOf.get(call.param[i]!) ?? null) : null)),
    ) as unknown[];
    return [outputs, grads];
  });
}

/**
 * Forward mode, as `jax.jvp`: `fn(...primals)` and its directional derivative along `tangents`
 * (a list of the primals' structure: for each float array leaf an array of its shape and dtype
 * or a number filling it; tangents of other leaves are ignored). Returns `[outputs,
 * tangentsOut]`, `tangentsOut` of the output's structure (null for its leaves that are not arrays).
 */
export function jvp<F extends AnyFunction>(
  fn: F,
  primals: Parameters<F>,
  tangents: readonly unknown[],
): [ReturnType<F>, TangentTree<ReturnType<F>>] {
  return forwardMode(fn, primals, tangents) as [ReturnType<F>, TangentTree<ReturnType<F>>];
}

function forwardMode(fn: AnyFunction, primals: readonly unknown[], tangents: readonly unknown[]): [unknown, unknown] {
  const name = fn.name || "fn";
  const names = paramNames(fn);
  const prep = publicOp("jvp", () => {
    const [leaves, def] = primalLeaves(primals);
    if (!globalThis.Array.isArray(tangents)) {
      throw new SmeltError(`tangents must be a list like the primals, got ${describeLeaf(tangents)}`);
    }
    const [tLeaves, tDef] = flatten([...tangents]);
    if (!treedefEqual(def, tDef)) {
      throw new SmeltError(`the tangents have structure ${treedefString(tDef)}, the primals ${treedefString(def)}`);
    }
    const paths = leafPaths(def);
    const dirs = leaves.flatMap((x, i) =>
      isArray(x) ? [derivativeInput("tangent", x, tLeaves[i], leafLabel(paths[i]!, names))] : [],
    );
    return { leaves, def, dirs };
  });
  const call = traceCall(`jvp_${name}`, fn, prep.leaves, prep.def);
  return publicOp("jvp", () => {
    notPromise(call.out, name);
    const [outLeaves, outDef] = flatten(call.out);
    const results = outLeaves.filter(isArray);
    const { func, inputs, captures } = lowerCall(call, results);
    const forward = jvpOfLeadingParams(func, func.params.length - captures);
    // The captures' tangents are never read (see jvpOfLeadingParams): any array of the type will do.
    const outs = callFunc(forward, [...inputs, ...prep.dirs, ...inputs.slice(prep.dirs.length)]);
    const outputs = refill(outLeaves, outDef, outs.slice(0, results.length), same);
    const tangentsOut = refill(outLeaves, outDef, outs.slice(results.length), none);
    return [outputs, tangentsOut];
  });
}

/**
 * `jvp(func)` in which only the first `n` params carry tangents. The others (captured arrays)
 * are constants here; they pass through `stop_gradient` while the transform runs, so no
 * derivative op reads their (zero) tangents, and are read directly again afterwards, so that an
 * enclosing transform differentiates through them.
 */
function jvpOfLeadingParams(func: Func, n: number): Func {
  const marks = new Map<Value, Value>();
  const markOps: Op[] = func.params.slice(n).map((c) => {
    const m = newValue(c.type);
    marks.set(c, m);
    return makeOp("stop_gradient", [c], {}, m) as Op;
  });
  const marked: Func = {
    ...func,
    body: [...markOps, ...func.body.map((op) => withOperands(op, op.operands.map((v) => marks.get(v) ?? v)))],
    results: func.results.map((v) => marks.get(v) ?? v),
  };
  const j = jvpFunc(marked);
  const unmark = new Map([...marks].map(([c, m]) => [m, c]));
  return {
    ...j,
    body: j.body.filter((op) => !unmark.has(op.result)).map((op) => withOperands(op, op.operands.map((v) => unmark.get(v) ?? v))),
    results: j.results.map((v) => unmark.get(v) ?? v),
  };
}
