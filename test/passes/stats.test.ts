import { describe, expect, it } from "vitest";
import { type Expr, iadd, idx, imul, lit, sop } from "../../src/ir/index.js";
import { plan } from "../../src/passes/plan.js";
import { programStats } from "../../src/passes/stats.js";
import { f32, ProgramBuilder, ty } from "./programs.js";

const add = (a: Expr, b: Expr): Expr => sop("add", [a, b], "float32");
const mul = (a: Expr, b: Expr): Expr => sop("mul", [a, b], "float32");
const rowMajor = iadd(imul(idx("p0"), 8), idx("p1"));

/** x: f32[4,8] (128 B), bias: f32[8] (32 B), out0: f32[4,8]. */
const withBias = () => new ProgramBuilder().param("x", f32(4, 8)).param("bias", f32(8));

describe("programStats", () => {
  it("counts a broadcast bias once per kernel at its own size", () => {
    const b = withBias().result("out0", f32(4, 8));
    b.kernel([{ out: "out0", index: rowMajor, value: add(b.at("x", rowMajor), b.at("bias", idx("p1"))) }], { grid: [4, 8] });
    // reads x 128 + bias 32, writes out0 128
    expect(programStats(b.build())).toEqual({ kernels: 1, bytesMoved: 288, minimalBytes: 288, peakBytes: 0, naivePeakBytes: 0 });
  });

  it("counts a buffer loaded at several indices in one kernel once", () => {
    const b = withBias().result("out0", f32(4, 8));
    const mirrored = sop("sub", [lit(7, "int32"), idx("p1")], "int32");
    const value = add(add(b.at("x", rowMajor), b.at("bias", idx("p1"))), b.at("bias", mirrored));
    b.kernel([{ out: "out0", index: rowMajor, value }], { grid: [4, 8] });
    expect(programStats(b.build()).bytesMoved).toBe(288);
  });

  it("charges an unfused intermediate its write and its read, and its arena space", () => {
    // k0: t0 = x + bias (128 + 32 in, 128 out); k1: out0 = t0 * bias (128 + 32 in, 128 out).
    const b = withBias().temp("t0", f32(4, 8)).result("out0", f32(4, 8));
    b.kernel([{ out: "t0", index: rowMajor, value: add(b.at("x", rowMajor), b.at("bias", idx("p1"))) }], { grid: [4, 8] });
    b.kernel([{ out: "out0", index: rowMajor, value: mul(b.at("t0", rowMajor), b.at("bias", idx("p1"))) }], { grid: [4, 8] });
    const p = b.build();
    const expected = { kernels: 2, bytesMoved: 576, minimalBytes: 288, peakBytes: 256, naivePeakBytes: 256 };
    expect(programStats(p)).toEqual(expected);
    expect(programStats(plan(p))).toEqual(expected);
  });

  it("counts a scatter-add target as read and written by the accumulating kernel", () => {
    // a: f32[8] 32 B, i: i32[3] 12 B, u: f32[3] 12 B, out0: f32[8] 32 B.
    const b = new ProgramBuilder().param("a", f32(8)).param("i", ty("int32", 3)).param("u", f32(3)).result("out0", f32(8));
    b.kernel([{ out: "out0", value: b.at("a") }]);
    b.kernel([{ out: "out0", index: b.at("i"), value: b.at("u"), mode: "add" }], { kind: "scatter", grid: [3] });
    const s = programStats(b.build());
    // k0: 32 + 32; k1: reads i 12, u 12, out0 32, writes out0 32
    expect(s.bytesMoved).toBe(64 + 88);
    expect(s.minimalBytes).toBe(32 + 12 + 12 + 32);
  });

  it("sizes buffers by their dtype's item size", () => {
    // x: f16[10] 20 B; out0: bool[10] 10 B.
    const b = new ProgramBuilder().param("x", ty("float16", 10)).result("out0", ty("bool", 10));
    b.kernel([{ out: "out0", value: sop("gt", [b.at("x"), lit(0, "float16")], "bool") }]);
    expect(programStats(b.build())).toMatchObject({ bytesMoved: 30, minimalBytes: 30 });
  });

  it("counts each result once and a returned param only as read", () => {
    const b = new ProgramBuilder().param("x", f32(16)).result("out0", f32(16));
    b.kernel([{ out: "out0", value: mul(b.at("x"), b.at("x")) }]);
    const s = programStats(b.returning("out0", "out0", "x").build());
    expect(s).toMatchObject({ kernels: 1, bytesMoved: 128, minimalBytes: 128 });
  });

  it("plans an unplanned program, and takes a planned program's figures from its plan", () => {
    const b = new ProgramBuilder().param("x", f32(256)).temp("t0", f32(256)).temp("t1", f32(256)).result("out0", f32(256));
    b.kernel([{ out: "t0", value: add(b.at("x"), lit(1, "float32")) }]);
    b.kernel([{ out: "t1", value: b.at("t0", sop("sub", [lit(255, "int32"), idx("p0")], "int32")) }]);
    b.kernel([{ out: "out0", value: add(b.at("t1"), b.at("x")) }]);
    // t1 reads t0 reversed: no in place, so both temps are 1024 B at once.
    expect(programStats(b.build())).toMatchObject({ kernels: 3, peakBytes: 2048, naivePeakBytes: 2048 });
    expect(programStats(b.build()).bytesMoved).toBe(1024 * 2 + 1024 * 2 + 1024 * 3);
    const planned = plan(b.build());
    const given = { ...planned, plan: { ...planned.plan, peakBytes: 4096, naivePeakBytes: 8192 } };
    expect(programStats(given)).toMatchObject({ peakBytes: 4096, naivePeakBytes: 8192 });
  });
});
