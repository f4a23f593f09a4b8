// `smeltjs/testing`: gradient checks against finite differences, and fast-check arbitraries of
// arrays and shapes for property tests of user code.
import fc from "fast-check";
import { type Array, isArray } from "../frontend/array.js";
import { publicOp } from "../frontend/context.js";
import { array } from "../frontend/creation.js";
import { concreteTensor, realize } from "../frontend/eval.js";
import { paramNames } from "../frontend/params.js";
import { grad, leafLabel, traceToFunc } from "../frontend/transforms.js";
import { flatten, leafPaths, map as treeMap } from "../frontend/tree.js";
import { type DType, isDType, isFloat, roundTo } from "../ir/dtype.js";
import { SmeltError } from "../ir/errors.js";
import { interpret } from "../ir/interp.js";
import { isValidShape, size, unravel } from "../ir/shape.js";
import type { Tensor } from "../ir/types.js";
import { typeStr } from "../ir/types.js";

// The checked function's arguments are the user's own trees.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

/** A gradient that disagrees with finite differences. */
export class GradientCheckError extends SmeltError {}

export interface CheckGradOptions {
  /** Step of the central differences (default 1e-5; they are computed in float64). */
  readonly eps?: number;
  /** Tolerance: `|grad - fd| <= atol + rtol * |fd|` (defaults rtol 1e-3, atol 1e-4). */
  readonly rtol?: number;
  readonly atol?: number;
  /**
   * The arguments to check (default: every argument whose array leaves are all float, numbers
   * excepted). Numbers in them are checked as float32 scalars, as `grad` treats them.
   */
  readonly argnums?: number | readonly number[];
}

function option(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v >= 0)) throw new SmeltError(`${name} must be a finite number >= 0, got ${String(value)}`);
  return v;
}

/** The arguments made only of float arrays (and numbers), with at least one array. */
function floatArguments(args: readonly unknown[]): number[] {
  return args.flatMap((a, i) => {
    const leaves = flatten(a)[0];
    const arrays = leaves.filter(isArray);
    return arrays.length > 0 && arrays.every((x) => isFloat(x.dtype)) ? [i] : [];
  });
}

function checkedArgnums(argnums: number | readonly number[] | undefined, args: readonly unknown[]): number[] {
  if (argnums === undefined) {
    const found = floatArguments(args);
    if (found.length === 0) throw new SmeltError("no argument is made of float arrays: nothing to check (pass argnums)");
    return found;
  }
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= args.length) {
      throw new SmeltError(`argnums ${JSON.stringify(argnums)}: there is no argument ${i} (got ${args.length} argument(s))`);
    }
  }
  return [...new Set(list)];
}

/** A tensor of the same values that the interpreter may hold unrounded (perturbed in place). */
const exactCopy = (t: Tensor): Tensor => ({ type: t.type, data: Float64Array.from(t.data) });

const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(7)).toString() : String(x));

/**
 * Compares `grad(fn, argnums)(...args)` (float32 on the default device) with central finite
 * differences of `fn` (which must return a float scalar) computed in float64 by the reference
 * interpreter, element by element. Throws a GradientCheckError naming the argument (argnum and
 * tree path), the element, both values and the tolerance at the first disagreement.
 */
