// Scalar expressions in the dialect: literals, conversions, and one rendering per scalar op,
// each implementing docs/ir.md exactly (NaN-propagating max/min, integer division by zero is 0,
// saturating float-to-int, round half to even, ...). Operands are always atoms (names or
// literals), so an operand may appear twice in a rendering. What one expression cannot say is a
// helper function in the library prelude, emitted only when used.
import { type DType, type Expr, isFloat, roundTo } from "../ir/index.js";
import type { Dialect } from "./dialect.js";

// ---------------------------------------------------------------- literals

/** The shortest decimal (1 to 17 digits) that `round` maps back to `v`. */
function shortest(v: number, round: (x: number) => number): string {
  for (let p = 1; p < 17; p++) {
    const s = v.toPrecision(p);
    if (round(Number(s)) === v) return s;
  }
  return v.toPrecision(17);
}

/** A decimal with a point or an exponent, so that a suffix makes it a float literal. */
const floatDigits = (s: string): string => (/[.e]/.test(s) ? s : `${s}.0`);

const neg = (s: string, negative: boolean): string => (negative ? `(${s})` : s);

function float32Literal(d: Dialect, value: number): string {
  const v = Math.fround(value);
  if (Number.isNaN(v)) return d.nan;
  if (v === Infinity) return d.infinity;
  if (v === -Infinity) return `(-${d.infinity})`;
  if (Object.is(v, -0)) return `(-0.0${d.floatSuffix.float32})`;
  return neg(floatDigits(shortest(v, Math.fround)) + d.floatSuffix.float32, v < 0);
}

function float16Literal(d: Dialect, value: number): string {
  const v = roundTo("float16", value);
  const t = d.types.float16;
  if (Number.isNaN(v)) return `${t}(${d.nan})`;
  if (Math.abs(v) === Infinity) return `${t}(${float32Literal(d, v)})`;
  if (Object.is(v, -0)) return `(-0.0${d.floatSuffix.float16})`;
  return neg(floatDigits(shortest(v, (x) => roundTo("float16", x))) + d.floatSuffix.float16, v < 0);
}

/** A constant of `dtype` (the value is rounded to it first, as the interpreter does). */
export function literal(d: Dialect, given: number, dtype: DType): string {
  // Fusion reads element 0 of a constant's data even for an empty constant (whose loads never
  // run): such a constant has no value, and any literal will do.
  const value = typeof given === "number" ? given : 0;
  switch (dtype) {
    case "bool":
      return value !== 0 ? "true" : "false";
    case "int32": {
      const v = roundTo("int32", value);
      // -2147483648 is not a literal in C: it is the negation of a literal too large for int.
      if (v === -2147483648) return "(-2147483647 - 1)";
      return neg(String(v), v < 0);
    }
    case "uint32":
      return `${roundTo("uint32", value)}${d.unsignedSuffix}`;
    case "float32":
      return float32Literal(d, value);
    case "float16":
      return float16Literal(d, value);
    case "bfloat16":
      // Every bfloat16 value is a float: the conversion of the float literal is exact.
      return `${d.types.bfloat16}(${float32Literal(d, roundTo("bfloat16", value))})`;
    default:
      return dtype satisfies never;
  }
}

// ---------------------------------------------------------------- helpers

export type HelperName =
  | "max_f32"
  | "min_f32"
  | "sign_f32"
  | "div_i32"
  | "div_u32"
  | "mod_i32"
  | "mod_u32"
  | "mod_f32"
  | "pow_f32"
  | "pow_i32"
  | "pow_u32"
  | "log1p_f32"
  | "expm1_f32"
  | "erf_f32"
  | "f32_to_i32"
  | "f32_to_u32"
  | "u32_to_bf16"
  | "i32_to_bf16"
  | "threefry"
  | "argmax_f32"
  | "argmax_i32"
  | "argmax_u32"
  | "argmin_f32"
  | "argmin_i32"
  | "argmin_u32";

interface Helper {
  readonly deps: readonly HelperName[];
  code(d: Dialect): string;
}

export const helperName = (h: HelperName): string => `smelt_${h}`;

