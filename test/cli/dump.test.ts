import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { annotateExprs } from "../../src/frontend/annotate.js";

const sample = JSON.stringify(fileURLToPath(new URL("../fixtures/source-text-sample.ts", import.meta.url)));

describe("annotateExprs", () => {
  it("appends the source expression to each loc that has no comment", async () => {
    const text = [
      "func @f(%x: f32[3]) -> (f32[3]) {",
      `  %0 = exp %x : f32[3]  loc(${sample}:20:16)`,
      `  %1 = neg %0 : f32[3]  loc(${sample}:20:22)  // kept as it is`,
      "  %2 = abs %1 : f32[3]",
      `  %3 = add %2, %2 : f32[3]  loc(${sample}:21:13)`,
      '  %4 = sub %3, %3 : f32[3]  loc("no/such/file.ts":1:1)',
      "  return %4",
      "}",
      "",
    ].join("\n");
    const want = [
      "func @f(%x: f32[3]) -> (f32[3]) {",
      `  %0 = exp %x : f32[3]  loc(${sample}:20:16)  // sm.exp(x.matmul(w))`,
      `  %1 = neg %0 : f32[3]  loc(${sample}:20:22)  // kept as it is`,
      "  %2 = abs %1 : f32[3]",
      // The call spans four lines of the fixture: one line here.
      `  %3 = add %2, %2 : f32[3]  loc(${sample}:21:13)  // relu( x .matmul(w) .add(1), )`,
      '  %4 = sub %3, %3 : f32[3]  loc("no/such/file.ts":1:1)',
      "  return %4",
      "}",
      "",
    ].join("\n");
    expect(await annotateExprs(text)).toBe(want);
  });
});
