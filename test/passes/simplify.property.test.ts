// simplify keeps every func's value bit for bit (NaN equal to NaN, -0 apart from +0), its
// signature and its validity, and simplifying twice changes nothing more than simplifying once.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type Func, interpret, type Tensor, typeStr, verify } from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import { simplify } from "../../src/passes/simplify.js";
import { randomFunc } from "../support/randomFunc.js";
import { decorate } from "./decorate.js";
import { firstDifference } from "../support/compare.js";


function checkSimplify(func: Func, inputs: readonly Tensor[]): void {
  const out = simplify(func);
  verify(out);
  expect(out.params).toEqual(func.params);
  expect(out.results.map((r) => typeStr(r.type))).toEqual(func.results.map((r) => typeStr(r.type)));
  const diff = firstDifference(interpret(out, inputs), interpret(func, inputs));
  if (diff !== undefined) {
    throw new Error(`simplify changed a value: ${diff}\nbefore:\n${printFunc(func)}after:\n${printFunc(out)}`);
  }
  expect(printFunc(simplify(out))).toBe(printFunc(out));
}

const tape = fc.array(fc.nat(), { minLength: 1, maxLength: 64 });

describe("simplify on random funcs", () => {
  test("keeps the value, the signature and validity, and is idempotent", () => {
    fc.assert(
      fc.property(randomFunc({ maxOps: 10 }), ({ func, inputs }) => checkSimplify(func, inputs)),
      { numRuns: 300 },
    );
  });

  test("the same with identities, foldable constants and duplicates woven in", () => {
    fc.assert(
      fc.property(randomFunc({ maxOps: 8 }), tape, ({ func, inputs }, t) => checkSimplify(decorate(func, t), inputs)),
      { numRuns: 300 },
    );
  });

  test("the same over integer dtypes only, where more identities apply", () => {
    fc.assert(
      fc.property(randomFunc({ maxOps: 8, dtypes: ["int32", "uint32", "bool"] }), tape, ({ func, inputs }, t) =>
        checkSimplify(decorate(func, t), inputs),
      ),
      { numRuns: 200 },
    );
  });
});
