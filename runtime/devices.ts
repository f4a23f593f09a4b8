// Which devices work here and which one runs arrays by default (`SMELT_DEVICE` overrides it).
import { emitProgram } from "../src/codegen-msl/index.js";
import { DeviceError } from "../src/ir/errors.js";
import type { PlannedProgram } from "../src/passes/plan.js";
import type { Device } from "./device.js";
import { emitOptionsFor, HostDevice, hostDevice, hostProblem } from "./host.js";
import { interpDevice } from "./interp.js";
import { metalDevice, metalProblem } from "./metal.js";

interface Candidate {
  readonly name: string;
  /** The device, or why it does not work here. */
  readonly get: () => Device | string;
}

/** Fastest first: the default is the first that works. */
const candidates: readonly Candidate[] = [
  { name: "metal", get: () => metalDevice() ?? metalProblem() ?? "unavailable" },
  { name: "host", get: () => hostDevice() ?? hostProblem() ?? "unavailable" },
  { name: "interp", get: () => interpDevice },
];

let chosen: Device | undefined;

/** Each device smelt knows, with the reason it does not work here (undefined when it does). */
export function deviceReport(): { readonly name: string; readonly problem: string | undefined }[] {
  return candidates.map((c) => {
    const d = c.get();
    return { name: c.name, problem: typeof d === "string" ? d : undefined };
  });
}

export function devices(): string[] {
  return deviceReport()
    .filter((d) => d.problem === undefined)
    .map((d) => d.name);
}

function find(name: string, source: string): Device {
  const c = candidates.find((x) => x.name === name);
  const d = c?.get();
  if (d === undefined || typeof d === "string") {
    // No op here: the public function the user called names the error.
    const why = typeof d === "string" ? `: ${d}` : "";
    throw new DeviceError(`device "${name}" (${source}) is not available here${why}; available: ${devices().join(", ")}`);
  }
  return d;
}

export function setDefaultDevice(name: string): void {
  chosen = find(name, "requested");
}

export function defaultDevice(): string {
  return currentDevice().name;
}

export function currentDevice(): Device {
  if (chosen) return chosen;
  const env = process.env["SMELT_DEVICE"];
  chosen = env ? find(env, "from SMELT_DEVICE") : find(devices()[0]!, "the default");
  return chosen;
}

/** The MSL the current device runs for `program` (the kernels Metal runs, on a device that runs none). */
export function mslOf(program: PlannedProgram): string {
  const d = currentDevice();
  return d instanceof HostDevice ? d.emit(program).source : emitProgram(program, emitOptionsFor("metal")).source;
}

/** Frees what every device that has been used keeps for reuse. */
export function clearCaches(): void {
  for (const c of candidates) {
    const d = c.get();
    if (typeof d !== "string") d.clearCache();
  }
}