export function checkGrad(fn: AnyFunction, args: readonly unknown[], opts: CheckGradOptions = {}): void {
  const setup = publicOp("checkGrad", () => {
    if (!globalThis.Array.isArray(args)) throw new SmeltError("args must be the list of fn's arguments");
    const eps = option("eps", opts.eps, 1e-5);
    if (eps === 0) throw new SmeltError("eps must be > 0");
    const rtol = option("rtol", opts.rtol, 1e-3);
    const atol = option("atol", opts.atol, 1e-4);
    const nums = checkedArgnums(opts.argnums, args);
    // Numbers of checked arguments become the float32 scalars grad would make of them, so both
    // sides differentiate the same function.
    const actual = args.map((a, i) =>
      nums.includes(i) ? treeMap((x: unknown) => (typeof x === "number" ? array(x, { dtype: "float32" }) : x), a) : a,
    );
    return { eps, rtol, atol, nums, actual };
  });
  const { eps, rtol, atol, nums, actual } = setup;
  const grads = grad(fn, nums)(...actual) as unknown[];
  const traced = traceToFunc("checkGrad", fn, actual);
  publicOp("checkGrad", () => {
    realize([...traced.inputs]);
    const inputs = traced.inputs.map((a) => exactCopy(concreteTensor(a)));
    const value = (): number => interpret(traced.func, inputs, { mode: "float64" })[0]!.data[0]!;
    const [leaves, def] = flatten(actual);
    const paths = leafPaths(def);
    const names = paramNames(fn);
    const mismatches: string[] = [];
    let checked = 0;
    nums.forEach((n, k) => {
      const gradLeaves = flatten(grads[k])[0];
      let j = 0;
      leaves.forEach((leaf, i) => {
        if (paths[i]![0] !== n) return;
        const g = gradLeaves[j++];
        if (!isArray(leaf) || !isArray(g)) return;
        const param = leaves.slice(0, i).filter(isArray).length;
        const x = inputs[param]!.data;
        const gv = concreteTensor(g).data;
        const where = `argument ${leafLabel(paths[i]!, names)} (argnum ${n}, ${typeStr(leaf.type)})`;
        for (let e = 0; e < x.length; e++) {
          const x0 = x[e]!;
          x[e] = x0 + eps;
          const up = value();
          x[e] = x0 - eps;
          const down = value();
          x[e] = x0;
          const fd = (up - down) / (2 * eps);
          const tol = atol + rtol * Math.abs(fd);
          const diff = Math.abs(gv[e]! - fd);
          checked++;
          if (diff <= tol) continue;
          const index = leaf.ndim > 1 ? ` [${unravel(e, leaf.shape).join(", ")}]` : "";
          mismatches.push(
            `${where}, flat index ${e}${index}: grad gives ${fmt(gv[e]!)}, central finite differences ${fmt(fd)} ` +
              `(|difference| ${fmt(diff)} > tolerance ${fmt(tol)} = atol ${atol} + rtol ${rtol} * |fd|; eps ${eps})`,
          );
        }
      });
    });
    if (mismatches.length > 0) {
      const more = mismatches.length > 1 ? ` (${mismatches.length} of ${checked} elements differ)` : "";
      throw new GradientCheckError(`gradient of @${fn.name || "fn"} with respect to ${mismatches[0]!}${more}`);
    }
  });
}

// ---------------------------------------------------------------- arbitraries

export interface ShapesOptions {
  /** Number of dims (defaults 0 and 3). */
  readonly minDims?: number;
  readonly maxDims?: number;
  /** Size of each dim (defaults 1 and 4). */
  readonly minSide?: number;
  readonly maxSide?: number;
}

export interface ArraysOptions extends ShapesOptions {
  /** A fixed shape or an arbitrary of shapes (default: `shapes(opts)`). */
  readonly shape?: readonly number[] | fc.Arbitrary<readonly number[]>;
  /** Default float32. */
  readonly dtype?: DType;
  /** Range of the values (defaults -10 and 10), rounded to the dtype. */
  readonly min?: number;
  readonly max?: number;
}

function bounds(what: string, lo: number, hi: number): void {
  if (!(lo <= hi)) throw new SmeltError(`${what}: min ${lo} is above max ${hi}`);
}

function dimCount(name: string, x: number): number {
  if (!Number.isInteger(x) || x < 0) throw new SmeltError(`${name} must be an integer >= 0, got ${x}`);
  return x;
}

/** Shapes with `minDims..maxDims` dims, each of size `minSide..maxSide`. */
export function shapes(opts: ShapesOptions = {}): fc.Arbitrary<number[]> {
  const minDims = dimCount("minDims", opts.minDims ?? 0);
  const maxDims = dimCount("maxDims", opts.maxDims ?? Math.max(3, minDims));
  const minSide = dimCount("minSide", opts.minSide ?? 1);
  const maxSide = dimCount("maxSide", opts.maxSide ?? Math.max(4, minSide));
  bounds("shapes dims", minDims, maxDims);
  bounds("shapes sides", minSide, maxSide);
  return fc.array(fc.integer({ min: minSide, max: maxSide }), { minLength: minDims, maxLength: maxDims });
}

