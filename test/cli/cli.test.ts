// The `smelt` command as users run it: the real launcher in a child process.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root, smelt } from "../support/cli.js";

const fixture = (name: string): string => path.join("test", "fixtures", name);

describe.concurrent("smelt", () => {
  it("documents every command and option", async () => {
    const main = await smelt("--help");
    expect(main.code).toBe(0);
    for (const cmd of ["smelt run", "smelt opt", "smelt devices"]) expect(main.stdout).toContain(cmd);
    const [run, opt] = await Promise.all([smelt("run", "--help"), smelt("opt", "--help")]);
    expect(run.code).toBe(0);
    for (const flag of ["--device", "--dump-ir", "--dump-dir", "traced", "planned"]) expect(run.stdout).toContain(flag);
    expect(opt.code).toBe(0);
    for (const flag of ["--passes", "--emit", "--strategy", "simplify", "fuse", "plan"]) expect(opt.stdout).toContain(flag);
  });

  it("rejects unknown flags and commands with exit 2", async () => {
    const [flag, cmd, value] = await Promise.all([
      smelt("opt", fixture("canonical.smir"), "--bogus"),
      smelt("frobnicate"),
      smelt("opt", fixture("canonical.smir"), "--passes", "simplify,inline"),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--bogus");
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "frobnicate"');
    expect(value.code).toBe(2);
    expect(value.stderr).toContain('--passes: unknown value "inline"');
  });

  it("opt with no passes reprints canonical IR unchanged", async () => {
    const r = await smelt("opt", fixture("canonical.smir"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fs.readFileSync(path.join(root, fixture("canonical.smir")), "utf8"));
  });

  it("opt --passes simplify merges the repeated exp and drops the unused neg", async () => {
    const r = await smelt("opt", fixture("simplifiable.smir"), "--passes", "simplify");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "func @f(%x: f32[3]) -> (f32[3]) {",
        '  %0 = exp %x : f32[3]  loc("prog.ts":3:14)',
        '  %1 = add %0, %0 : f32[3]  loc("prog.ts":5:11)',
        "  return %1",
        "}",
        "",
      ].join("\n"),
    );
  });

  it("opt --emit stats after fusion counts one kernel moving x in and the result out", async () => {
    const r = await smelt("opt", fixture("simplifiable.smir"), "--passes", "simplify,fuse,plan", "--emit", "stats");
    expect(r.code).toBe(0);
    // exp and add fuse into one elementwise kernel: it reads x (3 f32 = 12 bytes) and writes
    // the result (12 bytes), with no intermediate buffer.
    expect(JSON.parse(r.stdout)).toEqual({
      name: "f",
      kernels: 1,
      bytesMoved: 24,
      minimalBytes: 24,
      peakBytes: 0,
      naivePeakBytes: 0,
    });
  });

  it("opt reports text that does not parse at file:line:col with exit 1", async () => {
    const r = await smelt("opt", fixture("broken.smir"));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    // The `$` on line 3, column 12 of the fixture.
    expect(r.stderr).toMatch(/^test\/fixtures\/broken\.smir:3:12: unexpected character "\$"/);
  });

  it("opt rejects a pass order that does not type, and emits MSL for a program", async () => {
    const [order, msl] = await Promise.all([
      smelt("opt", fixture("simplifiable.smir"), "--passes", "fuse,simplify"),
      smelt("opt", fixture("simplifiable.smir"), "--emit", "msl"),
    ]);
    expect(order.code).toBe(2);
    expect(order.stderr).toContain("simplify needs graph IR");
    expect(msl.code).toBe(0);
    expect(msl.stdout).toMatch(/^kernel void smelt_\w+\(/m);
    expect(msl.stdout).toContain("#include <metal_stdlib>");
  });

  it("devices lists each device, why the others do not work, and the compiler found", async () => {
    const r = await smelt("devices");
    expect(r.code).toBe(0);
    const line = (name: string) => r.stdout.split("\n").find((l) => l.startsWith(`${name} `)) ?? "";
    expect(line("interp")).toMatch(/works/);
    if (process.platform !== "darwin") expect(line("metal")).toMatch(/no .*macOS/);
    // The host device works with clang 17+ and the built addon; otherwise the line says which is missing.
    expect(line("host")).toMatch(/works .*clang version|no .*(compiler|addon)/);
  });

  it("run passes the dump stages and the program's arguments, and exits with its status", async () => {
    const r = await smelt("run", fixture("hello-run.ts"), "--dump-ir", "--", "--exit", "3");
    expect(r.code).toBe(3);
    const lines = r.stdout.split("\n");
    expect(lines).toContain("hello from smelt run");
    expect(lines).toContain("SMELT_DUMP_IR=all");
    expect(lines).toContain("SMELT_DEVICE=(unset)");
    expect(lines).toContain('args=["--exit","3"]');
    expect(r.stderr).toContain("to stderr");
  });

  it("run sets the device, the named stages and the dump directory", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smelt-cli-")), "dumps");
    try {
      const r = await smelt("run", fixture("hello-run.ts"), "--device", "interp", "--dump-ir=fused,traced", "--dump-dir", dir, "extra");
      expect(r.code).toBe(0);
      const lines = r.stdout.split("\n");
      expect(lines).toContain("SMELT_DUMP_IR=fused,traced");
      expect(lines).toContain("SMELT_DEVICE=interp");
      expect(lines).toContain(`SMELT_DUMP_DIR=${dir}`);
      expect(lines).toContain('args=["extra"]');
      expect(fs.statSync(dir).isDirectory()).toBe(true);
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it("run resolves real stack locations of a program to its source expressions", async () => {
    const r = await smelt("run", fixture("exprs-run.ts"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // Line 32 of the fixture is `sm.exp(x.matmul(w)).T;`: matmul runs first, then exp, then T.
    const comments = r.stdout.trim().split("\n").map((l) => l.replace(/^.*loc\(.*:32:\d+\) {2}/, ""));
    expect(comments).toEqual(["// x.matmul(w)", "// sm.exp(x.matmul(w))", "// sm.exp(x.matmul(w)).T"]);
  });

  it("run refuses an unknown device or stage without running the program", async () => {
    const [device, stage] = await Promise.all([
      smelt("run", fixture("hello-run.ts"), "--device", "gpu"),
      smelt("run", fixture("hello-run.ts"), "--dump-ir=traced,lowered"),
    ]);
    expect(device.code).toBe(2);
    expect(device.stderr).toContain('--device: unknown value "gpu"');
    expect(device.stdout).toBe("");
    expect(stage.code).toBe(2);
    expect(stage.stderr).toContain('--dump-ir: unknown value "lowered"');
  });
  it("run examples/hello.ts --dump-ir shows each op's hello.ts line and its source expression", async () => {
    const r = await smelt("run", "examples/hello.ts", "--dump-ir=traced,fused");
    expect(r.code).toBe(0);
    const lines = r.stderr.split("\n");
    expect(lines).toContain('// @compiled: IR at stage "traced"');
    expect(lines.find((l) => l.includes("= matmul"))).toMatch(/loc\("examples\/hello\.ts":6:\d+\) {2}\/\/ x\.matmul\(w\)$/);
    expect(lines.find((l) => l.includes("= reduce_max"))).toMatch(/hello\.ts":7:\d+\) {2}\/\/ sm\.softmax\(y\.mul\(2\)\.add\(1\)\)$/);
    expect(r.stderr).toContain("kernel @k1 row");
    expect(r.stdout).toContain("0.98201");
  });

  it("opt reprints the traced IR of a compiled function unchanged", async () => {
    const sm = await import("../../src/index.js");
    const f = sm.compile((x: InstanceType<typeof sm.Array>) => sm.softmax(x.mul(3)));
    const text = f.lower(sm.zeros([2, 5])).ir("traced");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smelt-opt-")), "traced.smir");
    fs.writeFileSync(file, text);
    const r = await smelt("opt", file, "--emit", "ir");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(text.endsWith("\n") ? text : `${text}\n`);
  });
});