const f = (d: Dialect, v: number): string => literal(d, v, "float32");

// Cody's erf tables (the same algorithm as src/ir/ops/erf.ts), here evaluated in float.
const ERF_SMALL = {
  top: 0.185777706184603153,
  num: [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947],
  den: [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062],
};
const ERF_MID = {
  top: 2.15311535474403846e-8,
  num: [
    0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
    1712.04761263407058, 2051.07837782607147, 1230.33935479799725,
  ],
  den: [
    15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
    4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
  ],
};

/** Horner's rule for Cody's rational function in `z`, as statements assigning `out`. */
interface Rational {
  readonly top: number;
  readonly num: readonly number[];
  readonly den: readonly number[];
}

function rational(d: Dialect, z: string, out: string, t: Rational): string {
  const lines = [`float n = ${f(d, t.top)} * ${z};`, `float q = ${z};`];
  for (let i = 0; i < t.den.length - 1; i++) {
    lines.push(`n = (n + ${f(d, t.num[i]!)}) * ${z};`, `q = (q + ${f(d, t.den[i]!)}) * ${z};`);
  }
  lines.push(`${out} = (n + ${f(d, t.num[t.num.length - 1]!)}) / (q + ${f(d, t.den[t.den.length - 1]!)});`);
  return lines.map((l) => `    ${l}`).join("\n");
}

const THREEFRY_ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];

/** The arg-reduction order: does (bv, bi) beat (av, ai)? Ties go to the lower index. */
function argTakes(op: "argmax" | "argmin", suffix: "f32" | "i32" | "u32"): string {
  const type = { f32: "float", i32: "int", u32: "uint" }[suffix];
  const beats = op === "argmax" ? "bv > av" : "bv < av";
  const nanRule = suffix === "f32"
    ? [
        // The first NaN is both the maximum and the minimum.
        "  const bool an = av != av;",
        "  const bool bn = bv != bv;",
        "  if (an || bn) return bn && (!an || bi < ai);",
      ]
    : [];
  return [
    `inline bool smelt_${op}_${suffix}(${type} av, int ai, ${type} bv, int bi) {`,
    ...nanRule,
    `  return ${beats} || (bv == av && bi < ai);`,
    "}",
  ].join("\n");
}

