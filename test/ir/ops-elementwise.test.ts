import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Attrs,
  type DType,
  DTypeError,
  type OpName,
  registry,
  ShapeError,
  type Tensor,
} from "../../src/ir/index.js";
import type { InterpContext } from "../../src/ir/opdef.js";
import { elementwiseOps } from "../../src/ir/ops/elementwise.js";
import { runOp, t, vals } from "../support/runOp.js";

type NoAttrOp = Exclude<keyof typeof elementwiseOps, "convert">;

const F64: InterpContext = { mode: "float64" };
const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const U32_MAX = 4294967295;

/** Run an attribute-free elementwise op. */
const run = (op: NoAttrOp, operands: readonly Tensor[], ctx?: InterpContext): Tensor =>
  runOp(op, {} as Attrs[typeof op], operands, ctx);

const convert = (x: Tensor, dtype: DType, ctx?: InterpContext): Tensor => runOp("convert", { dtype }, [x], ctx);

/** A tensor holding exactly these doubles (no rounding to the dtype), for float64 mode. */
const raw = (dtype: DType, values: readonly number[]): Tensor => ({
  type: { dtype, shape: [values.length] },
  data: Float64Array.from(values),
});

const v1 = (dtype: DType, values: readonly number[]): Tensor => t(dtype, [values.length], values);

/** Values of a one-operand op on a 1-D tensor. */
const un = (op: NoAttrOp, dtype: DType, xs: readonly number[], ctx?: InterpContext): number[] =>
  vals(run(op, [v1(dtype, xs)], ctx));

/** Values of a two-operand op on 1-D tensors. */
const bin = (op: NoAttrOp, dtype: DType, xs: readonly number[], ys: readonly number[], ctx?: InterpContext) =>
  vals(run(op, [v1(dtype, xs), v1(dtype, ys)], ctx));

function expectClose(got: readonly number[], want: readonly number[], rel = 1e-15): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    if (w === 0) expect(g).toBe(0);
    else expect(Math.abs(g - w) / Math.abs(w)).toBeLessThanOrEqual(rel);
  });
}

const FLOAT_ONLY: NoAttrOp[] = [
  "exp",
  "log",
  "log1p",
  "expm1",
  "sin",
  "cos",
  "tanh",
  "logistic",
  "sqrt",
  "rsqrt",
  "erf",
];
const COMPARISONS: NoAttrOp[] = ["eq", "ne", "lt", "le", "gt", "ge"];

describe("registry entries", () => {
  it("are all elementwise, named by their key, with the right arity and attribute schema", () => {
    const names = Object.keys(elementwiseOps) as (keyof typeof elementwiseOps)[];
    expect(names).toHaveLength(36);
    for (const name of names) {
      const def = registry[name as OpName];
      expect(def.name).toBe(name);
      expect(def.fusion).toBe("elementwise");
      expect(def.attrs).toEqual(name === "convert" ? { dtype: "dtype" } : {});
    }
    expect(registry.exp.arity).toBe(1);
    expect(registry.add.arity).toBe(2);
    expect(registry.ge.arity).toBe(2);
    expect(registry.select.arity).toBe(3);
    expect(registry.convert.arity).toBe(1);
    expect(registry.stop_gradient.arity).toBe(1);
  });
});

