import { describe, expect, test } from "vitest";
import { type Func, VerifyError } from "../../src/ir/index.js";
import { parseFunc } from "../../src/ir/parse.js";
import { printFunc } from "../../src/ir/print.js";
import { type Pass, runPasses } from "../../src/passes/manager.js";
import { cse, dce, simplifyPass } from "../../src/passes/simplify.js";

const INPUT = `func @f(%x: f32[2]) -> (f32[2]) {
  %a = exp %x : f32[2]
  %b = exp %x : f32[2]
  %c = neg %x : f32[2]
  %d = add %a, %b : f32[2]
  return %d
}`;

const text = (s: string): string => printFunc(parseFunc(s));

/** Drops the first op, so the op after it reads a value nobody defines. */
const breakFirstOp: Pass = { name: "broken", run: (f: Func) => ({ ...f, body: f.body.slice(1) }) };

describe("runPasses", () => {
  test("runs the passes in order and calls the hook after each with its output", () => {
    const seen: [string, string][] = [];
    const passes: Pass[] = [
      { name: "cse", run: cse },
      { name: "dce", run: dce },
    ];
    const out = runPasses(parseFunc(INPUT), passes, { after: (name, f) => seen.push([name, printFunc(f)]) });
    const afterCse = text(`func @f(%x: f32[2]) -> (f32[2]) {
      %0 = exp %x : f32[2]
      %1 = neg %x : f32[2]
      %2 = add %0, %0 : f32[2]
      return %2
    }`);
    const afterDce = text(`func @f(%x: f32[2]) -> (f32[2]) {
      %0 = exp %x : f32[2]
      %1 = add %0, %0 : f32[2]
      return %1
    }`);
    expect(seen).toEqual([
      ["cse", afterCse],
      ["dce", afterDce],
    ]);
    expect(printFunc(out)).toBe(afterDce);
  });

  test("with no passes the input comes back and the hook is not called", () => {
    const f = parseFunc(INPUT);
    let calls = 0;
    expect(runPasses(f, [], { after: () => calls++ })).toBe(f);
    expect(calls).toBe(0);
  });

  test("verifyEach names the pass whose output breaks the IR", () => {
    const f = parseFunc(INPUT);
    const run = () => runPasses(f, [simplifyPass, breakFirstOp], { verifyEach: true });
    expect(run).toThrow(VerifyError);
    expect(run).toThrow(/after pass broken: operand 0 of op #0 is used before it is defined/);
  });

  test("verifyEach checks the input before any pass", () => {
    const broken = breakFirstOp.run(parseFunc(INPUT));
    expect(() => runPasses(broken, [simplifyPass], { verifyEach: true })).toThrow(/before any pass/);
  });

  test("without verifyEach a broken output is passed on unchecked", () => {
    const out = runPasses(parseFunc(INPUT), [breakFirstOp]);
    expect(out.body.map((op) => op.op)).toEqual(["exp", "neg", "add"]);
  });
});