const HELPERS: { readonly [H in HelperName]: Helper } = {
  max_f32: {
    deps: [],
    code: () =>
      "inline float smelt_max_f32(float a, float b) {\n  return (a != a || b != b) ? a + b : (a >= b ? a : b);\n}",
  },
  min_f32: {
    deps: [],
    code: () =>
      "inline float smelt_min_f32(float a, float b) {\n  return (a != a || b != b) ? a + b : (a <= b ? a : b);\n}",
  },
  sign_f32: {
    deps: [],
    code: (d) => `inline float smelt_sign_f32(float x) {\n  return x > 0.0f ? 1.0f : (x < 0.0f ? ${f(d, -1)} : x);\n}`,
  },
  div_i32: {
    deps: [],
    code: () =>
      "inline int smelt_div_i32(int a, int b) {\n  return b == 0 ? 0 : (b == -1 ? int(0u - uint(a)) : a / b);\n}",
  },
  div_u32: { deps: [], code: () => "inline uint smelt_div_u32(uint a, uint b) {\n  return b == 0u ? 0u : a / b;\n}" },
  mod_i32: {
    deps: [],
    code: () => "inline int smelt_mod_i32(int a, int b) {\n  return (b == 0 || b == -1) ? 0 : a % b;\n}",
  },
  mod_u32: { deps: [], code: () => "inline uint smelt_mod_u32(uint a, uint b) {\n  return b == 0u ? 0u : a % b;\n}" },
  mod_f32: {
    deps: [],
    code: (d) => `inline float smelt_mod_f32(float a, float b) {\n  return b == 0.0f ? 0.0f : ${d.math.fmod}(a, b);\n}`,
  },
  pow_f32: {
    deps: [],
    // C's pow: 1^y and x^0 are 1 even for NaN; x^±inf depends on |x| only ((-1)^±inf is 1); a
    // negative base takes the sign of an odd integer exponent, and a non-integer one gives NaN
    // (except for -inf).
    code: (d) =>
      [
        "inline float smelt_pow_f32(float a, float b) {",
        "  if (a == 1.0f || b == 0.0f) return 1.0f;",
        "  if (a != a || b != b) return a + b;",
        `  const float m = ${d.math.pow}(${d.math.fabs}(a), b);`,
        `  if (!${d.math.signbit}(a)) return m;`,
        `  if (${d.math.fabs}(b) == ${d.infinity}) return m;`,
        `  const bool integral = ${d.math.rint}(b) == b;`,
        `  if (!integral && a < 0.0f && a > (-${d.infinity})) return ${d.nan};`,
        `  const bool odd = integral && ${d.math.fmod}(b, 2.0f) != 0.0f;`,
        "  return odd ? -m : m;",
        "}",
      ].join("\n"),
  },
  pow_i32: {
    deps: [],
    code: () =>
      [
        "inline int smelt_pow_i32(int a, int b) {",
        "  if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) == 0 ? 1 : -1) : 0);",
        "  uint r = 1u;",
        "  uint s = uint(a);",
        "  for (uint e = uint(b); e > 0u; e >>= 1u) {",
        "    if ((e & 1u) != 0u) r *= s;",
        "    s *= s;",
        "  }",
        "  return int(r);",
        "}",
      ].join("\n"),
  },
  pow_u32: {
    deps: [],
    code: () =>
      [
        "inline uint smelt_pow_u32(uint a, uint b) {",
        "  uint r = 1u;",
        "  for (uint e = b; e > 0u; e >>= 1u) {",
        "    if ((e & 1u) != 0u) r *= a;",
        "    a *= a;",
        "  }",
        "  return r;",
        "}",
      ].join("\n"),
  },
  log1p_f32: {
    deps: [],
    // Goldberg's correction: log(u) * x / (u - 1) cancels the rounding error of u = 1 + x.
    code: (d) =>
      [
        "inline float smelt_log1p_f32(float x) {",
        "  const float u = 1.0f + x;",
        `  if (u == 1.0f || u == ${d.infinity}) return u == 1.0f ? x : u;`,
        `  return ${d.math.log}(u) * x / (u - 1.0f);`,
        "}",
      ].join("\n"),
  },
  expm1_f32: {
    deps: [],
    // Kahan's correction: (u - 1) * x / log(u) cancels the rounding error of u = exp(x).
    code: (d) =>
      [
        "inline float smelt_expm1_f32(float x) {",
        `  const float u = ${d.math.exp}(x);`,
        `  if (u == 1.0f || u == ${d.infinity}) return u == 1.0f ? x : u;`,
        "  const float um1 = u - 1.0f;",
        `  if (um1 == ${f(d, -1)}) return um1;`,
        `  return um1 * x / ${d.math.log}(u);`,
        "}",
      ].join("\n"),
  },
  erf_f32: {
    deps: [],
    // Beyond 4, 1 - erfc(x) rounds to 1 in float.
    code: (d) =>
      [
        "inline float smelt_erf_f32(float x) {",
        "  if (x != x) return x;",
        `  const float y = ${d.math.fabs}(x);`,
        "  float r;",
        "  if (y <= 0.46875f) {",
        "    const float z = y * y;",
        rational(d, "z", "r", ERF_SMALL),
        "    return x * r;",
        "  }",
        "  if (y >= 4.0f) return x < 0.0f ? -1.0f : 1.0f;",
        "  {",
        rational(d, "y", "r", ERF_MID),
        "  }",
        // exp(-y*y) with y*y split so that its rounding error is not magnified by the exponential.
        `  const float head = ${d.math.floor}(y * 16.0f) / 16.0f;`,
        "  const float tail = (y - head) * (y + head);",
        `  const float c = ${d.math.exp}(-head * head) * ${d.math.exp}(-tail) * r;`,
        "  return x < 0.0f ? c - 1.0f : 1.0f - c;",
        "}",
      ].join("\n"),
  },
  f32_to_i32: {
    deps: [],
    code: () =>
      [
        "inline int smelt_f32_to_i32(float x) {",
        "  if (x >= 2147483648.0f) return 2147483647;",
        "  if (x >= -2147483648.0f) return int(x);",
        "  return x != x ? 0 : (-2147483647 - 1);",
        "}",
      ].join("\n"),
  },
  f32_to_u32: {
    deps: [],
    code: () =>
      [
        "inline uint smelt_f32_to_u32(float x) {",
        "  if (x >= 4294967296.0f) return 4294967295u;",
        "  return x > -1.0f ? uint(x) : 0u;",
        "}",
      ].join("\n"),
  },
  u32_to_bf16: {
    deps: [],
    // Rounds the integer to 8 significant bits itself: through float it would round twice.
    code: (d) =>
      [
        `inline ${d.types.bfloat16} smelt_u32_to_bf16(uint m) {`,
        "  const uint bits = 32u - metal::clz(m);",
        `  if (bits <= 8u) return ${d.types.bfloat16}(float(m));`,
        "  const uint shift = bits - 8u;",
        "  uint q = m >> shift;",
        "  const uint rest = m & ((1u << shift) - 1u);",
        "  const uint half_ulp = 1u << (shift - 1u);",
        "  if (rest > half_ulp || (rest == half_ulp && (q & 1u) != 0u)) q += 1u;",
        `  return ${d.types.bfloat16}(float(q) * float(1u << shift));`,
        "}",
      ].join("\n"),
  },
  i32_to_bf16: {
    deps: ["u32_to_bf16"],
    code: (d) =>
      [
        `inline ${d.types.bfloat16} smelt_i32_to_bf16(int x) {`,
        `  const ${d.types.bfloat16} m = smelt_u32_to_bf16(x < 0 ? 0u - uint(x) : uint(x));`,
        `  return x < 0 ? ${d.types.bfloat16}(-float(m)) : m;`,
        "}",
      ].join("\n"),
  },
  threefry: {
    deps: [],
    // src/ir/threefry.ts's Threefry-2x32 (20 rounds, key first), unrolled: constant rotations
    // and key injections, straight-line code that vectorizes across grid points.
    code: () => {
      const lines = [
        "inline uint2 smelt_threefry(uint k0, uint k1, uint x0, uint x1) {",
        "  const uint k2 = 0x1BD11BDAu ^ k0 ^ k1;",
        "  uint a = x0 + k0;",
        "  uint b = x1 + k1;",
      ];
      const ks = ["k0", "k1", "k2"];
      for (let r = 0; r < 20; r++) {
        const rot = THREEFRY_ROTATIONS[r % 8]!;
        lines.push(`  a += b; b = ((b << ${rot}u) | (b >> ${32 - rot}u)) ^ a;`);
        if (r % 4 === 3) {
          const n = (r + 1) / 4;
          lines.push(`  a += ${ks[n % 3]}; b += ${ks[(n + 1) % 3]} + ${n}u;`);
        }
      }
      lines.push("  return uint2(a, b);", "}");
      return lines.join("\n");
    },
  },
  argmax_f32: { deps: [], code: () => argTakes("argmax", "f32") },
  argmax_i32: { deps: [], code: () => argTakes("argmax", "i32") },
  argmax_u32: { deps: [], code: () => argTakes("argmax", "u32") },
  argmin_f32: { deps: [], code: () => argTakes("argmin", "f32") },
  argmin_i32: { deps: [], code: () => argTakes("argmin", "i32") },
  argmin_u32: { deps: [], code: () => argTakes("argmin", "u32") },
};

