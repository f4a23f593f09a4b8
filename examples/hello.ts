// A compiled function: smelt traces it once, fuses it and runs it.
// Try: smelt run examples/hello.ts --dump-ir
import * as sm from "../src/index.js";

const scale = sm.compile((x: sm.Array, w: sm.Array) => {
  const y = x.matmul(w);
  return sm.softmax(y.mul(2).add(1));
});

const x = sm.array([
  [1, 2],
  [3, 4],
]);
const w = sm.array([
  [0.5, -1],
  [0.25, 2],
]);
console.log(scale(x, w).tolist());
