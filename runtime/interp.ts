// The interp device: the reference interpreter over graph IR. Slow and exact; always present.
import { interpret } from "../src/ir/interp.js";
import type { Device } from "./device.js";

export const interpDevice: Device = {
  name: "interp",
  run: (func, inputs) => interpret(func, inputs, { mode: "dtype" }),
};