describe("float functions", () => {
  it("give the known values in float64 mode", () => {
    expectClose(un("exp", "float32", [0, 1, -1], F64), [1, 2.718281828459045, 0.36787944117144233]);
    expectClose(un("log", "float32", [1, 2, 0.5], F64), [0, 0.6931471805599453, -0.6931471805599453]);
    expectClose(vals(run("log1p", [raw("float32", [1e-10, 1])], F64)), [9.9999999995e-11, 0.6931471805599453]);
    expectClose(vals(run("expm1", [raw("float32", [1e-10, 1])], F64)), [1.00000000005e-10, 1.718281828459045]);
    expectClose(un("sin", "float32", [0, 1], F64), [0, 0.8414709848078965]);
    expectClose(un("cos", "float32", [0, 1], F64), [1, 0.5403023058681398]);
    expectClose(un("tanh", "float32", [0, 1, 0.5], F64), [0, 0.7615941559557649, 0.46211715726000974]);
    expectClose(un("logistic", "float32", [0, 1], F64), [0.5, 0.7310585786300049]);
    expectClose(vals(run("logistic", [raw("float32", [Math.log(3)])], F64)), [0.75], 1e-15);
    expectClose(un("sqrt", "float32", [4, 2], F64), [2, 1.4142135623730951]);
    expectClose(un("rsqrt", "float32", [4, 2], F64), [0.5, 0.7071067811865476], 2e-16);
    expectClose(un("erf", "float32", [0.5, -1], F64), [0.5204998778130465, -0.8427007929497149]);
  });

  it("round to float32, float16 and bfloat16 in dtype mode", () => {
    // float32(e) = 0x402df854, float32(sqrt 2) = 0x3fb504f3.
    expect(un("exp", "float32", [1])).toEqual([2.7182817459106445]);
    expect(un("sqrt", "float32", [2])).toEqual([1.4142135381698608]);
    // e = 2.71828...: float16 steps by 2^-9 and bfloat16 by 2^-6 in [2, 4); both land on 2.71875.
    expect(un("exp", "float16", [1])).toEqual([2.71875]);
    expect(un("exp", "bfloat16", [1])).toEqual([2.71875]);
    // sqrt 2 = 1.41421...: 1448/1024 in float16, 181/128 in bfloat16.
    expect(un("sqrt", "float16", [2])).toEqual([1.4140625]);
    expect(un("sqrt", "bfloat16", [2])).toEqual([1.4140625]);
  });

  it("follow IEEE at infinities, zeros and out-of-domain inputs", () => {
    const inf = Infinity;
    expect(un("exp", "float32", [inf, -inf, NaN])).toEqual([inf, 0, NaN]);
    expect(un("log", "float32", [0, -0, -1, inf, NaN])).toEqual([-inf, -inf, NaN, inf, NaN]);
    expect(un("log1p", "float32", [-1, -2, inf])).toEqual([-inf, NaN, inf]);
    expect(un("expm1", "float32", [-inf, inf])).toEqual([-1, inf]);
    expect(un("sqrt", "float32", [-1, inf, -0])).toEqual([NaN, inf, -0]);
    expect(un("rsqrt", "float32", [0, inf, -1])).toEqual([inf, 0, NaN]);
    expect(un("tanh", "float32", [inf, -inf, NaN])).toEqual([1, -1, NaN]);
    expect(un("logistic", "float32", [inf, -inf, -1000, NaN])).toEqual([1, 0, 0, NaN]);
    expect(un("sin", "float32", [inf, NaN])).toEqual([NaN, NaN]);
    expect(un("cos", "float32", [-inf])).toEqual([NaN]);
    expect(un("erf", "float32", [inf, -inf, NaN, -0])).toEqual([1, -1, NaN, -0]);
  });

  it("overflow to infinity in the result dtype but not in float64 mode", () => {
    // e^89 = 4.49e38 exceeds float32's 3.40e38; e^12 = 162754.8 exceeds float16's 65504.
    expect(un("exp", "float32", [89])).toEqual([Infinity]);
    expect(un("exp", "float16", [12])).toEqual([Infinity]);
    expect(un("exp", "bfloat16", [12])).toEqual([162816]); // 162754.8 in steps of 2^10: 159 * 1024
    expectClose(un("exp", "float32", [89], F64), [4.4896128191743455e38], 1e-15);
  });
});