/** The helpers' code, each after its dependencies, in a fixed order (so equal sets give equal text). */
export function helperLibrary(d: Dialect, used: ReadonlySet<HelperName>): string[] {
  const all = new Set<HelperName>();
  const add = (h: HelperName) => {
    if (all.has(h)) return;
    HELPERS[h].deps.forEach(add);
    all.add(h);
  };
  used.forEach(add);
  const order = Object.keys(HELPERS) as HelperName[];
  // Dependencies come earlier in HELPERS than their users, so table order is a valid order.
  return order.filter((h) => all.has(h)).map((h) => HELPERS[h].code(d));
}

// ---------------------------------------------------------------- ops

export interface ScalarContext {
  readonly d: Dialect;
  need(h: HelperName): void;
}

type OpExpr = Extract<Expr, { k: "op" }>;

const isHalfWidth = (t: DType): boolean => t === "float16" || t === "bfloat16";

/** `x` as float (half-width floats widen exactly). */
const widen = (x: string, t: DType): string => (isHalfWidth(t) ? `float(${x})` : x);

/** A float32 expression rounded to the float type `t`. */
const narrow = (d: Dialect, x: string, t: DType): string => (isHalfWidth(t) ? `${d.types[t]}(${x})` : x);

function call(ctx: ScalarContext, h: HelperName, args: readonly string[]): string {
  ctx.need(h);
  return `${helperName(h)}(${args.join(", ")})`;
}

