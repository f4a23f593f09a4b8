// Fusion preserves meaning: on random well-typed funcs, the kernels it emits compute what the
// graph computes, under every strategy.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { interpret, interpretProgram, printProgram, type Tensor } from "../../src/ir/index.js";
import { printFunc } from "../../src/ir/print.js";
import { fuse, type FusionStrategy } from "../../src/passes/fuse.js";
import { randomFunc } from "../support/randomFunc.js";

const sameBits = (a: Tensor, b: Tensor): boolean =>
  a.data.length === b.data.length && a.data.every((x, i) => Object.is(x, b.data[i]) || (x === 0 && b.data[i] === 0));

describe("fuse preserves the func's values", () => {
  for (const strategy of ["full", "elementwise", "none"] as FusionStrategy[]) {
    it(`strategy ${strategy}`, () => {
      fc.assert(
        fc.property(randomFunc({ maxOps: 10 }), ({ func, inputs }) => {
          const want = interpret(func, inputs);
          const program = fuse(func, { strategy });
          const got = interpretProgram(program, inputs);
          want.forEach((w, i) => {
            if (!sameBits(w, got[i]!)) {
              throw new Error(
                `result ${i} differs\n${printFunc(func)}\n${printProgram(program)}\nwant ${Array.from(w.data)}\ngot  ${Array.from(got[i]!.data)}`,
              );
            }
          });
        }),
        { numRuns: 300 },
      );
    });
  }

  // Not a law for empty arrays: a kernel whose only reader loops over nothing may or may not
  // survive dead-store elimination depending on what was fused into that reader.
  it("full never launches more kernels than elementwise, nor elementwise more than none", () => {
    fc.assert(
      fc.property(randomFunc({ maxOps: 10 }), ({ func }) => {
        const values = [...func.params, ...func.body.map((o) => o.result)];
        fc.pre(values.every((v) => v.type.shape.every((d) => d > 0)));
        const k = (s: FusionStrategy) => fuse(func, { strategy: s }).kernels.length;
        expect(k("full")).toBeLessThanOrEqual(k("elementwise"));
        expect(k("elementwise")).toBeLessThanOrEqual(k("none"));
      }),
      { numRuns: 200 },
    );
  });
});