describe("integer-capable unary ops", () => {
  it("neg wraps int32 min and uint32", () => {
    expect(un("neg", "int32", [5, I32_MIN, 0, I32_MAX])).toEqual([-5, I32_MIN, 0, -I32_MAX]);
    expect(un("neg", "uint32", [5, 0, U32_MAX])).toEqual([4294967291, 0, 1]);
    expect(un("neg", "float32", [1.5, -0, Infinity, NaN])).toEqual([-1.5, 0, -Infinity, NaN]);
  });

  it("abs keeps int32 min and clears the sign of floats", () => {
    expect(un("abs", "int32", [-3, 3, I32_MIN, 0])).toEqual([3, 3, I32_MIN, 0]);
    expect(un("abs", "uint32", [U32_MAX, 2])).toEqual([U32_MAX, 2]);
    expect(un("abs", "float32", [-0, -Infinity, NaN, -2.5])).toEqual([0, Infinity, NaN, 2.5]);
  });

  it("sign is -1, 0 or 1, NaN for NaN, and keeps signed zeros", () => {
    expect(un("sign", "float32", [-2.5, 0, -0, 3, NaN, -Infinity])).toEqual([-1, 0, -0, 1, NaN, -1]);
    expect(un("sign", "int32", [-7, 0, 9, I32_MIN])).toEqual([-1, 0, 1, -1]);
    expect(un("sign", "uint32", [0, U32_MAX])).toEqual([0, 1]);
  });

  it("floor and ceil round toward -inf and +inf, identity on integers", () => {
    expect(un("floor", "float32", [-1.5, 1.5, -0.5, 2, -0])).toEqual([-2, 1, -1, 2, -0]);
    expect(un("ceil", "float32", [-1.5, 1.5, -0.5, 2, Infinity])).toEqual([-1, 2, -0, 2, Infinity]);
    expect(un("floor", "int32", [-3, 4, I32_MIN])).toEqual([-3, 4, I32_MIN]);
    expect(un("ceil", "uint32", [U32_MAX, 0])).toEqual([U32_MAX, 0]);
  });

  it("round is half to even", () => {
    expect(un("round", "float32", [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6, -0.2])).toEqual([
      0, 2, 2, -0, -2, -2, 2, 3, -3, -0,
    ]);
    // The float32 just below 0.5 (0.5 - 2^-25) rounds down; 2^23 + 1 is already integral.
    expect(un("round", "float32", [0.5 - 2 ** -25, 2 ** 23 + 1, NaN, -Infinity])).toEqual([
      0,
      2 ** 23 + 1,
      NaN,
      -Infinity,
    ]);
    expect(un("round", "int32", [-3, 7])).toEqual([-3, 7]);
  });

  it("not is logical on bool and bitwise on integers", () => {
    expect(un("not", "bool", [0, 1])).toEqual([1, 0]);
    expect(un("not", "int32", [0, -1, 5, I32_MAX])).toEqual([-1, 0, -6, I32_MIN]);
    expect(un("not", "uint32", [0, U32_MAX, 5])).toEqual([U32_MAX, 0, 4294967290]);
  });

  it("stop_gradient is the identity on every dtype", () => {
    expect(un("stop_gradient", "bool", [1, 0])).toEqual([1, 0]);
    expect(un("stop_gradient", "float32", [NaN, -0, 1.5])).toEqual([NaN, -0, 1.5]);
    expect(un("stop_gradient", "uint32", [U32_MAX])).toEqual([U32_MAX]);
  });
});

