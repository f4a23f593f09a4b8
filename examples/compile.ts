// A compiled function: smelt traces `x * 2 + 1` once per input shape and dtype, fuses it into one
// kernel and reuses it on later calls. Try: smelt run examples/compile.ts --dump-ir=traced,fused
import * as sm from "../src/index.js";

const affine = sm.compile(function affine(x: sm.Array) {
  return x.mul(2).add(1);
});

console.log(affine(sm.array([1, 2, 3])).tolist()); // traced for int32[3]
console.log(affine(sm.array([10, 20, 30])).tolist()); // same signature: reused
console.log(affine(sm.array([[0.5], [1.5]])).tolist()); // float32[2,1]: traced again
console.log(`traced ${affine.traceCount} times`);

// What it became: the IR after fusion, and the cost model's numbers.
const lowered = affine.lower(sm.array([1, 2, 3]));
console.log(lowered.ir("fused"));
const { kernels, bytesMoved } = lowered.stats;
console.log(`${kernels} kernel, ${bytesMoved} bytes moved`);
