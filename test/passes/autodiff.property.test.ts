// Forward and reverse mode compute the same linear map: <J v, u> = <v, Jᵀ u> for random funcs,
// random tangents v and random cotangents u, in the float64 interpreter.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type DType, type Func, isFloat, type OpName, type Tensor, verify } from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import { jvp, vjp } from "../../src/passes/autodiff.js";
import { mulberry32, randomLike, run } from "../support/gradcheck.js";
import { randomFunc } from "../support/randomFunc.js";

/** `sum_r <a_r, b_r>` over the float tensors of a and b, and the sum of the terms' magnitudes. */
function pairing(a: readonly Tensor[], b: readonly Tensor[]): { value: number; scale: number } {
  let value = 0;
  let scale = 0;
  a.forEach((t, r) => {
    if (!isFloat(t.type.dtype)) return;
    for (let j = 0; j < t.data.length; j++) {
      const p = t.data[j]! * b[r]!.data[j]!;
      value += p;
      scale += Math.abs(p);
    }
  });
  return { value, scale };
}

interface Tally {
  checked: number;
  skipped: number;
}

/**
 * Checks the identity on one func; returns false (skipped) when either side is not finite: the
 * random inputs reach log(-1), 1/0 and the like, where the two modes may disagree on NaN.
 */
function adjointHolds(func: Func, inputs: readonly Tensor[], seed: number): boolean {
  const rng = mulberry32(seed);
  const v = func.params.map((p) => randomLike(rng, p.type));
  const u = func.results.map((r) => randomLike(rng, r.type));
  const floatParams = func.params.flatMap((p, i) => (isFloat(p.type.dtype) ? [i] : []));
  const forward = jvp(func);
  const reverse = vjp(func, floatParams);
  verify(forward);
  verify(reverse);
  const jv = run(forward, [...inputs, ...v]).slice(func.results.length);
  const jtu = run(reverse, [...inputs, ...u]).slice(func.results.length);
  const lhs = pairing(jv, u);
  const rhs = pairing(
    floatParams.map((i) => v[i]!),
    jtu,
  );
  if (![lhs.value, rhs.value, lhs.scale, rhs.scale].every(Number.isFinite)) return false;
  const tol = 1e-9 * Math.max(1, lhs.scale, rhs.scale);
  if (Math.abs(lhs.value - rhs.value) > tol) {
    throw new Error(
      `<J v, u> = ${lhs.value} but <v, Jᵀ u> = ${rhs.value}\n${printFunc(func)}` +
        `jvp:\n${printFunc(forward)}vjp:\n${printFunc(reverse)}`,
    );
  }
  return true;
}

function runAdjoint(arb: ReturnType<typeof randomFunc>, numRuns: number): Tally {
  const tally: Tally = { checked: 0, skipped: 0 };
  fc.assert(
    fc.property(arb, fc.integer(), ({ func, inputs }, seed) => {
      if (adjointHolds(func, inputs, seed)) tally.checked++;
      else tally.skipped++;
    }),
    { numRuns },
  );
  return tally;
}

// What randomFunc can build with float32 values only (plus the glue it inserts).
const FLOAT_OPS: OpName[] = [
  "neg",
  "exp",
  "log",
  "log1p",
  "expm1",
  "sin",
  "cos",
  "tanh",
  "logistic",
  "sqrt",
  "rsqrt",
  "erf",
  "abs",
  "sign",
  "floor",
  "round",
  "stop_gradient",
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "max",
  "min",
  "convert",
  "reduce_sum",
  "reduce_max",
  "reduce_min",
  "reduce_prod",
  "matmul",
  "reshape",
  "transpose",
  "broadcast",
  "slice",
  "pad",
  "concatenate",
  "flip",
  "constant",
];

describe("forward and reverse mode agree: <J v, u> = <v, Jᵀ u>", () => {
  test("on random float32 funcs of differentiable ops", () => {
    const tally = runAdjoint(randomFunc({ dtypes: ["float32"], ops: FLOAT_OPS, minOps: 2, maxOps: 10 }), 300);
    // Most cases must be finite, or the property would say little.
    expect(tally.checked).toBeGreaterThan(tally.skipped);
  });

  test("on random funcs over every op and dtype (integer paths and nondiff ops carry nothing)", () => {
    const dtypes: DType[] = ["float32", "float16", "int32", "uint32", "bool"];
    const tally = runAdjoint(randomFunc({ dtypes, minOps: 2, maxOps: 10 }), 300);
    expect(tally.checked).toBeGreaterThan(tally.skipped);
  });
});
