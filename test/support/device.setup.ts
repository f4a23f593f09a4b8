// The suite's default device: the interpreter (the oracle), unless SMELT_DEVICE names another,
// so that tests of the frontend's semantics don't each build a kernel library. The host device
// is tested where it is the subject (test/runtime, test/codegen-msl, test/examples), and
// `SMELT_DEVICE=host npm test` runs everything on it.
import { setDefaultDevice } from "../../src/index.js";

if (!process.env["SMELT_DEVICE"]) setDefaultDevice("interp");
