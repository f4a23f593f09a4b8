import { test } from "vitest";
import { parseModule } from "../../src/ir/parse.js";
import { printModule } from "../../src/ir/print.js";
test("s", () => {
  const text = `func @loss(%x: f32[4,3], %w: f32[3,2]) -> (f32[]) {
  %0 = matmul %x, %w : f32[4,2]  loc("mlp.ts":14:9)  // x.matmul(w)
  %1 = constant {dtype = f32, shape = [], data = [0]} : f32[]
  %2 = broadcast %1 {shape = [4, 2]} : f32[4,2]
  %3 = max %0, %2 : f32[4,2]
  %4 = reduce_sum %3 {axes = [0, 1]} : f32[]
  return %4
}
`;
  const fs = parseModule(text);
  console.log(printModule(fs));
  for (const bad of ["func", "func @f(%x: f33[]) -> () { return }", "func @f() -> () {", "func @f() -> () { %0 = foo : f32[] return %0 }", "func @f() -> (f32[]) { %0 = constant {dtype = f32, shape = [], data = [1.2.3]} : f32[] return %0 }", 'func @f() -> () { %0 = iota {dtype = i32, shape = [2], axis = 0} : i32[2] loc("abc', "x"]) {
    try { parseModule(bad); } catch (e) { console.log(String(e)); }
  }
});
