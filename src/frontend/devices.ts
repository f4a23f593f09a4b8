// Device selection as users call it (errors name the call's line).
import * as runtime from "../../runtime/devices.js";
import { publicOp } from "./context.js";

/** The devices that work here, fastest first. */
export const devices = (): string[] => runtime.devices();

/** The device new computations run on. */
export const defaultDevice = (): string => publicOp("defaultDevice", () => runtime.defaultDevice());

/** Makes `name` the default device; a DeviceError when it does not work here. */
export function setDefaultDevice(name: string): void {
  publicOp("setDefaultDevice", () => runtime.setDefaultDevice(name));
}
