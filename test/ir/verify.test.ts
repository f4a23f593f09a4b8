import { describe, expect, test } from "vitest";
import {
  type Func,
  makeOp,
  newValue,
  type Op,
  tensorType,
  verify,
  VerifyError,
} from "../../src/ir/index.js";

const f32 = (...shape: number[]) => tensorType("float32", shape);

function verifyError(f: Func): VerifyError {
  try {
    verify(f);
  } catch (e) {
    if (e instanceof VerifyError) return e;
    throw e;
  }
  throw new Error("expected a VerifyError, but the func verified");
}

describe("verify", () => {
  test("accepts a well-typed func and returns it", () => {
    const x = newValue(f32(2, 3), "x");
    const y = newValue(f32(2, 3), "y");
    const s = newValue(f32(2, 3));
    const r = newValue(f32(2));
    const body: Op[] = [makeOp("add", [x, y], {}, s), makeOp("reduce_sum", [s], { axes: [1] }, r)];
    const f: Func = { name: "f", params: [x, y], body, results: [r, x] };
    expect(verify(f)).toBe(f);
  });

  test("operands that differ in shape", () => {
    const x = newValue(f32(2, 3), "x");
    const y = newValue(f32(3), "y");
    const r = newValue(f32(2, 3));
    const e = verifyError({ name: "f", params: [x, y], body: [makeOp("add", [x, y], {}, r)], results: [r] });
    expect(e.op).toBe("add");
    expect(e.message).toMatch(/^add: /);
    expect(e.message).toContain("f32[2,3]");
    expect(e.message).toContain("f32[3]");
  });

  test("operands that differ in dtype", () => {
    const x = newValue(f32(4), "x");
    const y = newValue(tensorType("int32", [4]), "y");
    const r = newValue(f32(4));
    const e = verifyError({ name: "f", params: [x, y], body: [makeOp("mul", [x, y], {}, r)], results: [r] });
    expect(e.op).toBe("mul");
    expect(e.message).toMatch(/^mul: .*i32\[4\]/);
  });

  test("a result declared with another type than its rule gives", () => {
    const x = newValue(f32(2, 3), "x");
    const r = newValue(f32(3, 2));
    const e = verifyError({ name: "f", params: [x], body: [makeOp("exp", [x], {}, r)], results: [r] });
    expect(e.op).toBe("exp");
    expect(e.message).toMatch(/^exp: op #0 is declared f32\[3,2\]/);
  });

  test("a use before the definition", () => {
    const x = newValue(f32(2), "x");
    const a = newValue(f32(2));
    const b = newValue(f32(2));
    const body: Op[] = [makeOp("neg", [b], {}, a), makeOp("tanh", [x], {}, b)];
    const e = verifyError({ name: "f", params: [x], body, results: [a] });
    expect(e.op).toBe("neg");
    expect(e.message).toMatch(/^neg: operand 0 of op #0 is used before it is defined/);
  });

  test("a result the func never defines", () => {
    const x = newValue(f32(2), "x");
    const stray = newValue(f32(2));
    const e = verifyError({ name: "g", params: [x], body: [], results: [x, stray] });
    expect(e.message).toMatch(/@g: result 1 is not defined/);
  });

  test("a value defined twice", () => {
    const x = newValue(f32(2), "x");
    const r = newValue(f32(2));
    const body: Op[] = [makeOp("sin", [x], {}, r), makeOp("cos", [x], {}, r)];
    const e = verifyError({ name: "f", params: [x], body, results: [r] });
    expect(e.op).toBe("cos");
    expect(e.message).toMatch(/^cos: op #1 defines a value twice/);
  });

  test("two params with one name", () => {
    const a = newValue(f32(2), "x");
    const b = newValue(f32(2), "x");
    const e = verifyError({ name: "f", params: [a, b], body: [], results: [a] });
    expect(e.message).toMatch(/@f: parameter name %x is used twice/);
  });

  test("attributes the rule rejects, with the op and its loc in the message", () => {
    const x = newValue(f32(2, 3), "x");
    const r = newValue(f32(2));
    const loc = { file: "m.ts", line: 4, col: 2, expr: "x.sum(1)" };
    const op = makeOp("reduce_sum", [x], { axes: [2] }, r, loc);
    const e = verifyError({ name: "f", params: [x], body: [op], results: [r] });
    expect(e.op).toBe("reduce_sum");
    expect(e.message).toMatch(/^reduce_sum: op #0: /);
    expect(e.message).toContain("at m.ts:4:2 (x.sum(1))");
  });

  test("a wrong operand count", () => {
    const x = newValue(f32(2), "x");
    const r = newValue(f32(2));
    const e = verifyError({ name: "f", params: [x], body: [makeOp("add", [x], {}, r)], results: [r] });
    expect(e.op).toBe("add");
    expect(e.message).toMatch(/^add: op #0: takes 2 operand\(s\), got 1/);
  });
});