describe("arithmetic", () => {
  it("add and sub: IEEE on floats, wrapping on integers", () => {
    const inf = Infinity;
    expect(bin("add", "float32", [1, 0.5, inf, inf, -0], [2, 0.25, -inf, 1, -0])).toEqual([3, 0.75, NaN, inf, -0]);
    expect(bin("add", "int32", [I32_MAX, I32_MIN, 5], [1, -1, -7])).toEqual([I32_MIN, I32_MAX, -2]);
    expect(bin("add", "uint32", [U32_MAX, 3], [1, 4])).toEqual([0, 7]);
    expect(bin("sub", "int32", [I32_MIN, 3], [1, 5])).toEqual([I32_MAX, -2]);
    expect(bin("sub", "uint32", [0, 7], [1, 3])).toEqual([U32_MAX, 4]);
    expect(bin("sub", "float32", [1, inf], [1, inf])).toEqual([0, NaN]);
  });

  it("mul keeps the low 32 bits of integer products beyond 2^53", () => {
    // 46341^2 = 2147488281 = 2^32 - 2147479015; (2^31 - 1)^2 = 2^62 - 2^32 + 1.
    expect(bin("mul", "int32", [65536, 46341, I32_MAX, I32_MIN, -3], [65536, 46341, I32_MAX, -1, 7])).toEqual([
      0, -2147479015, 1, I32_MIN, -21,
    ]);
    // (2^32 - 1)^2 = 2^64 - 2^33 + 1; 65536 * 65537 = 2^32 + 2^16.
    expect(bin("mul", "uint32", [U32_MAX, 65536, 3], [U32_MAX, 65537, 5])).toEqual([1, 65536, 15]);
    expect(bin("mul", "float32", [3, -1, 0], [0.5, 0, Infinity])).toEqual([1.5, -0, NaN]);
  });

  it("div truncates integers, gives 0 for division by zero and int32 min for int32 min / -1", () => {
    expect(bin("div", "int32", [7, -7, 7, -7, 5, I32_MIN, 0, -5], [2, 2, -2, -2, 0, -1, 3, 0])).toEqual([
      3, -3, -3, 3, 0, I32_MIN, 0, 0,
    ]);
    expect(bin("div", "uint32", [U32_MAX, 7, 7], [2, 0, 7])).toEqual([2147483647, 0, 1]);
    // float32(1/3) = 0x3eaaaaab = 11184811 / 2^25.
    expect(bin("div", "float32", [1, -1, 0, 1, 6], [0, 0, 0, 3, -2])).toEqual([
      Infinity,
      -Infinity,
      NaN,
      0.3333333432674408,
      -3,
    ]);
  });

  it("pow on integers multiplies with wrap; negative exponents give 0 except for bases 1 and -1", () => {
    const base = [2, 3, 0, 2, 2, -2, 3, 1, -1, -1, 0, 5, 3, 3];
    const exponent = [10, 0, 0, 31, 32, 3, -1, -5, -3, -2, -1, 2, 20, 21];
    // 3^20 = 3486784401 and 3^21 = 10460353203, less 1 and 2 times 2^32.
    expect(bin("pow", "int32", base, exponent)).toEqual([
      1024, 1, 1, I32_MIN, 0, -8, 0, 1, -1, 1, 0, 25, 3486784401 - 2 ** 32, 10460353203 - 2 * 2 ** 32,
    ]);
    // 3 has order 2^30 modulo 2^32, so 3^(2^32 - 1) = 3^-1 = 0xaaaaaaab (3 * 0xaaaaaaab = 2^33 + 1).
    expect(bin("pow", "uint32", [3, 2, 3, 7], [U32_MAX, U32_MAX, 20, 0])).toEqual([0xaaaaaaab, 0, 3486784401, 1]);
  });

  it("pow on floats follows C's pow", () => {
    expect(bin("pow", "float32", [2, 4, -8, 0, -2, 9], [0.5, -0.5, 1 / 3, -1, 3, 0])).toEqual([
      1.4142135381698608,
      0.5,
      NaN,
      Infinity,
      -8,
      1,
    ]);
    const inf = Infinity;
    expect(bin("pow", "float32", [1, 1, -1, -1, NaN, -1], [NaN, inf, inf, -inf, 0, NaN])).toEqual([1, 1, 1, 1, 1, NaN]);
  });

  it("max and min propagate NaN and work on integers and bools", () => {
    const inf = Infinity;
    expect(bin("max", "float32", [1, NaN, 3, -inf, 2], [2, 5, NaN, 0, 2])).toEqual([2, NaN, NaN, 0, 2]);
    expect(bin("min", "float32", [1, NaN, 3, -inf, 2], [2, 5, NaN, 0, 2])).toEqual([1, NaN, NaN, -inf, 2]);
    expect(bin("max", "int32", [-5, 7], [3, -9])).toEqual([3, 7]);
    expect(bin("min", "uint32", [U32_MAX, 0], [1, 0])).toEqual([1, 0]);
    expect(bin("max", "bool", [0, 0, 1, 1], [0, 1, 0, 1])).toEqual([0, 1, 1, 1]);
    expect(bin("min", "bool", [0, 0, 1, 1], [0, 1, 0, 1])).toEqual([0, 0, 0, 1]);
  });

  it("and and or are logical on bool and bitwise on integers", () => {
    expect(bin("and", "bool", [0, 0, 1, 1], [0, 1, 0, 1])).toEqual([0, 0, 0, 1]);
    expect(bin("or", "bool", [0, 0, 1, 1], [0, 1, 0, 1])).toEqual([0, 1, 1, 1]);
    expect(bin("and", "int32", [12, -1, I32_MIN], [10, 5, 1])).toEqual([8, 5, 0]);
    expect(bin("or", "int32", [12, -1, I32_MIN], [10, 5, 1])).toEqual([14, -1, I32_MIN + 1]);
    expect(bin("and", "uint32", [0xf0f0f0f0, U32_MAX], [0xff00ff00, 1])).toEqual([0xf000f000, 1]);
    expect(bin("or", "uint32", [0xf0f0f0f0, U32_MAX], [0xff00ff00, 1])).toEqual([0xfff0fff0, U32_MAX]);
  });
});

describe("comparisons", () => {
  const a = [1, 2, NaN, NaN, -0, Infinity];
  const b = [2, 2, 1, NaN, 0, Infinity];
  it.each([
    ["eq", [0, 1, 0, 0, 1, 1]],
    ["ne", [1, 0, 1, 1, 0, 0]],
    ["lt", [1, 0, 0, 0, 0, 0]],
    ["le", [1, 1, 0, 0, 1, 1]],
    ["gt", [0, 0, 0, 0, 0, 0]],
    ["ge", [0, 1, 0, 0, 1, 1]],
  ] as const)("%s on floats is IEEE (NaN unordered) and gives bool", (op, want) => {
    const r = run(op, [v1("float32", a), v1("float32", b)]);
    expect(r.type).toEqual({ dtype: "bool", shape: [6] });
    expect(vals(r)).toEqual(want);
  });

  it("compare integers by value and bools as 0 < 1", () => {
    expect(bin("gt", "uint32", [U32_MAX, 0], [1, 0])).toEqual([1, 0]);
    expect(bin("lt", "int32", [-1, I32_MAX], [0, I32_MIN])).toEqual([1, 0]);
    expect(bin("eq", "bool", [0, 1], [0, 0])).toEqual([1, 0]);
    expect(bin("lt", "bool", [0, 1], [1, 1])).toEqual([1, 0]);
  });
});

