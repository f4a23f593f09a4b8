// `npm install` / `npm ci` run this: builds build/Release/smelt_host.node with node-gyp. A
// failure never fails the install: it says why the host device will be unavailable and exits 0.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function warn(why) {
  console.warn(
    [
      "",
      "smeltjs: the host device's native runtime (build/Release/smelt_host.node) was not built:",
      `  ${why}`,
      "  The host device will be unavailable (the interpreter still runs everything).",
      "  It needs Linux or macOS, Python 3, make and a C++17 compiler; rebuild with",
      "  `npm rebuild smeltjs` (or `node native/host/build.mjs` in the package).",
      "",
    ].join("\n"),
  );
  process.exit(0);
}

if (process.platform !== "linux" && process.platform !== "darwin") {
  warn(`the host runtime supports Linux and macOS, not ${process.platform}`);
}

// npm's own node-gyp when run by npm; else the one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, "rebuild"]] : ["node-gyp", ["rebuild"]];
const r = spawnSync(command, args, { cwd: root, stdio: "inherit" });
if (r.error) warn(`could not run ${command}: ${r.error.message}`);
if (r.status !== 0) {
  const how = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`;
  warn(`node-gyp rebuild ${how} (its output is above)`);
}
