// Derivatives checked against central finite differences, everything run by the interpreter in
// float64 mode (no rounding of floats, so a difference quotient with eps = 1e-6 is accurate to
// about 1e-9 on the small, smooth cases the tests build).
import fc from "fast-check";
import {
  type Attrs,
  type Func,
  FuncBuilder,
  interpret,
  isFloat,
  type OpName,
  type Shape,
  size,
  type Tensor,
  type TensorType,
} from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import { jvp, vjp } from "../../src/passes/autodiff.js";
import { mulberry32 } from "./randomFunc.js";

export const EPS = 1e-6;
const ATOL = 1e-5;
const RTOL = 1e-5;

/** A case: a func and one input per param (floats may be any double: no rounding to the dtype). */
export interface GradCase {
  readonly func: Func;
  readonly inputs: readonly Tensor[];
  /** Seeds the weights and directions the checks draw. */
  readonly seed: number;
}

/** A tensor holding exactly these doubles (`tensor()` would round them to the dtype). */
export const exact = (type: TensorType, data: ArrayLike<number>): Tensor => ({
  type: { dtype: type.dtype, shape: [...type.shape] },
  data: Float64Array.from(data),
});

export { mulberry32 };

export const run = (f: Func, args: readonly Tensor[]): Tensor[] => interpret(f, args, { mode: "float64" });


/**
 * Random values of a type: floats uniform in [-1, 1]; integers and bools arbitrary small values
 * (a tangent or cotangent of those is ignored, so garbage there must not matter).
 */
export function randomLike(rng: () => number, type: TensorType): Tensor {
  const n = size(type.shape);
  const data = Array.from({ length: n }, () => {
    if (isFloat(type.dtype)) return 2 * rng() - 1;
    if (type.dtype === "bool") return rng() < 0.5 ? 0 : 1;
    return Math.floor(rng() * 7);
  });
  return exact(type, data);
}

/** A func of one op whose operands are its params (`x0`, `x1`, ...). */
export function opFunc<K extends OpName>(op: K, operands: readonly TensorType[], attrs: Attrs[K]): Func {
  const b = new FuncBuilder(op);
  const params = operands.map((t, i) => b.param(t, `x${i}`));
  return b.build([b.op(op, params, attrs)]);
}

/** An op case from operand types and values. */
export function opCase<K extends OpName>(
  op: K,
  operands: readonly { type: TensorType; data: ArrayLike<number> }[],
  attrs: Attrs[K],
  seed: number,
): GradCase {
  return printable({
    func: opFunc(
      op,
      operands.map((o) => o.type),
      attrs,
    ),
    inputs: operands.map((o) => exact(o.type, o.data)),
    seed,
  });
}

/** The case, shown by fast-check as IR text and inputs when a property fails on it. */
export function printable(c: GradCase): GradCase {
  return Object.assign(c, { [fc.toStringMethod]: () => describeCase(c) });
}

export const f32 = (shape: Shape): TensorType => ({ dtype: "float32", shape: [...shape] });

function describeCase(c: GradCase): string {
  const inputs = c.inputs.map((t, i) => `  %${c.func.params[i]!.name} = [${Array.from(t.data).join(", ")}]`).join("\n");
  return `\n${printFunc(c.func)}inputs:\n${inputs}\nseed: ${c.seed}\n`;
}

function close(actual: number, expected: number): boolean {
  if (Number.isNaN(actual) || Number.isNaN(expected)) return false;
  return Math.abs(actual - expected) <= ATOL + RTOL * Math.max(Math.abs(actual), Math.abs(expected));
}

/** Throws (with the func and inputs) at the first element where `actual` is not close. */
export function expectClose(c: GradCase, what: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} values against ${expected.length}\n${describeCase(c)}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (!close(actual[i]!, expected[i]!)) {
      throw new Error(
        `${what}[${i}]: autodiff gives ${actual[i]}, finite differences ${expected[i]}\n` +
          `actual:   [${Array.from(actual).join(", ")}]\nexpected: [${Array.from(expected).join(", ")}]\n${describeCase(c)}`,
      );
    }
  }
}

/** Each input with `dir` times `h` added to its floats (the others unchanged). */
function shifted(inputs: readonly Tensor[], dir: readonly Tensor[], h: number): Tensor[] {
  return inputs.map((t, i) => {
    if (!isFloat(t.type.dtype)) return t;
    return exact(
      t.type,
      t.data.map((v, j) => v + h * dir[i]!.data[j]!),
    );
  });
}

/** `<a, b>` over all results (floats only). */
function dot(a: readonly Tensor[], b: readonly Tensor[]): number {
  let s = 0;
  a.forEach((t, r) => {
    if (!isFloat(t.type.dtype)) return;
    for (let j = 0; j < t.data.length; j++) s += t.data[j]! * b[r]!.data[j]!;
  });
  return s;
}

const floatParams = (f: Func): number[] =>
  f.params.flatMap((p, i) => (isFloat(p.type.dtype) ? [i] : []));

/** The primal results of an autodiff func must be the func's own. */
function expectSamePrimal(c: GradCase, out: readonly Tensor[]): void {
  run(c.func, c.inputs).forEach((t, r) => expectClose(c, `primal result ${r}`, out[r]!.data, t.data));
}

/**
 * The VJP of every float param against central differences of the loss `sum_r <result_r, w_r>`,
 * one element at a time, for random weights w.
 */
export function checkVjp(c: GradCase): void {
  const rng = mulberry32(c.seed);
  const weights = c.func.results.map((r) => randomLike(rng, r.type));
  const wrt = floatParams(c.func);
  const out = run(vjp(c.func, wrt), [...c.inputs, ...weights]);
  expectSamePrimal(c, out);
  const loss = (inputs: readonly Tensor[]) => dot(run(c.func, inputs), weights);
  wrt.forEach((p, k) => {
    const grad = out[c.func.results.length + k]!;
    const x = c.inputs[p]!;
    const fd = Array.from(x.data, (_, j) => {
      const unit = c.inputs.map((t, i) => exact(t.type, t.data.map((_, jj) => (i === p && jj === j ? 1 : 0))));
      return (loss(shifted(c.inputs, unit, EPS)) - loss(shifted(c.inputs, unit, -EPS))) / (2 * EPS);
    });
    expectClose(c, `gradient of %${c.func.params[p]!.name}`, grad.data, fd);
  });
}

/** The JVP along a random direction against central differences of each result. */
export function checkJvp(c: GradCase): void {
  const rng = mulberry32(c.seed ^ 0x5bd1e995);
  const dir = c.func.params.map((p) => randomLike(rng, p.type));
  const out = run(jvp(c.func), [...c.inputs, ...dir]);
  expectSamePrimal(c, out);
  const plus = run(c.func, shifted(c.inputs, dir, EPS));
  const minus = run(c.func, shifted(c.inputs, dir, -EPS));
  c.func.results.forEach((r, k) => {
    const tangent = out[c.func.results.length + k]!;
    const fd = isFloat(r.type.dtype)
      ? plus[k]!.data.map((v, j) => (v - minus[k]!.data[j]!) / (2 * EPS))
      : new Float64Array(tangent.data.length);
    expectClose(c, `tangent of result ${k}`, tangent.data, fd);
  });
}

export function checkBoth(c: GradCase): void {
  checkVjp(c);
  checkJvp(c);
}
