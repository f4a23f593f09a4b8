import { test } from "vitest";
import fc from "fast-check";
import { interpret, verify, DTYPES, OP_NAMES } from "../../src/ir/index.js";
import { randomFunc } from "../support/randomFunc.js";
test("s", () => {
  const t0 = Date.now();
  const optsList = [{}, { maxOps: 20 }, ...DTYPES.map((d) => ({ dtypes: [d] })), ...OP_NAMES.map((o) => ({ ops: [o] })), { dtypes: [] }, { ops: [] }];
  let nonfinite = 0, total = 0;
  for (const opts of optsList) {
    for (const { func, inputs } of fc.sample(randomFunc(opts), { numRuns: 300, seed: 11 })) {
      verify(func);
      for (const r of interpret(func, inputs)) { total++; if (!r.data.every(Number.isFinite)) nonfinite++; }
      interpret(func, inputs, { mode: "float64" });
    }
  }
  console.log(Date.now() - t0, nonfinite, total);
});
