// `smelt devices`: each device smelt knows, whether the runtime offers it here, and if not, why.
import fs from "node:fs";
import path from "node:path";
import { devices as workingDevices } from "../../runtime/devices.js";
import { parseCommandLine } from "./args.js";
import { DEVICES_HELP } from "./help.js";

/** The host device compiles MSL as C++ with the first of these found on PATH. */
const HOST_COMPILERS = ["clang-19", "clang", "c++", "g++"] as const;

interface DeviceStatus {
  readonly name: string;
  readonly works: boolean;
  readonly why: string;
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const file = path.join(dir, command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here: try the next directory
    }
  }
  return undefined;
}

function metalStatus(works: boolean): DeviceStatus {
  if (works) return { name: "metal", works, why: "Apple GPU through the Metal addon" };
  const why =
    process.platform === "darwin"
      ? "the Metal addon (native/metal) is not built yet"
      : `needs macOS on Apple Silicon (this is ${process.platform})`;
  return { name: "metal", works, why };
}

function hostStatus(works: boolean): DeviceStatus {
  const found = HOST_COMPILERS.map((c) => [c, onPath(c)] as const).filter(([, p]) => p !== undefined);
  const first = found[0];
  const others = found.slice(1).map(([c]) => c);
  const compiler = first ? `${first[0]} (${first[1]})${others.length ? `; also ${others.join(", ")}` : ""}` : undefined;
  if (works) return { name: "host", works, why: `MSL compiled as C++ with ${compiler ?? "a C++ compiler"}` };
  if (!compiler) return { name: "host", works, why: `needs a C++ compiler on PATH (${HOST_COMPILERS.join(", ")}): none found` };
  return { name: "host", works, why: `C++ compiler found: ${compiler}, but the host device is not built yet` };
}

export function deviceStatuses(): DeviceStatus[] {
  const working = new Set(workingDevices());
  return [
    metalStatus(working.has("metal")),
    hostStatus(working.has("host")),
    { name: "interp", works: working.has("interp"), why: "the reference interpreter: slow, exact, always available" },
  ];
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
