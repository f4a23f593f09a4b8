// `smelt devices`: each device smelt knows, whether the runtime offers it here, and if not, why.
import { findCompiler } from "../../runtime/compiler.js";
import { deviceReport } from "../../runtime/devices.js";
import { parseCommandLine } from "./args.js";
import { DEVICES_HELP } from "./help.js";

interface DeviceStatus {
  readonly name: string;
  readonly works: boolean;
  readonly why: string;
}

const WORKING: Readonly<Record<string, () => string>> = {
  metal: () => "Apple GPU through the Metal addon",
  host: () => `MSL compiled as C++ with ${findCompiler()?.version ?? "clang"}, run on a thread pool`,
  interp: () => "the reference interpreter: slow, exact, always available",
};

export function deviceStatuses(): DeviceStatus[] {
  return deviceReport().map((d) => ({
    name: d.name,
    works: d.problem === undefined,
    why: d.problem ?? WORKING[d.name]?.() ?? "",
  }));
}

export function devicesCommand(argv: readonly string[]): number {
  const { values } = parseCommandLine({ args: [...argv], options: { help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(DEVICES_HELP);
    return 0;
  }
  const statuses = deviceStatuses();
  const width = Math.max(...statuses.map((s) => s.name.length));
  const defaultName = statuses.find((s) => s.works)?.name;
  for (const s of statuses) {
    const mark = s.works ? (s.name === defaultName ? "works (default)" : "works") : "no";
    process.stdout.write(`${s.name.padEnd(width)}  ${mark.padEnd(15)}  ${s.why}\n`);
  }
  return 0;
}
