import { it } from "vitest";
import { plan } from "../../src/passes/plan.js";
import { f32, ProgramBuilder, ty } from "./programs.js";
import { idx, lit, sop, type DType } from "../../src/ir/index.js";
it("x", () => {
  const temps: {dtype: DType, n: number}[] = [{"dtype":"bool","n":297},{"dtype":"int32","n":64},{"dtype":"float16","n":300},{"dtype":"float32","n":64},{"dtype":"bool","n":0},{"dtype":"float32","n":136},{"dtype":"float32","n":300}];
  const b = new ProgramBuilder().param("x", f32(1));
  temps.forEach((t, i) => b.temp(`t${i}`, ty(t.dtype, t.n)));
  b.result("r0", f32(1)); b.result("r1", f32(1));
  b.kernel([{ out: "t1", value: sop("add", [b.at("x", lit(0, "int32")), b.at("t3")], "float32") }, { out: "r0", value: b.at("x", lit(0, "int32")) }], { grid: [8] });
  b.kernel([{ out: "r1", value: b.at("x", lit(0, "int32")) }], { grid: [8], kind: "reduce" });
  const m = plan(b.build()).plan;
  console.log(JSON.stringify(m));
});