describe("select", () => {
  it("takes a where cond is true and b elsewhere", () => {
    const cond = v1("bool", [1, 0, 1, 0]);
    const r = run("select", [cond, v1("float32", [1, 2, 3, NaN]), v1("float32", [10, 20, 30, 40])]);
    expect(r.type).toEqual({ dtype: "float32", shape: [4] });
    expect(vals(r)).toEqual([1, 20, 3, 40]);
    expect(vals(run("select", [v1("bool", [0, 1]), v1("int32", [I32_MIN, 1]), v1("int32", [7, 8])]))).toEqual([7, 1]);
  });
});

describe("convert", () => {
  it("float to integer truncates and saturates; NaN gives 0", () => {
    const xs = [1.9, -1.9, NaN, Infinity, -Infinity, 3e9, -3e9, -0.5, 2 ** 31, -(2 ** 31)];
    const r = convert(v1("float32", xs), "int32");
    expect(r.type).toEqual({ dtype: "int32", shape: [10] });
    expect(vals(r)).toEqual([1, -1, 0, I32_MAX, I32_MIN, I32_MAX, I32_MIN, 0, I32_MAX, I32_MIN]);
    // 2^32 - 256 is the largest float32 below 2^32.
    expect(vals(convert(v1("float32", [-1, 3.7, 5e9, NaN, Infinity, -Infinity, 2 ** 32 - 256]), "uint32"))).toEqual([
      0,
      3,
      U32_MAX,
      0,
      U32_MAX,
      0,
      2 ** 32 - 256,
    ]);
    expect(vals(convert(v1("float16", [65504, -2.5]), "int32"))).toEqual([65504, -2]);
  });

  it("integer to integer keeps the bit pattern", () => {
    expect(vals(convert(v1("int32", [-1, I32_MIN, 7]), "uint32"))).toEqual([U32_MAX, 2 ** 31, 7]);
    expect(vals(convert(v1("uint32", [U32_MAX, 2 ** 31, I32_MAX]), "int32"))).toEqual([-1, I32_MIN, I32_MAX]);
  });

  it("to bool is x != 0 (NaN is true); from bool is 0 or 1", () => {
    expect(vals(convert(v1("float32", [0, -0, NaN, 2, 0.1, -Infinity]), "bool"))).toEqual([0, 0, 1, 1, 1, 1]);
    expect(vals(convert(v1("int32", [0, -5]), "bool"))).toEqual([0, 1]);
    expect(vals(convert(v1("bool", [1, 0]), "float32"))).toEqual([1, 0]);
    expect(vals(convert(v1("bool", [1, 0]), "uint32"))).toEqual([1, 0]);
  });

  it("to a float rounds to nearest even", () => {
    // float16: 1/3 -> 0x3555; 65519 < 65520 (the midpoint to 2^16) -> 65504; 1e-7 = 1.68 * 2^-24.
    expect(vals(convert(v1("float32", [1 / 3, 70000, 65519, 1e-8, 1e-7]), "float16"))).toEqual([
      0.333251953125,
      Infinity,
      65504,
      0,
      2 * 2 ** -24,
    ]);
    // bfloat16: 1/3 -> 0x3eab; float32 max is past bfloat16's midpoint (2 - 2^-8) * 2^127.
    expect(vals(convert(v1("float32", [1 / 3, 3.4028234663852886e38]), "bfloat16"))).toEqual([0.333984375, Infinity]);
    // 2^24 + 1 ties between 2^24 and 2^24 + 2; 2049 ties between 2048 and 2050 in float16.
    expect(vals(convert(v1("int32", [2 ** 24 + 1, I32_MAX]), "float32"))).toEqual([2 ** 24, 2 ** 31]);
    expect(vals(convert(v1("int32", [65519, 70000, 2049]), "float16"))).toEqual([65504, Infinity, 2048]);
    expect(vals(convert(v1("float16", [0.333251953125]), "float32"))).toEqual([0.333251953125]);
  });

  it("keeps floats exact in float64 mode but still truncates to integers", () => {
    expect(vals(convert(raw("float32", [1 / 3]), "float16", F64))).toEqual([1 / 3]);
    expect(vals(convert(raw("float32", [2.75, 1e10]), "int32", F64))).toEqual([2, I32_MAX]);
  });
});

