// The Metal addon's Objective-C++ type-checks on Linux: clang-19 parses smelt_metal.mm against
// native/metal/stubs (Apple's declarations, copied) and the real node-addon-api and Node-API
// headers, with warnings as errors. Deliberate mistakes in a copy of the source (a misspelled
// selector, an argument of the wrong type, a method Metal does not have) must fail, which shows
// the check has teeth. Also: the gyp include and the macOS workflow are well-formed.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { findClang } from "../codegen-msl/support/host.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const METAL = join(ROOT, "native/metal");
const SOURCE = join(METAL, "smelt_metal.mm");
const ADDON_API = dirname(fileURLToPath(import.meta.resolve("node-addon-api/package.json")));

/** The directory holding node_api.h for this Node, wherever it was installed from. */
function nodeHeaders(): string | undefined {
  const nodedir = process.env["npm_config_nodedir"];
  const candidates = [
    resolve(process.execPath, "../../include/node"),
    ...(nodedir ? [join(nodedir, "include/node")] : []),
    join(process.env["HOME"] ?? "/root", `.cache/node-gyp/${process.versions.node}/include/node`),
    "/usr/include/node",
    "/usr/local/include/node",
  ];
  return candidates.find((d) => existsSync(join(d, "node_api.h")));
}

const clang = findClang();
const headers = nodeHeaders();
if (!clang) console.log("test/runtime/metal-syntax.test.ts: skipped, clang-19 not found (CI installs it)");

const FLAGS = [
  "-x",
  "objective-c++",
  "-std=c++17",
  "-fsyntax-only",
  "-fobjc-arc",
  "-fblocks",
  // Objective-C semantics of the Apple runtime (ARC, @available) without its headers.
  "-fobjc-runtime=macosx-13.0",
  "-fno-exceptions",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-DNAPI_VERSION=8",
  "-DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS",
  "-I",
  join(METAL, "stubs"),
  "-I",
  ADDON_API,
];

interface Check {
  readonly ok: boolean;
  readonly stderr: string;
}

async function check(source: string): Promise<Check> {
  const dir = mkdtempSync(join(tmpdir(), "smelt-metal-"));
  try {
    const file = join(dir, "smelt_metal.mm");
    writeFileSync(file, source);
    await run(clang!, [...FLAGS, "-isystem", headers!, file], { maxBuffer: 1 << 24 });
    return { ok: true, stderr: "" };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: string }).stderr ?? e) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The addon's source with one exact piece replaced (which must be there). */
function mutated(from: string, to: string): string {
  const text = readFileSync(SOURCE, "utf8");
  expect(text).toContain(from);
  return text.replace(from, to);
}

/** Deliberate mistakes, each replacing one exact piece of the source. */
const MISTAKES = {
  selector: ["[encoder dispatchThreadgroups:", "[encoder dispatchThreadGroups:"],
  // A buffer where a pipeline state goes: protocols that do not match.
  protocol: ["[encoder setComputePipelineState:s.pipeline]", "[encoder setComputePipelineState:s.slots[0].buffer]"],
  argument: ["[encoder setBuffer:slot.buffer offset:slot.offset atIndex:j]", "[encoder setBuffer:slot.buffer offset:slot.buffer atIndex:j]"],
  undeclared: ["[cb commit];\n      [cb waitUntilCompleted];", "[cb commitAndWait];"],
  leftOut: ["id<MTLCommandBuffer> cb = [queue_ commandBuffer];", "id<MTLCommandBuffer> cb = [queue_ commandBufferWithUnretainedReferences];"],
  nonnull: ["[device_ newComputePipelineStateWithFunction:function error:&error]", "[device_ newComputePipelineStateWithFunction:nil error:&error]"],
} as const;

describe.skipIf(!clang)("smelt_metal.mm against Apple's declarations", () => {
  // One compiler run per variant, all at once (each takes seconds: napi.h pulls in the STL).
  let results: Record<keyof typeof MISTAKES | "original", Check>;
  beforeAll(async () => {
    expect(headers, "node_api.h not found next to node or in node-gyp's cache: the type check needs it").toBeDefined();
    const names = Object.keys(MISTAKES) as (keyof typeof MISTAKES)[];
    const checks = await Promise.all([
      check(readFileSync(SOURCE, "utf8")),
      ...names.map((n) => check(mutated(MISTAKES[n][0], MISTAKES[n][1]))),
    ]);
    results = Object.fromEntries([["original", checks[0]!], ...names.map((n, i) => [n, checks[i + 1]!])]) as typeof results;
  }, 120_000);

  it("type-checks with warnings as errors", () => {
    expect(results.original.stderr).toBe("");
    expect(results.original.ok).toBe(true);
  });

  it("rejects a misspelled selector", () => {
    expect(results.selector.ok).toBe(false);
    expect(results.selector.stderr).toMatch(/dispatchThreadGroups:threadsPerThreadgroup:/);
  });

  it("rejects an argument of the wrong type", () => {
    expect(results.protocol.ok).toBe(false);
    expect(results.protocol.stderr).toMatch(/MTLComputePipelineState/);
    expect(results.argument.ok).toBe(false);
    expect(results.argument.stderr).toMatch(/NSUInteger|unsigned long/);
  });

  it("rejects a method Metal does not declare, and one the stubs leave out", () => {
    expect(results.undeclared.ok).toBe(false);
    expect(results.undeclared.stderr).toMatch(/commitAndWait/);
    expect(results.leftOut.ok).toBe(false);
    expect(results.leftOut.stderr).toMatch(/commandBufferWithUnretainedReferences/);
  });

  it("rejects nil passed where Metal requires an object", () => {
    expect(results.nonnull.ok).toBe(false);
    expect(results.nonnull.stderr).toMatch(/non-null/);
  });
});

describe("the build and CI files of the Metal device", () => {
  it("metal.gypi declares the smelt_metal target for macOS only, with sources that exist", () => {
    const text = readFileSync(join(METAL, "metal.gypi"), "utf8");
    const gyp = JSON.parse(text.replace(/^#.*$/gm, "")) as {
      conditions: [string, { targets: { target_name: string; sources: string[]; link_settings: { libraries: string[] } }[] }][];
    };
    expect(gyp.conditions).toHaveLength(1);
    const [cond, body] = gyp.conditions[0]!;
    expect(cond).toBe('OS=="mac"');
    const [target] = body.targets;
    expect(target!.target_name).toBe("smelt_metal");
    for (const s of target!.sources) expect(existsSync(join(METAL, s))).toBe(true);
    expect(target!.link_settings.libraries).toEqual(["-framework Metal", "-framework Foundation"]);
  });

  const python = (() => {
    try {
      execFileSync("python3", ["-c", "import yaml"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!python)("the macOS workflow is valid YAML that runs the tests on Metal", () => {
    const out = execFileSync(
      "python3",
      ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", join(ROOT, ".github/workflows/macos.yml")],
      { encoding: "utf8" },
    );
    const wf = JSON.parse(out) as { jobs: Record<string, { "runs-on": string; steps: { run?: string; env?: Record<string, string> }[] }> };
    const jobs = Object.values(wf.jobs);
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) expect(job["runs-on"]).toMatch(/^macos-(14|15|latest)/);
    const steps = jobs.flatMap((j) => j.steps);
    expect(steps.some((s) => s.run?.includes("npm ci"))).toBe(true);
    expect(steps.some((s) => s.run?.includes("npm test") && s.env?.["SMELT_DEVICE"] === "metal")).toBe(true);
  });
});
