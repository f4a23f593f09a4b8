import { describe, expect, test } from "vitest";
import {
  type Func,
  FuncBuilder,
  makeOp,
  newValue,
  ParseError,
  tensorType,
  VerifyError,
} from "../../src/ir/index.js";
import { parseFunc, parseModule } from "../../src/ir/parse.js";
import { printFunc, printModule } from "../../src/ir/print.js";

const lines = (...ls: string[]): string => ls.join("\n") + "\n";

/** Parsing canonical text and printing it again gives the same text. */
function expectCanonical(text: string): Func[] {
  const funcs = parseModule(text);
  expect(printModule(funcs)).toBe(text);
  return funcs;
}

function parseError(text: string): ParseError {
  try {
    parseModule(text);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error("expected a ParseError, but the text parsed");
}

describe("canonical text", () => {
  test("the example of docs/ir.md", () => {
    const text = lines(
      "func @loss(%x: f32[4,3], %w: f32[3,2]) -> (f32[]) {",
      '  %0 = matmul %x, %w : f32[4,2]  loc("mlp.ts":14:9)  // x.matmul(w)',
      "  %1 = constant {dtype = f32, shape = [], data = [0]} : f32[]",
      "  %2 = broadcast %1 {shape = [4, 2]} : f32[4,2]",
      "  %3 = max %0, %2 : f32[4,2]",
      "  %4 = reduce_sum %3 {axes = [0, 1]} : f32[]",
      "  return %4",
      "}",
    );
    const [f] = expectCanonical(text);
    expect(f!.name).toBe("loss");
    expect(f!.params.map((p) => p.name)).toEqual(["x", "w"]);
    expect(f!.body.map((o) => o.op)).toEqual(["matmul", "constant", "broadcast", "max", "reduce_sum"]);
    expect(f!.body[0]!.loc).toEqual({ file: "mlp.ts", line: 14, col: 9, expr: "x.matmul(w)" });
    expect(f!.body[1]!.loc).toBeUndefined();
    expect(f!.results).toEqual([f!.body[4]!.result]);
    expect(f!.body[3]!.operands).toEqual([f!.body[0]!.result, f!.body[2]!.result]);
  });

  test("int and ints attributes", () => {
    const text = lines(
      "func @f(%x: f32[2,3,4]) -> (i32[2,4], f32[4,3,2], f32[2,3,4]) {",
      "  %0 = argmax %x {axis = 1} : i32[2,4]",
      "  %1 = transpose %x {perm = [2, 1, 0]} : f32[4,3,2]",
      "  %2 = reduce_sum %x {axes = []} : f32[2,3,4]",
      "  return %0, %1, %2",
      "}",
    );
    const [f] = expectCanonical(text);
    expect(f!.body[0]!.attrs).toEqual({ axis: 1 });
    expect(f!.body[1]!.attrs).toEqual({ perm: [2, 1, 0] });
    expect(f!.body[2]!.attrs).toEqual({ axes: [] });
  });

  test("number attributes: nan, inf, -inf, -0 and JavaScript's shortest forms", () => {
    const values = ["nan", "inf", "-inf", "-0", "0", "0.1", "1e+21", "5e-324", "-1.7976931348623157e+308"];
    const expected = [NaN, Infinity, -Infinity, -0, 0, 0.1, 1e21, 5e-324, -1.7976931348623157e308];
    const text = lines(
      "func @f(%x: f32[1]) -> (f32[2]) {",
      ...values.map((v, i) => `  %${i} = pad %x {low = [1], high = [0], value = ${v}} : f32[2]`),
      `  return %${values.length - 1}`,
      "}",
    );
    const [f] = expectCanonical(text);
    f!.body.forEach((op, i) => {
      if (op.op !== "pad") throw new Error("expected pad");
      expect(Object.is(op.attrs.value, expected[i])).toBe(true);
    });
  });

  test("dtype attributes by short name", () => {
    const names = ["f32", "f16", "bf16", "i32", "u32", "bool"];
    const text = lines(
      "func @f(%x: f32[2]) -> (bool[2]) {",
      ...names.map((n, i) => `  %${i} = convert %x {dtype = ${n}} : ${n}[2]`),
      "  return %5",
      "}",
    );
    const [f] = expectCanonical(text);
    expect(f!.body.map((o) => (o.op === "convert" ? o.attrs.dtype : ""))).toEqual([
      "float32",
      "float16",
      "bfloat16",
      "int32",
      "uint32",
      "bool",
    ]);
  });

  test("data attributes, with special values", () => {
    const text = lines(
      "func @f() -> (f32[2,3], i32[0], u32[]) {",
      "  %0 = constant {dtype = f32, shape = [2, 3], data = [nan, inf, -inf, -0, 0.10000000149011612, 3]} : f32[2,3]",
      "  %1 = constant {dtype = i32, shape = [0], data = []} : i32[0]",
      "  %2 = constant {dtype = u32, shape = [], data = [4294967295]} : u32[]",
      "  return %0, %1, %2",
      "}",
    );
    const [f] = expectCanonical(text);
    const data = (i: number): number[] => {
      const op = f!.body[i]!;
      if (op.op !== "constant") throw new Error("expected constant");
      return Array.from(op.attrs.data);
    };
    expect(data(0)).toEqual([NaN, Infinity, -Infinity, -0, Math.fround(0.1), 3]);
    expect(Object.is(data(0)[3], -0)).toBe(true);
    expect(data(1)).toEqual([]);
    expect(data(2)).toEqual([4294967295]);
  });

  test("ops with three attributes, several operands, no operands", () => {
    const text = lines(
      "func @f(%a: f32[5,2], %b: f32[1,2], %k: u32[2]) -> (f32[2,1], f32[6,2], u32[3], i32[2,3]) {",
      "  %0 = slice %a {start = [1, 0], stop = [5, 1], step = [2, 1]} : f32[2,1]",
      "  %1 = concatenate %a, %b {axis = 0} : f32[6,2]",
      "  %2 = random_bits %k {shape = [3]} : u32[3]",
      "  %3 = iota {dtype = i32, shape = [2, 3], axis = 1} : i32[2,3]",
      "  return %0, %1, %2, %3",
      "}",
    );
    const [f] = expectCanonical(text);
    expect(f!.body[0]!.attrs).toEqual({ start: [1, 0], stop: [5, 1], step: [2, 1] });
    expect(f!.body[1]!.operands).toEqual([f!.params[0], f!.params[1]]);
  });

  test("several funcs, no results, results that are params", () => {
    const text = lines(
      "func @a(%x: f32[]) -> () {",
      "  return",
      "}",
      "",
      "func @b(%x: f32[], %y: bool[2]) -> (bool[2], f32[], f32[]) {",
      "  return %y, %x, %x",
      "}",
      "",
      'func @"two words"() -> () {',
      "  return",
      "}",
    );
    const fs = expectCanonical(text);
    expect(fs.map((f) => f.name)).toEqual(["a", "b", "two words"]);
    expect(fs[1]!.results).toEqual([fs[1]!.params[1], fs[1]!.params[0], fs[1]!.params[0]]);
    expect(printModule([])).toBe("");
    expect(parseModule("")).toEqual([]);
  });

  test("loose text prints in canonical form", () => {
    const text = [
      "// a comment on its own line",
      "func @f ( %in : f32[ 2 , 2 ] ) -> f32[2,2]",
      "{ %b = neg %in : f32[2,2] %a = exp %b:f32[2,2] // not an expr: no loc",
      "  %7 = add %a,%b : f32[2,2] loc( \"m.ts\" : 1 : 2 )",
      "  // the expr comment must be on the loc's line",
      "  return %7 }",
    ].join("\n");
    expect(printModule(parseModule(text))).toBe(
      lines(
        "func @f(%in: f32[2,2]) -> (f32[2,2]) {",
        "  %0 = neg %in : f32[2,2]",
        "  %1 = exp %0 : f32[2,2]",
        '  %2 = add %1, %0 : f32[2,2]  loc("m.ts":1:2)',
        "  return %2",
        "}",
      ),
    );
  });
});

describe("locations", () => {
  test("file names are JSON strings; the comment after the loc is the expr", () => {
    const text = lines(
      "func @f(%x: f32[]) -> (f32[]) {",
      '  %0 = neg %x : f32[]  loc("dir/a \\"b\\"\\\\cé\\n.ts":3:17)  // -x   // more',
      '  %1 = neg %0 : f32[]  loc("":0:0)  // ',
      '  %2 = neg %1 : f32[]  loc("b.ts":1:1)  //  two spaces',
      "  return %2",
      "}",
    );
    const [f] = expectCanonical(text);
    expect(f!.body[0]!.loc).toEqual({ file: 'dir/a "b"\\cé\n.ts', line: 3, col: 17, expr: "-x   // more" });
    expect(f!.body[1]!.loc).toEqual({ file: "", line: 0, col: 0, expr: "" });
    expect(f!.body[2]!.loc).toEqual({ file: "b.ts", line: 1, col: 1, expr: " two spaces" });
  });

  test("two ops on one line: the comment belongs to the last loc only", () => {
    const f = parseFunc(
      'func @f(%x: f32[]) -> (f32[]) { %0 = neg %x : f32[] loc("a":1:1) %1 = neg %0 : f32[] loc("b":2:2) // e\n return %1 }',
    );
    expect(f.body[0]!.loc).toEqual({ file: "a", line: 1, col: 1 });
    expect(f.body[1]!.loc).toEqual({ file: "b", line: 2, col: 2, expr: "e" });
  });

  test("options leave out locs or exprs; a multi-line expr prints on one line", () => {
    const b = new FuncBuilder("f");
    const x = b.param(tensorType("float32", []), "x");
    const y = b.op("neg", [x], {}, { file: "m.ts", line: 2, col: 5, expr: "neg(\n    x\n  )" });
    const f = b.build([y]);
    const head = "func @f(%x: f32[]) -> (f32[]) {";
    const tail = ["  return %0", "}"];
    expect(printFunc(f)).toBe(lines(head, '  %0 = neg %x : f32[]  loc("m.ts":2:5)  // neg( x )', ...tail));
    expect(printFunc(f, { exprs: false })).toBe(lines(head, '  %0 = neg %x : f32[]  loc("m.ts":2:5)', ...tail));
    expect(printFunc(f, { locs: false })).toBe(lines(head, "  %0 = neg %x : f32[]", ...tail));
  });
});

describe("printer", () => {
  test("param names are sanitized and deduplicated", () => {
    const t = tensorType("int32", [1]);
    const params = ["x", "x", "1a", "my-var", undefined, "arg4", ""].map((n) => newValue(t, n));
    const f: Func = { name: "my.func", params, body: [], results: [params[0]!] };
    const text = lines(
      'func @"my.func"(%x: i32[1], %x_1: i32[1], %_1a: i32[1], %my_var: i32[1], %arg4_1: i32[1], %arg4: i32[1], %arg6: i32[1]) -> (i32[1]) {',
      "  return %x",
      "}",
    );
    expect(printFunc(f)).toBe(text);
    const g = parseFunc(text);
    expect(g.name).toBe("my.func");
    expect(g.params.map((p) => p.name)).toEqual(["x", "x_1", "_1a", "my_var", "arg4_1", "arg4", "arg6"]);
  });

  test("elided constants, for dumps", () => {
    const b = new FuncBuilder("f");
    const c = b.op("constant", [], { dtype: "int32", shape: [5], data: Float64Array.from([1, 2, 3, 4, 5]) });
    const f = b.build([c]);
    expect(printFunc(f, { elideConstantsOver: 4 })).toContain("{dtype = i32, shape = [5], data = [...5 values]}");
    expect(printFunc(f, { elideConstantsOver: 5 })).toContain("data = [1, 2, 3, 4, 5]}");
  });

  test("a -0 in an integer attribute prints as 0", () => {
    const b = new FuncBuilder("f");
    const x = b.param(tensorType("float32", [2]), "x");
    const f = b.build([b.op("argmax", [x], { axis: -0 })]);
    expect(printFunc(f)).toContain("{axis = 0}");
  });

  test("values the func never defines print as %?N instead of failing", () => {
    const t = tensorType("float32", []);
    const stray = newValue(t);
    const r = newValue(t);
    const f: Func = { name: "f", params: [], body: [makeOp("neg", [stray], {}, r)], results: [r, stray] };
    expect(printFunc(f)).toBe(lines("func @f() -> (f32[], f32[]) {", "  %0 = neg %?0 : f32[]", "  return %0, %?0", "}"));
  });
});

describe("parse errors carry line:col and what was expected", () => {
  const fn = (...body: string[]) => lines("func @f(%x: f32[2], %i: i32[2]) -> (f32[2]) {", ...body, "  return %x", "}");

  const cases: [string, string, number, number, RegExp][] = [
    ["unknown op", fn("  %0 = frob %x : f32[2]"), 2, 8, /unknown op 'frob'/],
    ["unknown type", "func @f(%x: f33[2]) -> () {\n  return\n}\n", 1, 13, /unknown type 'f33'/],
    ["unknown type in an op", fn("  %0 = neg %x : f64[2]"), 2, 17, /unknown type 'f64'/],
    ["undefined value", fn("  %0 = neg %y : f32[2]"), 2, 12, /value %y is not defined/],
    ["use before definition", fn("  %0 = neg %1 : f32[2]", "  %1 = neg %x : f32[2]"), 2, 12, /%1 is not defined/],
    ["redefined param", fn("  %x = neg %x : f32[2]"), 2, 3, /%x is defined twice/],
    ["redefined result", fn("  %0 = neg %x : f32[2]", "  %0 = neg %x : f32[2]"), 3, 3, /%0 is defined twice/],
    ["missing attribute", fn("  %0 = reduce_sum %x : f32[]"), 2, 8, /missing attribute 'axes' of reduce_sum/],
    ["unknown attribute", fn("  %0 = reduce_sum %x {axis = 0} : f32[]"), 2, 23, /unknown attribute 'axis'.*axes/],
    ["attribute on an op without any", fn("  %0 = neg %x {axes = []} : f32[2]"), 2, 16, /expected no attributes/],
    ["repeated attribute", fn("  %0 = argmax %x {axis = 0, axis = 0} : i32[]"), 2, 29, /'axis' is given twice/],
    ["int for ints", fn("  %0 = reduce_sum %x {axes = 0} : f32[]"), 2, 30, /'axes' expects a list of integers/],
    ["list for int", fn("  %0 = argmax %x {axis = [0]} : i32[]"), 2, 26, /'axis' expects an integer, found a list/],
    ["fraction for int", fn("  %0 = argmax %x {axis = 0.5} : i32[]"), 2, 26, /'axis' expects an integer/],
    ["name for number", fn("  %0 = pad %x {low = [0], high = [0], value = f32} : f32[2]"), 2, 47, /'value' expects a number/],
    ["number for dtype", fn("  %0 = convert %x {dtype = 32} : f32[2]"), 2, 28, /'dtype' expects a dtype/],
    ["unknown dtype", fn("  %0 = convert %x {dtype = f64} : f32[2]"), 2, 28, /'dtype' expects a dtype/],
    ["bad number", fn("  %0 = pad %x {low = [0], high = [0], value = 1.5.2} : f32[2]"), 2, 47, /bad number '1.5.2'/],
    ["bad exponent", fn("  %0 = pad %x {low = [0], high = [0], value = 1e} : f32[2]"), 2, 47, /bad number '1e'/],
    ["bad dim", "func @f(%x: f32[2x]) -> () {\n  return\n}\n", 1, 17, /bad number '2x'/],
    ["negative dim", "func @f(%x: f32[-1]) -> () {\n  return\n}\n", 1, 17, /expected a dimension/],
    ["huge integer", fn("  %0 = argmax %x {axis = 9007199254740993} : i32[]"), 2, 26, /too large/],
    ["unterminated string", fn('  %0 = neg %x : f32[2]  loc("mlp.ts:1:2)'), 2, 29, /unterminated string/],
    ["bad string escape", fn('  %0 = neg %x : f32[2]  loc("a\\q":1:2)'), 2, 29, /bad string/],
    ["unterminated brace", "func @f(%x: f32[2]) -> (f32[2]) {\n  return %x\n", 3, 1, /expected '}', found end of input/],
    ["unterminated attributes", fn("  %0 = argmax %x {axis = 0 : i32[]"), 2, 28, /expected '}'/],
    ["missing return", "func @f() -> () {\n}\n", 2, 1, /expected 'return', found '}'/],
    ["missing type", fn("  %0 = neg %x"), 3, 3, /expected ':', found 'return'/],
    ["stray character", fn("  %0 = neg %x # : f32[2]"), 2, 15, /unexpected character "#"/],
    ["text after the funcs", lines("func @f() -> () {", "  return", "}", "%x"), 4, 1, /expected 'func' or end of input/],
    ["return count", "func @f(%x: f32[2]) -> (f32[2], f32[2]) {\n  return %x\n}\n", 2, 3, /return gives 1 value/],
    ["return type", "func @f(%x: f32[2]) -> (f32[3]) {\n  return %x\n}\n", 2, 10, /%x is f32\[2\].*f32\[3\]/],
    ["bad loc line", fn('  %0 = neg %x : f32[2]  loc("a":-1:2)'), 2, 33, /expected a line number/],
  ];

  test.each(cases)("%s", (_what, text, line, col, message) => {
    const e = parseError(text);
    expect([e.line, e.col]).toEqual([line, col]);
    expect(e.message).toMatch(message);
    expect(e.message.startsWith(`${line}:${col}: `)).toBe(true);
  });

  test("parseFunc takes exactly one func", () => {
    const one = "func @f() -> () {\n  return\n}\n";
    expect(parseFunc(one).name).toBe("f");
    expect(() => parseFunc("")).toThrow(/1:1: expected exactly one func, found 0/);
    expect(() => parseFunc(one + "\n" + one.replace("@f", "@g"))).toThrow(/5:6: expected exactly one func, found 2/);
  });

  test("well-formed IR that breaks a typing rule is a VerifyError", () => {
    const text = fn("  %0 = add %x, %i : f32[2]");
    expect(() => parseModule(text)).toThrow(VerifyError);
    expect(() => parseModule(text)).toThrow(/add: .*differ in dtype/);
    expect(() => parseModule(fn("  %0 = neg %x : f32[3]"))).toThrow(/neg: op #0 is declared f32\[3\]/);
  });
});