/** One float32 op on float32 operands. */
function floatOp(ctx: ScalarContext, op: OpExpr["op"], a: string, b: string): string {
  const m = ctx.d.math;
  switch (op) {
    case "neg":
      return `(-${a})`;
    case "exp":
    case "log":
    case "sin":
    case "cos":
    case "tanh":
    case "sqrt":
    case "rsqrt":
    case "floor":
    case "ceil":
      return `${m[op]}(${a})`;
    case "round":
      return `${m.rint}(${a})`;
    case "abs":
      return `${m.fabs}(${a})`;
    case "log1p":
      return call(ctx, "log1p_f32", [a]);
    case "expm1":
      return call(ctx, "expm1_f32", [a]);
    case "erf":
      return call(ctx, "erf_f32", [a]);
    case "sign":
      return call(ctx, "sign_f32", [a]);
    case "logistic":
      return `(1.0f / (1.0f + ${m.exp}(-${a})))`;
    case "add":
      return `(${a} + ${b})`;
    case "sub":
      return `(${a} - ${b})`;
    case "mul":
      return `(${a} * ${b})`;
    case "div":
      return `(${a} / ${b})`;
    case "pow":
      return call(ctx, "pow_f32", [a, b]);
    case "max":
      return call(ctx, "max_f32", [a, b]);
    case "min":
      return call(ctx, "min_f32", [a, b]);
    case "mod":
      return call(ctx, "mod_f32", [a, b]);
    default:
      throw new Error(`codegen: ${op} is not a float op`);
  }
}

/** A literal divisor that makes C's `/` and `%` agree with the IR (not 0, not -1). */
function safeDivisor(e: Expr): boolean {
  return e.k === "const" && e.value !== 0 && e.value !== -1;
}

/** int32 and uint32 ops: unsigned arithmetic wraps natively; signed goes through uint. */
function integerOp(ctx: ScalarContext, e: OpExpr, a: string, b: string, signed: boolean, pure: boolean): string {
  const op = e.op;
  const t = signed ? "i32" : "u32";
  // Wrapping arithmetic goes through uint: signed overflow is undefined in C++.
  const wrap = (sym: string) => (signed && !pure ? `int(uint(${a}) ${sym} uint(${b}))` : `(${a} ${sym} ${b})`);
  switch (op) {
    case "neg":
      return signed ? `int(0u - uint(${a}))` : `(0u - ${a})`;
    case "abs":
      return signed ? `(${a} < 0 ? int(0u - uint(${a})) : ${a})` : a;
    case "sign":
      return signed ? `(${a} > 0 ? 1 : (${a} < 0 ? -1 : 0))` : `(${a} > 0u ? 1u : 0u)`;
    case "floor":
    case "ceil":
    case "round":
      return a;
    case "add":
      return wrap("+");
    case "sub":
      return wrap("-");
    case "mul":
      return wrap("*");
    case "div":
      return safeDivisor(e.args[1]!) ? `(${a} / ${b})` : call(ctx, `div_${t}`, [a, b]);
    case "mod":
      return safeDivisor(e.args[1]!) ? `(${a} % ${b})` : call(ctx, `mod_${t}`, [a, b]);
    case "pow":
      return call(ctx, `pow_${t}`, [a, b]);
    case "max":
      return `(${a} >= ${b} ? ${a} : ${b})`;
    case "min":
      return `(${a} <= ${b} ? ${a} : ${b})`;
    case "and":
      return `(${a} & ${b})`;
    case "or":
      return `(${a} | ${b})`;
    case "not":
      return `(~${a})`;
    default:
      throw new Error(`codegen: ${op} is not ${signed ? "an int32" : "a uint32"} op`);
  }
}