describe("result rounding", () => {
  it("float16 rounds each result to nearest even, with subnormals and overflow", () => {
    // 1 + 2^-11 ties to 1; 1 + 2^-10 + 2^-11 ties to 1 + 2^-9 (even mantissa); 65504 + 16 = 65520
    // ties between 65504 and 2^16, whose even side is past the maximum: infinity.
    const a = [1, 1 + 2 ** -10, 65504, 65504, 2 ** -14];
    const b = [2 ** -11, 2 ** -11, 16, 8, -(2 ** -24)];
    expect(bin("add", "float16", a, b)).toEqual([1, 1 + 2 ** -9, Infinity, 65504, 2 ** -14 - 2 ** -24]);
    // 2^-25 is half the smallest subnormal (ties to 0); 3 * 2^-25 ties to 2 * 2^-24.
    const small = 2 ** -14;
    expect(bin("mul", "float16", [256, small, small, small], [256, 2 ** -10, 2 ** -11, 3 * 2 ** -11])).toEqual([
      Infinity,
      2 ** -24,
      0,
      2 ** -23,
    ]);
    expect(bin("div", "float16", [1], [3])).toEqual([0.333251953125]);
  });

  it("bfloat16 rounds to 8 significant bits", () => {
    // Steps of 2^-7 above 1 and of 2 above 256.
    const half = 2 ** -8;
    expect(bin("add", "bfloat16", [1, 1 + 2 ** -7, 256, 258], [half, half, 1, 1])).toEqual([1, 1 + 2 ** -6, 256, 260]);
    const tiny = 2 ** -126;
    expect(bin("mul", "bfloat16", [2 ** 127, tiny, tiny], [2, 2 ** -7, 2 ** -8])).toEqual([Infinity, 2 ** -133, 0]);
  });

  it("float64 mode keeps float results exact; integers still wrap", () => {
    expect(bin("add", "float32", [1], [1e-8])).toEqual([1]);
    expectClose(vals(run("add", [raw("float32", [1]), raw("float32", [1e-8])], F64)), [1.00000001]);
    // (1 + 2^-23)^2 = 1 + 2^-22 + 2^-46: float32 drops 2^-46, a double keeps it.
    const x = 1 + 2 ** -23;
    expect(bin("mul", "float32", [x], [x])).toEqual([1 + 2 ** -22]);
    expect(bin("mul", "float32", [x], [x], F64)).toEqual([1 + 2 ** -22 + 2 ** -46]);
    expect(bin("add", "float16", [1], [2 ** -11], F64)).toEqual([1.00048828125]);
    expect(bin("add", "int32", [I32_MAX], [1], F64)).toEqual([I32_MIN]);
    expect(bin("mul", "uint32", [U32_MAX], [U32_MAX], F64)).toEqual([1]);
  });
});

describe("shapes", () => {
  it("handle empty arrays", () => {
    const e = t("float32", [0], []);
    expect(run("add", [e, e]).type).toEqual({ dtype: "float32", shape: [0] });
    expect(vals(run("add", [e, e]))).toEqual([]);
    expect(run("exp", [t("float32", [2, 0], [])]).type.shape).toEqual([2, 0]);
    expect(run("eq", [e, e]).type).toEqual({ dtype: "bool", shape: [0] });
    expect(vals(run("select", [t("bool", [0], []), e, e]))).toEqual([]);
    expect(convert(t("float32", [3, 0], []), "int32").type).toEqual({ dtype: "int32", shape: [3, 0] });
  });

  it("handle scalars and size-1 dims", () => {
    const r = run("add", [t("float32", [], [2]), t("float32", [], [3])]);
    expect(r.type).toEqual({ dtype: "float32", shape: [] });
    expect(vals(r)).toEqual([5]);
    const s = run("sub", [t("int32", [1, 1, 1], [4]), t("int32", [1, 1, 1], [9])]);
    expect(s.type.shape).toEqual([1, 1, 1]);
    expect(vals(s)).toEqual([-5]);
    expect(vals(run("mul", [t("float32", [2, 1], [1, 2]), t("float32", [2, 1], [3, 4])]))).toEqual([3, 8]);
  });
});

