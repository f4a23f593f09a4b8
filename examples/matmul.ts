// A big matmul, timed, with one row checked against a plain loop.
// Run: smelt run examples/matmul.ts -- [--size N] (default: by device, small on the slow interp one)
import { parseArgs } from "node:util";
import * as sm from "../src/index.js";

const DEFAULT_SIZE: Record<string, number> = { metal: 4096, host: 1024, interp: 96 };
const { values } = parseArgs({ options: { size: { type: "string" } } });
const n = Number(values.size ?? DEFAULT_SIZE[sm.defaultDevice()] ?? 1024);

const [ka, kb] = sm.random.split(sm.random.key(0));
const a = sm.random.normal([n, n], { key: ka! });
const b = sm.random.normal([n, n], { key: kb! });
sm.eval(a, b);

const matmul = sm.compile((a: sm.Array, b: sm.Array) => sm.matmul(a, b));
sm.eval(matmul(a, b)); // the first call traces and compiles
const runs = 3;
const start = performance.now();
let c = matmul(a, b);
sm.eval(c);
for (let r = 1; r < runs; r++) {
  c.dispose();
  c = matmul(a, b);
  sm.eval(c);
}
const seconds = (performance.now() - start) / 1000 / runs;
const gflops = (2 * n ** 3) / seconds / 1e9;
console.log(`${n}x${n} @ ${n}x${n} on ${sm.defaultDevice()}: ${(seconds * 1000).toFixed(1)} ms, ${gflops.toFixed(2)} GFLOP/s`);

// Row 0 of the product, summed in float64 from the inputs' values.
const [av, bv, cv] = [a.dataSync(), b.dataSync(), c.dataSync()];
let worst = 0;
for (let j = 0; j < n; j++) {
  let dot = 0;
  for (let k = 0; k < n; k++) dot += av[k]! * bv[k * n + j]!;
  worst = Math.max(worst, Math.abs(dot - cv[j]!) / Math.sqrt(n));
}
console.log(`row 0 matches a float64 loop: ${worst < 1e-4} (largest error / sqrt(n) ${worst.toExponential(1)})`);