/**
 * Shapes that broadcast with `shape` (NumPy rules): each dim aligned with a dim `n` of `shape`
 * is `n` or 1 (any size where `n` is 1), extra leading dims any size.
 */
export function broadcastableShapes(shape: readonly number[], opts: ShapesOptions = {}): fc.Arbitrary<number[]> {
  if (!isValidShape(shape)) throw new SmeltError(`invalid shape ${JSON.stringify(shape)}`);
  const minDims = dimCount("minDims", opts.minDims ?? 0);
  const maxDims = dimCount("maxDims", opts.maxDims ?? Math.max(shape.length, minDims) + 1);
  const minSide = dimCount("minSide", opts.minSide ?? 1);
  const maxSide = dimCount("maxSide", opts.maxSide ?? Math.max(minSide, 3, ...shape));
  bounds("broadcastableShapes dims", minDims, maxDims);
  bounds("broadcastableShapes sides", minSide, maxSide);
  const free = fc.integer({ min: minSide, max: maxSide });
  return fc.integer({ min: minDims, max: maxDims }).chain((nd) =>
    fc.tuple(
      ...globalThis.Array.from({ length: nd }, (_, k) => {
        const n = shape[shape.length - nd + k];
        if (n === undefined || n === 1) return free;
        return minSide <= 1 ? fc.constantFrom(n, 1) : fc.constant(n);
      }),
    ),
  );
}

function elements(dtype: DType, min: number, max: number): fc.Arbitrary<number> {
  if (dtype === "bool") return fc.boolean().map(Number);
  if (isFloat(dtype)) return fc.double({ min, max, noNaN: true }).map((v) => roundTo(dtype, v));
  const lo = Math.max(Math.ceil(min), dtype === "uint32" ? 0 : -(2 ** 31));
  const hi = Math.min(Math.floor(max), dtype === "uint32" ? 2 ** 32 - 1 : 2 ** 31 - 1);
  bounds(`arrays of ${dtype}`, lo, hi);
  return fc.integer({ min: lo, max: hi });
}

/** A realized array that fast-check prints as the `sm.array(...)` call that rebuilds it. */
function printable(values: readonly number[], shape: readonly number[], dtype: DType): Array {
  const a = array([...values], { dtype, shape });
  const text = `sm.array(${JSON.stringify(values)}, { dtype: "${dtype}", shape: ${JSON.stringify(shape)} })`;
  Object.defineProperty(a, fc.toStringMethod, { value: () => text });
  return a;
}

/**
 * Arrays of `dtype` (default float32) with values in `[min, max]` (default [-10, 10]; bools
 * ignore it), of `shape` (a fixed shape or an arbitrary of shapes) or of `shapes(opts)`.
 */
export function arrays(opts: ArraysOptions = {}): fc.Arbitrary<Array> {
  const dtype = opts.dtype ?? "float32";
  if (!isDType(dtype)) throw new SmeltError(`unknown dtype ${JSON.stringify(dtype)}`);
  const min = opts.min ?? -10;
  const max = opts.max ?? 10;
  bounds("arrays", min, max);
  const shape =
    opts.shape === undefined
      ? shapes(opts)
      : opts.shape instanceof fc.Arbitrary
        ? opts.shape
        : fc.constant([...opts.shape]);
  if (globalThis.Array.isArray(opts.shape) && !isValidShape(opts.shape)) {
    throw new SmeltError(`invalid shape ${JSON.stringify(opts.shape)}`);
  }
  const element = elements(dtype, min, max);
  return shape.chain((s) => {
    const n = size(s);
    return fc.array(element, { minLength: n, maxLength: n }).map((values) => printable(values, s, dtype));
  });
}
