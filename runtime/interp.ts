// The interp device: the reference interpreter over graph IR. Slow and exact; always present.
import { fromHost, interpret, toHost } from "../src/ir/interp.js";
import { size } from "../src/ir/shape.js";
import { bufferOver, type Device, upload } from "./device.js";
import { heapStorage } from "./memory.js";

export const interpDevice: Device = {
  name: "interp",
  alloc: (type) => bufferOver("interp", type, heapStorage(type.dtype, size(type.shape))),
  prepare(func) {
    return {
      run: (inputs) =>
        interpret(
          func,
          inputs.map((b) => fromHost(b.type.dtype, b.type.shape, b.data)),
          { mode: "dtype" },
        ).map((t) => upload(interpDevice, t.type, toHost(t))),
      dispose: () => {},
    };
  },
  clearCache: () => {},
};
