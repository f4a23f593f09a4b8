import { test } from "vitest";
import * as sm from "../../src/index.js";
import { userLoc } from "../../src/frontend/location.js";
test("perf", () => {
  let t = performance.now();
  for (let i = 0; i < 2000; i++) userLoc();
  console.log("userLoc us", (performance.now() - t) / 2000 * 1000, userLoc());
  t = performance.now();
  let x = sm.array(0);
  for (let i = 0; i < 2000; i++) x = x.add(1);
  console.log("build us", (performance.now() - t) / 2000 * 1000);
  t = performance.now();
  x.item();
  console.log("eval us", (performance.now() - t) / 2000 * 1000);
});
