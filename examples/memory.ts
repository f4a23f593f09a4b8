// Device memory: what live arrays hold, what the device keeps for reuse, and giving it back.
// Run: smelt run examples/memory.ts
import * as sm from "../src/index.js";

const MiB = 1024 * 1024;
const start = sm.memory.stats().activeBytes;
const report = (when: string): void => {
  const { activeBytes, peakBytes, cacheBytes } = sm.memory.stats();
  const mib = (b: number): string => `${(b / MiB).toFixed(2)} MiB`;
  console.log(`${when}: active +${mib(activeBytes - start)}, peak ${mib(peakBytes)}, cache ${mib(cacheBytes)}`);
};

const a = sm.ones([1024, 1024]); // 4 MiB of float32, once computed
sm.eval(a);
report("one 1024x1024 array");

// tidy frees what the function made and did not return: here every array but the total.
const total = sm.tidy(() => sm.sum(a.mul(2).add(1)));
report(`after tidy (total ${total.item()})`);

a.dispose();
total.dispose();
report("after dispose");

sm.memory.clearCache();
report("after clearCache");
