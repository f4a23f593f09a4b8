// Every example as users run it: `smelt run examples/<file>` in a child process, with options
// that keep the slow ones short, checked against values worked out by hand.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Outcome, smelt } from "../support/cli.js";

const run = (example: string, ...args: string[]): Promise<Outcome> =>
  smelt("run", path.join("examples", example), "--", ...args);

/** Expects a clean exit and returns the output. */
async function output(example: string, ...args: string[]): Promise<string> {
  const r = await run(example, ...args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** A three-node graph in Cora's text format, for the `--data` option. */
const tinyCora = fs.mkdtempSync(path.join(os.tmpdir(), "smelt-tiny-cora-"));
fs.writeFileSync(path.join(tinyCora, "features.txt"), "0 2\n1\n1 2\n");
fs.writeFileSync(path.join(tinyCora, "labels.txt"), "0\n1\n1\n");
fs.writeFileSync(path.join(tinyCora, "edges.txt"), "0 1\n1 2\n");
fs.writeFileSync(path.join(tinyCora, "split.json"), JSON.stringify({ train: [0, 1], val: [2], test: [2] }));
afterAll(() => fs.rmSync(tinyCora, { recursive: true }));

describe.concurrent("examples", () => {
  it("hello.ts: softmax(2 (x @ w) + 1)", { timeout: 60_000 }, async () => {
    // x @ w = [[1, 3], [2.5, 5]], so the rows are softmax([3, 7]) and softmax([6, 11]).
    const out = await output("hello.ts");
    const want = [1 / (1 + Math.exp(4)), 1 / (1 + Math.exp(5))];
    const printed = [...out.matchAll(/\d\.\d+(e-\d+)?/g)].map((m) => Number(m[0]));
    expect(printed).toHaveLength(4);
    expect(printed[0]).toBeCloseTo(want[0]!, 6);
    expect(printed[1]).toBeCloseTo(1 - want[0]!, 6);
    expect(printed[2]).toBeCloseTo(want[1]!, 6);
    expect(printed[3]).toBeCloseTo(1 - want[1]!, 6);
  });

  it("arrays.ts: TypedArrays in and out, a view wrapped again", { timeout: 60_000 }, async () => {
    const out = await output("arrays.ts");
    // 2 i/1024 - 1 for i = 0 and 1023; the 1024 values sum to 2 (1023 * 1024 / 2) / 1024 - 1024.
    expect(out).toContain("Float32Array of 1024: first -1, last 0.998046875");
    expect(out).toContain("same memory: true, sum -1");
    expect(out).toContain("int32 argmax 5, bool Uint8Array [0, 0, 1, 0, 1, 1, 0, 1]");
  });

  it("compile.ts: x * 2 + 1, traced once per signature, one kernel", { timeout: 60_000 }, async () => {
    const out = await output("compile.ts");
    expect(out).toContain("[ 3, 5, 7 ]");
    expect(out).toContain("[ 21, 41, 61 ]");
    expect(out).toContain("[ [ 2 ], [ 4 ] ]");
    expect(out).toContain("traced 2 times");
    // One kernel reads the 3 int32 inputs (12 bytes) and writes the 3 results (12 bytes).
    expect(out).toContain("1 kernel, 24 bytes moved");
  });

  it("streaming.ts: running statistics of batches from a generator", { timeout: 60_000 }, async () => {
    // The readings cycle through 0..6: mean 3, mean square 13, variance 13 - 9 = 4.
    expect(await output("streaming.ts")).toContain("70000 readings in 1 trace: mean 3, std 2");
  });

  it("memory.ts: stats follow an array's life, clearCache empties the cache", { timeout: 60_000 }, async () => {
    const out = await output("memory.ts");
    expect(out).toMatch(/one 1024x1024 array: active \+4\.00 MiB/);
    // 1024 * 1024 elements of 1 * 2 + 1; the result is a 4-byte scalar.
    expect(out).toMatch(/after tidy \(total 3145728\): active \+4\.00 MiB/);
    expect(out).toMatch(/after dispose: active \+0\.00 MiB/);
    expect(out).toMatch(/after clearCache: active \+0\.00 MiB, peak [\d.]+ MiB, cache 0\.00 MiB/);
  });

  it("matmul.ts: the product's first row matches a float64 loop", { timeout: 120_000 }, async () => {
    const out = await output("matmul.ts", "--size", "64");
    expect(out).toMatch(/64x64 @ 64x64 on \w+: [\d.]+ ms, [\d.]+ GFLOP\/s/);
    expect(out).toContain("row 0 matches a float64 loop: true");
  });

  it("mlp.ts: the loss is printed per epoch and falls", { timeout: 180_000 }, async () => {
    const out = await output("mlp.ts", "--epochs", "2", "--samples", "300");
    const losses = [...out.matchAll(/^epoch (\d): loss ([\d.]+), accuracy [\d.]+$/gm)].map((m) => Number(m[2]));
    expect(losses).toHaveLength(2);
    expect(losses[1]!).toBeLessThan(losses[0]!);
  });

  for (const example of ["gcn.ts", "gcn-message-passing.ts"]) {
    it(`${example}: trains on a generated graph, or on --data`, { timeout: 180_000 }, async () => {
      const generated = await output(example, "--nodes", "200", "--epochs", "2");
      expect(generated).toContain("on a generated graph of 200 nodes");
      expect(generated).toMatch(/^epoch 2: loss [\d.]+, val accuracy [\d.]+$/m);
      expect(generated).toMatch(/^test accuracy [\d.]+, mean epoch [\d.]+ ms on \w+$/m);
      const given = await output(example, "--data", tinyCora, "--epochs", "1");
      expect(given).toContain(`on ${tinyCora}`);
      expect(given).toMatch(/^test accuracy (0|1)\.000/m);
    });
  }

  it("demo.ts: both models, accuracy, epoch time, kernels per step and the device", { timeout: 300_000 }, async () => {
    const out = await output("demo.ts", "--data", tinyCora, "--epochs", "2");
    expect(out).toMatch(/^smelt demo on the \w+ device/);
    expect(out).toMatch(/held-out accuracy [\d.]+, mean epoch [\d.]+ ms, \d+ kernels per step/);
    const gcnLines = out.split("\n").filter((l) => l.includes("test accuracy"));
    expect(gcnLines).toHaveLength(2);
    for (const line of gcnLines) expect(line).toMatch(/mean epoch [\d.]+ ms, \d+ kernels per step, on \w+$/);
  });

  it("a bad option fails with its name", { timeout: 60_000 }, async () => {
    const r = await run("gcn.ts", "--epochs", "zero");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--epochs must be a positive integer, got "zero"');
  });
});
