// The dispatch list: where each kernel's buffer slots point, and where a run needs barriers.
import { describe, expect, it } from "vitest";
import { dispatchList } from "../../runtime/dispatch.js";
import { emitProgram } from "../../src/codegen-msl/index.js";
import { parseFunc } from "../../src/ir/parse.js";
import { lowerFunc } from "../../src/passes/pipeline.js";

function planFor(text: string, strategy: "full" | "none" = "none") {
  const planned = lowerFunc(parseFunc(text), { strategy }).planned;
  return { planned, list: dispatchList(planned, emitProgram(planned, { cooperative: false })) };
}

describe("dispatchList", () => {
  it("binds params, results, arena temps and the metadata struct by slot", () => {
    const { planned, list } = planFor(`func @f(%x: f32[4], %y: f32[4]) -> (f32[4]) {
  %0 = add %x, %y : f32[4]
  %1 = exp %0 : f32[4]
  return %1
}`);
    expect(list.dispatches).toHaveLength(2);
    const [first, second] = list.dispatches;
    const kinds = (d: typeof first) => d!.bindings.map((b) => b.kind);
    expect(kinds(first)).toEqual(expect.arrayContaining(["param", "param", "arena", "meta"]));
    expect(kinds(second)).toEqual(expect.arrayContaining(["arena", "result", "meta"]));
    const temp = first!.bindings.find((b) => b.kind === "arena")!;
    expect(temp).toEqual({ kind: "arena", offset: 0, bytes: 16 });
    // The metadata struct holds the grid size (4 points) as a little-endian uint32.
    const meta = first!.bindings.find((b) => b.kind === "meta")!;
    expect(meta.kind === "meta" && [...meta.bytes]).toEqual([4, 0, 0, 0]);
    expect(list.results).toEqual([{ kind: "written" }]);
    expect(list.arenaBytes).toBe(planned.plan.arenaBytes);
  });

  it("puts a barrier before a kernel that reads what an earlier one wrote, and none between independent ones", () => {
    const { list } = planFor(`func @f(%x: f32[4]) -> (f32[4], f32[4], f32[4]) {
  %0 = exp %x : f32[4]
  %1 = neg %x : f32[4]
  %2 = add %0, %1 : f32[4]
  return %0, %1, %2
}`);
    expect(list.dispatches.map((d) => d.barrierBefore)).toEqual([false, false, true]);
  });

  it("returns params, constants and repeated results as copies, not as kernel outputs", () => {
    const { list } = planFor(`func @f(%x: f32[2]) -> (f32[2], f32[2], f32[2], f32[2]) {
  %0 = constant {dtype = f32, shape = [2], data = [1.0, 2.0]} : f32[2]
  %1 = exp %x : f32[2]
  return %x, %0, %1, %1
}`);
    expect(list.results).toEqual([
      { kind: "param", index: 0 },
      { kind: "const", name: expect.any(String) },
      { kind: "written" },
      { kind: "copy", of: 2 },
    ]);
  });
});

describe("dispatchList barriers for reused arena space", () => {
  it("waits for the readers of a dead temp before a kernel writes a new temp over its space", () => {
    // t0 = exp x dies in k1 (read by neg); k2 writes t2 over t0's space in the arena.
    const { planned, list } = planFor(`func @f(%x: f32[64]) -> (f32[64]) {
  %0 = exp %x : f32[64]
  %1 = neg %0 : f32[64]
  %2 = sin %1 : f32[64]
  %3 = cos %2 : f32[64]
  return %3
}`);
    const offsets = planned.plan.offsets;
    expect(Object.values(offsets)).toContain(0);
    // Each kernel reads its predecessor's output: a barrier before every kernel but the first.
    expect(list.dispatches.map((d) => d.barrierBefore)).toEqual([false, true, true, true]);
  });

  it("places a barrier before a write over space read since the last barrier, with no data dependence", () => {
    // k1 reads %0 (and dies it); k2 reads only %y but writes %2 where %0 lived.
    const { planned, list } = planFor(`func @f(%x: f32[64], %y: f32[64]) -> (f32[64], f32[64]) {
  %0 = exp %x : f32[64]
  %1 = neg %0 : f32[64]
  %2 = exp %y : f32[64]
  %3 = sin %2 : f32[64]
  return %1, %3
}`);
    const arena = (i: number) => list.dispatches[i]!.bindings.flatMap((b) => (b.kind === "arena" ? [b.offset] : []));
    expect(arena(2)).toEqual(arena(0)); // the scenario: %2 takes %0's space
    expect(planned.plan.offsets).toBeDefined();
    expect(list.dispatches.map((d) => d.barrierBefore)).toEqual([false, true, true, true]);
  });
});
