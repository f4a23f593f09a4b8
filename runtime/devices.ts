// Which devices work here and which one runs arrays by default (`SMELT_DEVICE` overrides it).
import { DeviceError } from "../src/ir/errors.js";
import type { Device } from "./device.js";
import { interpDevice } from "./interp.js";

/** Fastest first: the default is the first that works. */
const available: readonly Device[] = [interpDevice];

let chosen: Device | undefined;

export function devices(): string[] {
  return available.map((d) => d.name);
}

function find(name: string, source: string): Device {
  const d = available.find((x) => x.name === name);
  if (!d) {
    // No op here: the public function the user called names the error.
    throw new DeviceError(`device "${name}" (${source}) is not available here; available: ${devices().join(", ")}`);
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
  chosen = env ? find(env, "from SMELT_DEVICE") : available[0]!;
  return chosen;
}