describe("type errors", () => {
  it("float functions reject integers and bools, naming the op and the operand type", () => {
    for (const op of FLOAT_ONLY) {
      expect(() => run(op, [v1("int32", [1, 2])])).toThrow(DTypeError);
      expect(() => run(op, [v1("int32", [1, 2])])).toThrow(`${op}: takes float operands, got i32[2]`);
      expect(() => run(op, [v1("bool", [1])])).toThrow(`${op}: takes float operands, got bool[1]`);
    }
  });

  it("numeric ops reject bool", () => {
    for (const op of ["neg", "abs", "sign", "floor", "ceil", "round"] as const) {
      const want = new DTypeError("takes numeric (not bool) operands, got bool[1]", { op });
      expect(() => run(op, [v1("bool", [1])])).toThrow(want);
    }
    for (const op of ["add", "sub", "mul", "div", "pow"] as const) {
      expect(() => run(op, [v1("bool", [1, 0]), v1("bool", [1, 1])])).toThrow(
        `${op}: takes numeric (not bool) operands, got bool[2] and bool[2]`,
      );
    }
  });

  it("logical ops reject floats", () => {
    expect(() => run("not", [t("float32", [3], [1, 2, 3])])).toThrow("not: takes bool or integer operands, got f32[3]");
    expect(() => run("and", [v1("float16", [1]), v1("float16", [1])])).toThrow(DTypeError);
    expect(() => run("or", [v1("bfloat16", [1]), v1("bfloat16", [1])])).toThrow(
      "or: takes bool or integer operands, got bf16[1] and bf16[1]",
    );
  });

  it("binary ops and comparisons need one dtype and one shape", () => {
    expect(() => run("add", [v1("float32", [1, 2]), v1("int32", [1, 2])])).toThrow(
      new DTypeError("operands f32[2] and i32[2] differ in dtype", { op: "add" }),
    );
    expect(() => run("add", [t("float32", [2, 3], [1, 2, 3, 4, 5, 6]), v1("float32", [1, 2, 3])])).toThrow(
      new ShapeError("operands f32[2,3] and f32[3] differ in shape", { op: "add" }),
    );
    for (const op of COMPARISONS) {
      expect(() => run(op, [v1("float32", [1]), v1("float16", [1])])).toThrow(
        `${op}: operands f32[1] and f16[1] differ in dtype`,
      );
      expect(() => run(op, [v1("int32", [1]), v1("int32", [1, 2])])).toThrow(ShapeError);
    }
    expect(() => run("max", [t("bool", [1, 2], [1, 0]), t("bool", [2, 1], [1, 0])])).toThrow(
      "max: operands bool[1,2] and bool[2,1] differ in shape",
    );
  });

  it("select needs a bool condition and operands of one dtype and shape", () => {
    const f = v1("float32", [1, 2]);
    expect(() => run("select", [f, f, f])).toThrow(DTypeError);
    expect(() => run("select", [f, f, f])).toThrow("select: condition f32[2] must be bool");
    expect(() => run("select", [v1("bool", [1, 0]), f, v1("int32", [1, 2])])).toThrow(
      "select: operands f32[2] and i32[2] differ in dtype",
    );
    expect(() => run("select", [v1("bool", [1, 0]), v1("float32", [1, 2, 3]), v1("float32", [1, 2, 3])])).toThrow(
      new ShapeError("operands bool[2], f32[3] and f32[3] differ in shape", { op: "select" }),
    );
  });

  it("convert rejects an unknown target dtype", () => {
    const bad = { dtype: "float64" } as unknown as Attrs["convert"];
    expect(() => runOp("convert", bad, [v1("float32", [1])])).toThrow(DTypeError);
    expect(() => runOp("convert", bad, [v1("float32", [1])])).toThrow(
      "convert: target dtype float64 of f32[1] is not a dtype",
    );
  });
});

