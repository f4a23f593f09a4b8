// Arrays from TypedArrays and back. On unified memory `data()` is a view of the device buffer,
// and `sm.array` of such a view wraps that same memory: no copies either way.
// Run: smelt run examples/arrays.ts
import * as sm from "../src/index.js";

const pixels = Float32Array.from({ length: 1024 }, (_, i) => i / 1024);
const image = sm.array(pixels, { shape: [32, 32] }); // float32[32,32], from the TypedArray's type
const centered = image.mul(2).sub(1); // lazy: nothing is computed yet

const view = await centered.data(); // computes, then views the result's memory
console.log(`${view.constructor.name} of ${view.length}: first ${view[0]}, last ${view[1023]}`);

const again = sm.array(view, { shape: [32, 32] }); // wraps the view: the same memory
const shared = (await again.data()).buffer === view.buffer;
console.log(`same memory: ${shared}, sum ${sm.sum(again).item()}`);

// Integer and boolean data come back as Int32Array and Uint8Array.
const counts = sm.array(new Int32Array([3, 1, 4, 1, 5, 9, 2, 6]));
const big = counts.greater(3);
const bits = await big.data();
console.log(`${counts.dtype} argmax ${sm.argmax(counts).item()}, ${big.dtype} ${bits.constructor.name} [${bits.join(", ")}]`);