function boolOp(op: OpExpr["op"], a: string, b: string): string {
  switch (op) {
    case "and":
    case "min":
      return `(${a} && ${b})`;
    case "or":
    case "max":
      return `(${a} || ${b})`;
    case "not":
      return `(!${a})`;
    default:
      throw new Error(`codegen: ${op} is not a bool op`);
  }
}

const COMPARE: Partial<Record<OpExpr["op"], string>> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

/**
 * `x op x` on integers and bools, where it has a fixed value: written out, since compilers
 * rightly flag a comparison of a value with itself. (Not floats: `x == x` is false for NaN.)
 */
function selfOp(op: OpExpr["op"], a: string): string | undefined {
  switch (op) {
    case "eq":
    case "le":
    case "ge":
      return "true";
    case "ne":
    case "lt":
    case "gt":
      return "false";
    case "max":
    case "min":
    case "and":
    case "or":
      return a;
    default:
      return undefined;
  }
}

/**
 * One scalar op. `pure` says the operands are loop-index arithmetic, which never overflows, so
 * int32 add/sub/mul may use C's operators directly.
 */
export function renderOp(ctx: ScalarContext, e: OpExpr, args: readonly string[], pure: boolean): string {
  const [a = "", b = "", c = ""] = args;
  const from = e.args[0]!.dtype;
  if (args.length === 2 && a === b && !isFloat(from)) {
    const same = selfOp(e.op, a);
    if (same !== undefined) return same;
  }
  const cmp = COMPARE[e.op];
  if (cmp) {
    if (from === "bool") return `(int(${a}) ${cmp} int(${b}))`;
    return `(${widen(a, from)} ${cmp} ${widen(b, from)})`;
  }
  if (e.op === "select") return `(${a} ? ${b} : ${c})`;
  if (e.op === "convert") return convert(ctx, a, from, e.dtype);
  const t = e.dtype;
  switch (t) {
    case "float32":
      return floatOp(ctx, e.op, a, b);
    case "float16":
    case "bfloat16":
      return narrow(ctx.d, floatOp(ctx, e.op, widen(a, t), widen(b, t)), t);
    case "int32":
      return integerOp(ctx, e, a, b, true, pure);
    case "uint32":
      return integerOp(ctx, e, a, b, false, false);
    case "bool":
      return boolOp(e.op, a, b);
    default:
      return t satisfies never;
  }
}

/** `convert`: floats to integers saturate (NaN gives 0), integers wrap, bool is x != 0. */
export function convert(ctx: ScalarContext, a: string, from: DType, to: DType): string {
  const d = ctx.d;
  if (from === to) return a;
  if (to === "bool") {
    if (isFloat(from)) return `(${widen(a, from)} != 0.0f)`;
    return from === "uint32" ? `(${a} != 0u)` : `(${a} != 0)`;
  }
  if (from === "bool") {
    if (isFloat(to)) return narrow(d, `(${a} ? 1.0f : 0.0f)`, to);
    return to === "uint32" ? `(${a} ? 1u : 0u)` : `(${a} ? 1 : 0)`;
  }
  if (isFloat(from)) {
    const x = widen(a, from);
    if (to === "int32") return call(ctx, "f32_to_i32", [x]);
    if (to === "uint32") return call(ctx, "f32_to_u32", [x]);
    return narrow(d, x, to);
  }
  // from an integer
  if (to === "int32" || to === "uint32") return `${d.types[to]}(${a})`;
  if (to === "bfloat16") return call(ctx, from === "int32" ? "i32_to_bf16" : "u32_to_bf16", [a]);
  // Beyond 2^24 the float is past half's range, where both roundings give infinity.
  return narrow(d, `float(${a})`, to);
}