describe("laws", () => {
  const i32 = fc.integer({ min: I32_MIN, max: I32_MAX });
  const u32 = fc.integer({ min: 0, max: U32_MAX });
  const pairs = (arb: fc.Arbitrary<number>) => fc.array(fc.tuple(arb, arb), { maxLength: 20 });
  const split = (ps: readonly (readonly [number, number])[]): [number[], number[]] => [
    ps.map((p) => p[0]),
    ps.map((p) => p[1]),
  ];

  it("sub(a, b) = add(a, neg(b)) exactly on int32 and uint32", () => {
    for (const [dtype, arb] of [
      ["int32", i32],
      ["uint32", u32],
    ] as const) {
      fc.assert(
        fc.property(pairs(arb), (ps) => {
          const [a, b] = split(ps);
          const nb = vals(run("neg", [v1(dtype, b)]));
          expect(bin("sub", dtype, a, b)).toEqual(bin("add", dtype, a, nb));
        }),
      );
    }
  });

  it("int32 add, sub, mul and div agree with BigInt arithmetic modulo 2^32", () => {
    const wrap = (x: bigint): number => Number(BigInt.asIntN(32, x));
    fc.assert(
      fc.property(pairs(i32), (ps) => {
        const [a, b] = split(ps);
        const A = a.map(BigInt);
        const B = b.map(BigInt);
        expect(bin("add", "int32", a, b)).toEqual(A.map((x, i) => wrap(x + B[i]!)));
        expect(bin("sub", "int32", a, b)).toEqual(A.map((x, i) => wrap(x - B[i]!)));
        expect(bin("mul", "int32", a, b)).toEqual(A.map((x, i) => wrap(x * B[i]!)));
        // BigInt division truncates toward zero.
        expect(bin("div", "int32", a, b)).toEqual(A.map((x, i) => (B[i] === 0n ? 0 : wrap(x / B[i]!))));
      }),
    );
  });

  it("uint32 mul and pow agree with BigInt arithmetic modulo 2^32", () => {
    const wrap = (x: bigint): number => Number(BigInt.asUintN(32, x));
    fc.assert(
      fc.property(pairs(u32), fc.array(fc.tuple(u32, fc.integer({ min: 0, max: 64 })), { maxLength: 10 }), (ps, qs) => {
        const [a, b] = split(ps);
        expect(bin("mul", "uint32", a, b)).toEqual(a.map((x, i) => wrap(BigInt(x) * BigInt(b[i]!))));
        const [base, e] = split(qs);
        expect(bin("pow", "uint32", base, e)).toEqual(base.map((x, i) => wrap(BigInt(x) ** BigInt(e[i]!))));
      }),
    );
  });

  it("int32 pow agrees with BigInt powers modulo 2^32", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(i32, fc.integer({ min: 0, max: 70 })), { maxLength: 10 }), (qs) => {
        const [base, e] = split(qs);
        const want = base.map((x, i) => Number(BigInt.asIntN(32, BigInt(x) ** BigInt(e[i]!))));
        expect(bin("pow", "int32", base, e)).toEqual(want);
      }),
    );
  });

  it("eq and ne are complementary, NaN included", () => {
    const f32 = fc.float();
    fc.assert(
      fc.property(pairs(f32), (ps) => {
        const [a, b] = split(ps);
        const eq = bin("eq", "float32", a, b);
        const ne = bin("ne", "float32", a, b);
        expect(ne).toEqual(eq.map((x) => 1 - x));
      }),
    );
  });

  it("max and min of non-NaN floats return the two operands", () => {
    const f32 = fc.float({ noNaN: true });
    fc.assert(
      fc.property(pairs(f32), (ps) => {
        const [a, b] = split(ps);
        const hi = bin("max", "float32", a, b);
        const lo = bin("min", "float32", a, b);
        // Zeros compare equal, so max(-0, 0) may be either: compare them unsigned (z + 0).
        const sorted = (xs: number[]) => xs.map((z) => z + 0).sort((x, y) => x - y);
        hi.forEach((h, i) => {
          expect(sorted([h, lo[i]!])).toEqual(sorted([a[i]!, b[i]!]));
          expect(h >= lo[i]!).toBe(true);
        });
      }),
    );
  });

  it("select(c, a, b) = select(not c, b, a)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.float(), fc.float()), { maxLength: 20 }), (rows) => {
        const c = v1(
          "bool",
          rows.map((r) => (r[0] ? 1 : 0)),
        );
        const a = v1(
          "float32",
          rows.map((r) => r[1]),
        );
        const b = v1(
          "float32",
          rows.map((r) => r[2]),
        );
        const notC = run("not", [c]);
        expect(vals(run("select", [c, a, b]))).toEqual(vals(run("select", [notC, b, a])));
      }),
    );
  });

  it("round sends k + 1/2 to the even one of k and k + 1", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 21), max: 2 ** 21 }), (k) => {
        const [r] = un("round", "float32", [k + 0.5]);
        expect(r! % 2 === 0).toBe(true);
        expect(r === k || r === k + 1).toBe(true);
      }),
    );
  });

  it("int32 -> uint32 -> int32 is the identity", () => {
    fc.assert(
      fc.property(fc.array(i32, { maxLength: 20 }), (xs) => {
        const back = convert(convert(v1("int32", xs), "uint32"), "int32");
        expect(vals(back)).toEqual(xs);
      }),
    );
  });
});
