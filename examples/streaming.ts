// Streaming: batches come from a generator (as from a file or a socket) and a compiled step
// folds each into running statistics, so only one batch is in memory at a time.
// Run: smelt run examples/streaming.ts
import * as sm from "../src/index.js";

/** `count` batches of `size` readings, read lazily: reading i is `i mod 7`. */
function* readings(count: number, size: number): Generator<Float32Array> {
  for (let b = 0; b < count; b++) yield Float32Array.from({ length: size }, (_, k) => (b * size + k) % 7);
}

type Stats = { count: sm.Array; sum: sm.Array; sumSquares: sm.Array };

const fold = sm.compile((s: Stats, batch: sm.Array): Stats => ({
  count: s.count.add(batch.size),
  sum: s.sum.add(sm.sum(batch)),
  sumSquares: s.sumSquares.add(sm.sum(batch.square())),
}));

let stats: Stats = { count: sm.zeros([]), sum: sm.zeros([]), sumSquares: sm.zeros([]) };
for (const chunk of readings(10, 7000)) {
  const next = fold(stats, sm.array(chunk));
  for (const old of Object.values(stats)) old.dispose(); // the previous totals are not needed any more
  stats = next;
}
const n = stats.count.item();
const mean = stats.sum.item() / n;
const variance = stats.sumSquares.item() / n - mean * mean;
console.log(`${n} readings in ${fold.traceCount} trace: mean ${mean}, std ${Math.sqrt(variance)}`);
