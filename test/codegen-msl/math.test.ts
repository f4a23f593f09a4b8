// The math functions of smelt_msl_host.h against Metal's precise bounds (MSL specification,
// section 8.4, Table 8.1), and vectorized by clang -O2 as the host runtime compiles kernels.
// A small library applies each function over arrays; it is compiled with the header as kernels
// are (plus -Rpass=loop-vectorize, whose remarks the last test reads) and linked with a driver
// that reads float32 arguments from one file and writes the results to another. The oracle is
// the float64 JS function rounded with Math.fround (exact integer functions for the roundings,
// an exact construction for fma and rsqrt), and an error is the ULP distance of two float32s.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../support/randomFunc.js";
import { CHECK_FLAGS, findClang } from "./support/host.js";

const run = promisify(execFile);

const clang = findClang();
if (!clang) console.log("test/codegen-msl/math.test.ts: skipped, clang-19 not found (CI installs it)");

/** The flags of the host runtime's kernel libraries, with the warnings that matter as errors. */
const LIB_FLAGS = [...CHECK_FLAGS, "-Werror", "-O2", "-fno-math-errno", "-Rpass=loop-vectorize"];

// ---------------------------------------------------------------- float32 bits

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** Float32 values in order as integers: +0 and -0 are both 0, the next float up is one more. */
function ordinal(x: number): number {
  f32[0] = x;
  const b = i32[0]!;
  return b >= 0 ? b : -(b & 0x7fffffff);
}

function fromOrdinal(o: number): number {
  i32[0] = o >= 0 ? o : -o | 0x80000000;
  return f32[0]!;
}

function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  return Math.abs(ordinal(a) - ordinal(b));
}

/** A finite float32 as m * 2^e with m a signed integer. */
function decompose(x: number): { m: bigint; e: number } {
  f32[0] = x;
  const b = i32[0]!;
  const biased = (b >>> 23) & 0xff;
  const frac = b & 0x7fffff;
  const m = BigInt(biased === 0 ? frac : frac | 0x800000);
  return { m: b < 0 ? -m : m, e: (biased === 0 ? 1 : biased) - 150 };
}

// ---------------------------------------------------------------- oracles

/** Round to the nearest integer, ties to even. */
function rintEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * a * b + c rounded once to float32. a * b is exact in float64; TwoSum gives s + e = a * b + c
 * exactly. Rounding s to float32 rounds the exact sum the same way unless s is the midpoint of
 * two float32s (float32 midpoints are float64s, and e is below half an ulp of s), where the sign
 * of e decides.
 */
function fmaOracle(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const v = s - p;
  const e = p - (s - v) + (c - v);
  const f = Math.fround(s);
  if (!Number.isFinite(s) || !Number.isFinite(f) || s === f || e === 0) return f;
  const g = fromOrdinal(ordinal(f) + (s > f ? 1 : -1));
  if (s !== (f + g) / 2) return f;
  return (e > 0) === (g > f) ? g : f;
}

type Oracle = (x: number, y: number, z: number) => number;

interface MathFn {
  readonly name: string;
  readonly arity: 1 | 2 | 3;
  /** Table 8.1's bound in ulp. */
  readonly bound: number;
  readonly oracle: Oracle;
}

const FNS: readonly MathFn[] = [
  { name: "exp", arity: 1, bound: 4, oracle: Math.exp },
  { name: "exp2", arity: 1, bound: 4, oracle: (x) => 2 ** x },
  { name: "log", arity: 1, bound: 4, oracle: Math.log },
  { name: "log2", arity: 1, bound: 4, oracle: Math.log2 },
  { name: "tanh", arity: 1, bound: 5, oracle: Math.tanh },
  { name: "sin", arity: 1, bound: 4, oracle: Math.sin },
  { name: "cos", arity: 1, bound: 4, oracle: Math.cos },
  { name: "tan", arity: 1, bound: 6, oracle: Math.tan },
  // JS's pow differs from C's only at 1^NaN and (+-1)^+-inf, which the grids avoid.
  { name: "pow", arity: 2, bound: 16, oracle: Math.pow },
  { name: "powr", arity: 2, bound: 16, oracle: Math.pow },
  { name: "floor", arity: 1, bound: 0, oracle: Math.floor },
  { name: "ceil", arity: 1, bound: 0, oracle: Math.ceil },
  { name: "trunc", arity: 1, bound: 0, oracle: Math.trunc },
  { name: "rint", arity: 1, bound: 0, oracle: rintEven },
  { name: "fma", arity: 3, bound: 0, oracle: fmaOracle },
];
/** Functions the library has beyond FNS: rsqrt is checked exactly, the others for their overloads. */
const OTHERS = ["rsqrt", "exp_half", "exp_bfloat"];
/** Functions Table 8.1 splits into precise and fast variants (smelt names the precise ones). */
const PRECISE = new Set(["exp", "exp2", "log", "log2", "tanh", "sin", "cos", "tan", "pow", "powr", "rsqrt"]);

/** The expression a library function applies at element i. */
function call(name: string): string {
  // The half and bfloat overloads compute in float and round once to their type.
  if (name === "exp_half") return "float(metal::precise::exp(half(x[i])))";
  if (name === "exp_bfloat") return "float(metal::precise::exp(bfloat(x[i])))";
  const arity = FNS.find((f) => f.name === name)?.arity ?? 1;
  return `metal::${PRECISE.has(name) ? "precise::" : ""}${name}(${["x[i]", "y[i]", "z[i]"].slice(0, arity).join(", ")})`;
}
const LIBRARY = [...FNS.map((f) => f.name), ...OTHERS];

/** Where the header's sin/cos/tan reduction is exact enough: |x| < 2^39. */
const TRIG_LIMIT = 2 ** 39;
const TRIG = new Set(["sin", "cos", "tan"]);

// ---------------------------------------------------------------- arguments

/** n float32 values evenly spaced from lo to hi. */
function linear(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));
}

/** n float32 values evenly spaced in bit pattern from lo to hi: every binade between is sampled. */
function bitGrid(lo: number, hi: number, n: number): number[] {
  const a = ordinal(lo);
  const b = ordinal(hi);
  return Array.from({ length: n }, (_, i) => fromOrdinal(Math.round(a + ((b - a) * i) / (n - 1))));
}

/** x and its k float32 neighbours on each side. */
function around(x: number, k: number): number[] {
  const o = ordinal(Math.fround(x));
  return Array.from({ length: 2 * k + 1 }, (_, i) => fromOrdinal(o - k + i));
}

const FLT_MAX = 3.4028234663852886e38;
const MIN_SUBNORMAL = 2 ** -149;

/**
 * For each float32 binade [2^e, 2^(e+1)), e = 0..38, the float closest to a multiple of pi/2,
 * from an exhaustive search in 128-bit fixed point; sin, cos and tan cancel the most there.
 */
const NEAR_PIO2 = [
  1.5707963705062866, 3.1415927410125732, 4.71238899230957, 9.42477798461914, 18.84955596923828,
  37.69911193847656, 75.39822387695312, 252.89820861816406, 505.7964172363281, 1011.5928344726562,
  2023.1856689453125, 2238.384765625, 4476.76953125, 8953.5390625, 17907.078125, 52516.43359375,
  105032.8671875, 210065.734375, 267058.9375, 534117.875, 1068235.75, 2709675.5, 5419351.0, 10838702.0,
  31942902, 42781604, 85563208, 171126416, 277793824, 620046656, 1240093312, 2415727616, 7376100864,
  17167929344, 21999384576, 43998769152, 87997538304, 175995076608, 351990153216,
];

/** Half-integers, where rint's ties fall, and the ends of the ranges where floats have fractions. */
const ROUNDING_EDGES = [
  ...Array.from({ length: 2001 }, (_, i) => i - 1000.5),
  ...[0.5, 1, 2 ** 22, 2 ** 23, 2 ** 24].flatMap((x) => [...around(x, 4), ...around(-x, 4)]),
];

type Args = [number[], number[], number[]];

/** About a million arguments over a unary function's interesting range. */
function denseGrid(name: string): number[] {
  switch (name) {
    case "exp":
      return [...linear(-104, 89, 600_000), ...bitGrid(-1, 1, 400_000)];
    case "exp2":
      return [...linear(-151, 129, 600_000), ...bitGrid(-1, 1, 400_000)];
    case "log":
    case "log2":
      return [...bitGrid(MIN_SUBNORMAL, FLT_MAX, 600_000), ...linear(0.5, 2, 400_000)];
    case "tanh":
      return [...linear(-10, 10, 600_000), ...bitGrid(-1, 1, 400_000)];
    case "sin":
    case "cos":
    case "tan":
      return [
        ...linear(-1e4, 1e4, 600_000),
        ...linear(-2 * Math.PI, 2 * Math.PI, 200_000),
        ...bitGrid(-1, 1, 100_000),
        ...bitGrid(1e4, fromOrdinal(ordinal(TRIG_LIMIT) - 1), 100_000),
        ...NEAR_PIO2.flatMap((x) => [...around(x, 3), ...around(-x, 3)]),
      ];
    case "floor":
    case "ceil":
    case "trunc":
    case "rint":
      return [...bitGrid(-FLT_MAX, FLT_MAX, 600_000), ...linear(-10, 10, 400_000), ...ROUNDING_EDGES];
    default:
      throw new Error(`no grid for ${name}`);
  }
}

/**
 * About a million (x, y) pairs for pow with x > 0: y chosen so that y log2 x spans float's whole
 * range (where log2 x's error is magnified most), a plain grid, and x near 1 with large y; pow
 * also takes negative bases with integer exponents.
 */
function powGrid(negativeBases: boolean): Args {
  const rand = mulberry32(7);
  const xs: number[] = [];
  const ys: number[] = [];
  const lo = ordinal(1e-30);
  const hi = ordinal(1e30);
  for (let i = 0; i < 500_000; i++) {
    const x = fromOrdinal(lo + Math.floor(rand() * (hi - lo)));
    const l = Math.log2(x);
    xs.push(x);
    ys.push(l === 0 ? 1 : Math.fround((-160 + 300 * rand()) / l));
  }
  for (const x of linear(1e-3, 10, 500)) {
    for (const y of linear(-20, 20, 500)) {
      xs.push(x);
      ys.push(y);
    }
  }
  for (let i = 0; i < 100_000; i++) {
    xs.push(Math.fround(1 + (rand() - 0.5) * 2 ** -10));
    ys.push(Math.fround((rand() - 0.5) * 2 ** 20));
  }
  if (negativeBases) {
    for (let i = 0; i < 100_000; i++) {
      xs.push(-fromOrdinal(ordinal(0.01) + Math.floor(rand() * (ordinal(100) - ordinal(0.01)))));
      ys.push(Math.round(-40 + 80 * rand()));
    }
  }
  return [xs, ys, []];
}

/**
 * Half a million fma triples: random ones with exponents in [-60, 60], and a * b - round(a * b),
 * the product's rounding error, which only a single rounding gets exactly.
 */
function fmaGrid(): Args {
  const rand = mulberry32(9);
  const any = (): number => Math.fround((rand() - 0.5) * 2 ** Math.floor(rand() * 121 - 60));
  const out: Args = [[], [], []];
  for (let i = 0; i < 500_000; i++) {
    const a = any();
    const b = any();
    out[0].push(a);
    out[1].push(b);
    out[2].push(i % 2 === 0 ? any() : -Math.fround(a * b));
  }
  return out;
}

function grid(f: MathFn): Args {
  if (f.name === "pow" || f.name === "powr") return powGrid(f.name === "pow");
  if (f.name === "fma") return fmaGrid();
  return [denseGrid(f.name), [], []];
}

/** Whether a random argument is in the domain where f is held to its bound against the oracle. */
function compared(f: MathFn, [x, y]: readonly number[]): boolean {
  if (TRIG.has(f.name)) return !(Math.abs(x!) >= TRIG_LIMIT);
  // C and JS disagree on 1^NaN and (+-1)^+-inf; the special-value tests cover those.
  if (f.name === "pow") return Math.abs(x!) !== 1 || Number.isFinite(y);
  // powr is defined for x >= 0 only, and its 0^0, inf^0 and NaN^0 are NaN where JS gives 1.
  if (f.name === "powr") return (x! > 0 || Object.is(x, 0) || Number.isNaN(x)) && y !== 0;
  return true;
}

// ---------------------------------------------------------------- the library and driver

/**
 * Extra clang flags of each build: none, the x86-64 baseline, where floor, fma and the like are
 * written out; and -march=native, as the runtime builds (SSE4.1 and FMA take the builtins).
 */
function builds(): Record<string, readonly string[]> {
  return process.arch === "x64" ? { baseline: [], native: ["-march=native"] } : { baseline: [] };
}

/** The library: one line per function, so a remark's line number names its function. */
function librarySource(): { source: string; lines: Map<number, string> } {
  const text: string[] = [];
  const lines = new Map<number, string>();
  for (const name of LIBRARY) {
    text.push(
      `extern "C" void smelt_math_${name}(const float* x, const float* y, const float* z, float* out, unsigned n) { for (unsigned i = 0; i < n; i++) out[i] = ${call(name)}; }`,
    );
    lines.set(text.length, name);
  }
  return { source: text.join("\n") + "\n", lines };
}

function driverSource(): string {
  return [
    "#include <stdio.h>",
    "#include <stdlib.h>",
    "#include <string.h>",
    "typedef void (*fn_t)(const float*, const float*, const float*, float*, unsigned);",
    ...LIBRARY.map((n) => `extern "C" void smelt_math_${n}(const float*, const float*, const float*, float*, unsigned);`),
    "int main(int argc, char** argv) {",
    "  // driver NAME IN OUT: IN holds n x, n y and n z values; OUT gets the n results.",
    "  if (argc != 4) return 2;",
    "  fn_t f = 0;",
    ...LIBRARY.map((n) => `  if (!strcmp(argv[1], "${n}")) f = smelt_math_${n};`),
    '  FILE* in = fopen(argv[2], "rb");',
    "  if (!f || !in) return 2;",
    "  fseek(in, 0, SEEK_END);",
    "  const long bytes = ftell(in);",
    "  fseek(in, 0, SEEK_SET);",
    "  const unsigned n = (unsigned)(bytes / 12);",
    "  float* x = (float*)malloc(bytes + 4);",
    "  float* out = (float*)malloc(n * 4 + 4);",
    "  if (fread(x, 1, bytes, in) != (size_t)bytes) return 2;",
    "  fclose(in);",
    "  f(x, x + n, x + 2 * n, out, n);",
    '  FILE* o = fopen(argv[3], "wb");',
    "  if (!o || fwrite(out, 4, n, o) != n) return 2;",
    "  fclose(o);",
    "  return 0;",
    "}",
  ].join("\n");
}

interface Built {
  readonly exe: string;
  /** The -Rpass=loop-vectorize remarks, and the function defined on each line of the library. */
  readonly remarks: string;
  readonly lines: ReadonlyMap<number, string>;
  /** The library's assembly. */
  readonly asm: string;
}

let dir = "";
let calls = 0;

async function build(name: string, extra: readonly string[]): Promise<Built> {
  const { source, lines } = librarySource();
  const lib = join(dir, `lib-${name}.cpp`);
  const driver = join(dir, `driver-${name}.cpp`);
  const exe = join(dir, `math-${name}`);
  writeFileSync(lib, source);
  writeFileSync(driver, driverSource());
  const [compiled] = await Promise.all([
    run(clang!, [...LIB_FLAGS, ...extra, "-S", lib, "-o", `${lib}.s`]),
    run(clang!, ["-x", "c++", "-O1", "-fno-exceptions", "-fno-rtti", "-c", driver, "-o", `${driver}.o`]),
  ]);
  await run(clang!, ["-c", `${lib}.s`, "-o", `${lib}.o`]);
  // compiler-rt supplies the half and bfloat conversions.
  await run(clang!, [`${lib}.o`, `${driver}.o`, "-rtlib=compiler-rt", "-lm", "-o", exe]);
  return { exe, remarks: compiled.stderr, lines, asm: readFileSync(`${lib}.s`, "utf8") };
}

/** Runs one library function over argument columns (missing ones are zeros). */
async function apply(b: Built, name: string, ...args: (readonly number[])[]): Promise<Float32Array> {
  const n = args[0]!.length;
  const input = new Float32Array(3 * n);
  args.forEach((a, i) => input.set(a, i * n));
  const inPath = join(dir, `${name}-${++calls}.in`);
  const outPath = join(dir, `${name}-${calls}.out`);
  writeFileSync(inPath, input);
  await run(b.exe, [name, inPath, outPath]);
  const bytes = readFileSync(outPath);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

interface Worst {
  readonly ulp: number;
  readonly args: readonly number[];
  readonly got: number;
  readonly want: number;
}

/** The largest ULP error of f over the argument columns (NaN against a number is Infinity). */
function worst(f: MathFn, [xs, ys, zs]: Args, got: Float32Array): Worst {
  let w: Worst = { ulp: 0, args: [], got: NaN, want: NaN };
  for (let i = 0; i < xs.length; i++) {
    const args = [xs[i]!, ys[i] ?? 0, zs[i] ?? 0] as const;
    const want = Math.fround(f.oracle(...args));
    const ulp = ulpDistance(got[i]!, want);
    if (ulp > w.ulp) w = { ulp, args: args.slice(0, f.arity), got: got[i]!, want };
  }
  return w;
}

const show = (name: string, w: Worst): string => `${name}(${w.args.join(", ")}) = ${w.got}, want ${w.want}`;

/** Whether r is 1/sqrt(x) correctly rounded: the midpoints lo < r < hi around r have lo^2 x <= 1 <= hi^2 x. */
function isRsqrtRounded(x: number, r: number): boolean {
  const { m: X, e: ex } = decompose(x);
  const { m: R, e: er } = decompose(r);
  // Below a power of two the next float down is half as far.
  const belowHalf = ordinal(r) > 0 && decompose(fromOrdinal(ordinal(r) - 1)).e < er;
  const lo = belowHalf ? { n: 4n * R - 1n, e: er - 2 } : { n: 2n * R - 1n, e: er - 1 };
  const hi = { n: 2n * R + 1n, e: er - 1 };
  const times = (p: { n: bigint; e: number }): [bigint, number] => [p.n * p.n * X, 2 * p.e + ex];
  const atMostOne = ([n, e]: [bigint, number]): boolean => (e >= 0 ? n << BigInt(e) <= 1n : n <= 1n << BigInt(-e));
  const atLeastOne = ([n, e]: [bigint, number]): boolean => (e >= 0 ? n << BigInt(e) >= 1n : n >= 1n << BigInt(-e));
  return atMostOne(times(lo)) && atLeastOne(times(hi));
}

describe.skipIf(!clang)("host math functions", () => {
  const built = new Map<string, Built>();
  const baseline = (): Built => built.get("baseline")!;
  const measured = new Map<string, number>();
  const record = (name: string, ulp: number): void => {
    measured.set(name, Math.max(measured.get(name) ?? 0, ulp));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "smelt-math-"));
    for (const [name, extra] of Object.entries(builds())) built.set(name, await build(name, extra));
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (measured.size === 0) return;
    const rows = FNS.map((f) => `  ${f.name.padEnd(5)} bound ${String(f.bound).padStart(2)}, measured ${measured.get(f.name) ?? "-"}`);
    console.log(`host math, max ULP error (builds: ${[...built.keys()].join(", ")}):\n${rows.join("\n")}`);
  });

  describe("accuracy against MSL's Table 8.1", () => {
    for (const f of FNS) {
      it(`${f.name}: within ${f.bound} ulp over a dense grid`, async () => {
        const args = grid(f);
        for (const [build, b] of built) {
          const w = worst(f, args, await apply(b, f.name, ...args));
          record(f.name, w.ulp);
          expect(w.ulp, `${build}: ${show(f.name, w)}`).toBeLessThanOrEqual(f.bound);
        }
      });
    }

    it("every function within its bound on random float32 values", async () => {
      const samples = {
        1: fc.sample(fc.tuple(fc.float()), { numRuns: 20_000, seed: 11 }),
        2: fc.sample(fc.tuple(fc.float(), fc.float()), { numRuns: 20_000, seed: 12 }),
        3: fc.sample(fc.tuple(fc.float(), fc.float(), fc.float()), { numRuns: 20_000, seed: 13 }),
      };
      for (const [build, b] of built) {
        for (const f of FNS) {
          const cases = (samples[f.arity] as readonly (readonly number[])[]).filter((c) => compared(f, c));
          const args: Args = [cases.map((c) => c[0]!), cases.map((c) => c[1] ?? 0), cases.map((c) => c[2] ?? 0)];
          const w = worst(f, args, await apply(b, f.name, ...args));
          record(f.name, w.ulp);
          expect(w.ulp, `${build}: ${show(f.name, w)}`).toBeLessThanOrEqual(f.bound);
        }
      }
    });

    it("rsqrt: correctly rounded", async () => {
      const xs = [...bitGrid(MIN_SUBNORMAL, FLT_MAX, 100_000), ...linear(1, 4, 100_000)];
      for (const [build, b] of built) {
        const got = await apply(b, "rsqrt", xs);
        const wrong = xs.filter((x, i) => !isRsqrtRounded(x, got[i]!));
        expect(wrong.slice(0, 5), `${build}: rsqrt not correctly rounded`).toEqual([]);
      }
    });
  });

  describe("special values", () => {
    /** Runs f on each case's arguments and expects its last entry exactly (-0 is not 0). */
    async function expectExact(name: string, cases: readonly (readonly number[])[]): Promise<void> {
      const arity = cases[0]!.length - 1;
      const args = Array.from({ length: arity }, (_, k) => cases.map((c) => c[k]!));
      for (const [build, b] of built) {
        const got = await apply(b, name, ...args);
        const rows = cases.map((c, i) => ({ args: c.slice(0, -1), got: got[i]!, want: Math.fround(c[c.length - 1]!) }));
        const wrong = rows.filter((r) => !Object.is(r.got, r.want) && !(Number.isNaN(r.got) && Number.isNaN(r.want)));
        expect(wrong, `${build}: ${name}: wrong special values`).toEqual([]);
      }
    }

    const inf = Infinity;
    it("exp and exp2: infinities, overflow, underflow through the subnormals to 0", async () => {
      await expectExact("exp", [
        [NaN, NaN], [inf, inf], [-inf, 0], [0, 1], [-0, 1], [88.7229, inf], [89, inf], [1000, inf],
        // ln 2^-150 = -103.97208: just above it e^x rounds up to 2^-149, just below to 0.
        [-103.97, MIN_SUBNORMAL], [-103.98, 0], [-104, 0], [-1000, 0],
      ]);
      await expectExact("exp2", [
        [NaN, NaN], [inf, inf], [-inf, 0], [0, 1], [-0, 1], [1, 2], [10, 1024], [-1, 0.5],
        [127, 2 ** 127], [128, inf], [-126, 2 ** -126], [-149, MIN_SUBNORMAL],
        // 2^-150 is the tie between 0 and 2^-149: to even, 0.
        [-150, 0], [-149.5, MIN_SUBNORMAL], [-151, 0], [-1000, 0],
      ]);
    });

    it("log and log2: zeros, negatives, infinities; log2 of a power of two is exact", async () => {
      await expectExact("log", [[NaN, NaN], [inf, inf], [-inf, NaN], [0, -inf], [-0, -inf], [-1, NaN], [-MIN_SUBNORMAL, NaN], [1, 0]]);
      const powers = Array.from({ length: 277 }, (_, i) => i - 149);
      await expectExact("log2", [
        [NaN, NaN], [inf, inf], [-inf, NaN], [0, -inf], [-0, -inf], [-2, NaN], [1, 0],
        ...powers.map((k) => [2 ** k, k]),
      ]);
    });

    it("tanh: odd, saturating to +-1, keeping -0 and tiny arguments", async () => {
      await expectExact("tanh", [
        [NaN, NaN], [inf, 1], [-inf, -1], [0, 0], [-0, -0], [10, 1], [-10, -1], [100, 1], [FLT_MAX, 1],
        [1e-30, 1e-30], [-1e-30, -1e-30], [MIN_SUBNORMAL, MIN_SUBNORMAL],
      ]);
    });

    it("sin, cos, tan: signed zeros, NaN at infinities, finite for every finite argument", async () => {
      await expectExact("sin", [[NaN, NaN], [inf, NaN], [-inf, NaN], [0, 0], [-0, -0], [MIN_SUBNORMAL, MIN_SUBNORMAL], [-1e-20, -1e-20]]);
      await expectExact("cos", [[NaN, NaN], [inf, NaN], [-inf, NaN], [0, 1], [-0, 1], [1e-20, 1]]);
      await expectExact("tan", [[NaN, NaN], [inf, NaN], [-inf, NaN], [0, 0], [-0, -0], [-1e-20, -1e-20]]);
      const huge = [...bitGrid(1e5, FLT_MAX, 20_000), ...bitGrid(-FLT_MAX, -1e5, 20_000)];
      for (const name of ["sin", "cos", "tan"]) {
        const got = await apply(baseline(), name, huge);
        const bad = huge.filter((_, i) => !Number.isFinite(got[i]!) || (name !== "tan" && Math.abs(got[i]!) > 1));
        expect(bad.slice(0, 5), `${name}: non-finite or outside [-1, 1]`).toEqual([]);
      }
    });

    it("pow: C's special cases", async () => {
      await expectExact("pow", [
        // x^0 and 1^y are 1 even for NaN; (-1)^+-inf is 1.
        [NaN, 0, 1], [NaN, -0, 1], [1, NaN, 1], [1, inf, 1], [-1, inf, 1], [-1, -inf, 1], [NaN, 1, NaN], [2, NaN, NaN],
        // Zero bases: an odd integer exponent keeps the sign.
        [0, -3, inf], [-0, -3, -inf], [-0, -2, inf], [-0, -0.5, inf], [0, -inf, inf], [-0, -inf, inf],
        [0, 3, 0], [-0, 3, -0], [-0, 2, 0], [-0, 0.5, 0], [0, inf, 0],
        // Infinite exponents compare |x| with 1.
        [0.5, inf, 0], [2, inf, inf], [0.5, -inf, inf], [2, -inf, 0], [-0.5, inf, 0], [-2, inf, inf],
        // Infinite bases.
        [inf, -1, 0], [inf, 0.5, inf], [-inf, 3, -inf], [-inf, 2, inf], [-inf, -3, -0], [-inf, -2, 0], [-inf, 0.5, inf], [-inf, -0.5, 0],
        // Negative finite bases take integer exponents only, odd ones giving a negative result;
        // floats in [2^22, 2^23) step by 1/2, in [2^23, 2^24) by 1, and from 2^24 on are even.
        [-2, 0.5, NaN], [-8, 1 / 3, NaN], [-2, 3, -8], [-2, 2, 4], [-2, -1, -0.5], [-1, 4194304.5, NaN], [-1, 8388607, -1],
        [-1, 8388609, -1], [-1, 8388610, 1], [-1, 16777216, 1], [-1, FLT_MAX, 1],
        // Exact powers, overflow, underflow (2^-150 ties to 0).
        [2, 10, 1024], [4, 0.5, 2], [2, -149, MIN_SUBNORMAL], [2, -150, 0], [2, 128, inf], [10, 39, inf], [10, -46, 0],
      ]);
    });

    it("powr: OpenCL's cases, NaN for x < 0", async () => {
      await expectExact("powr", [
        [-1, 2, NaN], [-inf, 2, NaN], [-2, 0, NaN], [0, 0, NaN], [-0, 0, NaN], [inf, 0, NaN], [inf, -0, NaN],
        [1, inf, NaN], [1, -inf, NaN], [1, NaN, NaN], [NaN, 1, NaN], [NaN, 0, NaN],
        [0, -1, inf], [-0, -1, inf], [0, -inf, inf], [0, 1, 0], [-0, 1, 0], [0, inf, 0],
        [2, 0, 1], [2, -0, 1], [1, 5, 1], [inf, 2, inf], [inf, -2, 0], [0.5, inf, 0], [2, 10, 1024],
      ]);
    });

    it("floor, ceil, trunc, rint: signed zeros, ties to even, large values and NaN unchanged", async () => {
      const big = [2 ** 23, -(2 ** 23) - 1, FLT_MAX, -FLT_MAX, inf, -inf];
      await expectExact("floor", [[-0, -0], [0.5, 0], [-0.5, -1], [-1.5, -2], [1.999, 1], [NaN, NaN], ...big.map((x) => [x, x])]);
      await expectExact("ceil", [[-0, -0], [-0.5, -0], [-0.999, -0], [0.5, 1], [1.5, 2], [NaN, NaN], ...big.map((x) => [x, x])]);
      await expectExact("trunc", [[-0, -0], [-0.5, -0], [-1.5, -1], [1.5, 1], [NaN, NaN], ...big.map((x) => [x, x])]);
      await expectExact("rint", [
        [-0, -0], [0.5, 0], [-0.5, -0], [1.5, 2], [2.5, 2], [-2.5, -2], [-0.3, -0], [8388607.5, 8388608], [4194304.5, 4194304],
        [NaN, NaN], ...big.map((x) => [x, x]),
      ]);
    });

    it("fma: one rounding, also where rounding the double sum would round twice", async () => {
      const u = 2 ** -23;
      await expectExact("fma", [
        // (1 + u)(1 - u) 2^-24 = 2^-24 - 2^-70: the exact sum lies just below (first) and just
        // above (second) a float midpoint that the float64 sum lands on.
        [1 + u, (1 - u) * 2 ** -24, 1 + u, 1 + u],
        [-(1 + u), (1 - u) * 2 ** -24, 1 + 3 * u, 1 + 3 * u],
        // No intermediate overflow; the product's rounding error; signed zeros; NaN and inf.
        [FLT_MAX, 2, -FLT_MAX, FLT_MAX], [1 + u, 1 + u, -(1 + 2 * u), u * u], [-0, 1, -0, -0], [-0, 1, 0, 0],
        [inf, 0, 1, NaN], [inf, 1, -inf, NaN], [inf, 1, 1, inf], [1, 1, -inf, -inf], [NaN, 1, 1, NaN], [1, 1, NaN, NaN],
      ]);
    });

    it("rsqrt: zeros, infinities, negatives", async () => {
      await expectExact("rsqrt", [[0, inf], [-0, -inf], [inf, 0], [-1, NaN], [NaN, NaN], [4, 0.5], [0.25, 2]]);
    });

    it("half and bfloat arguments compute in float and round once", async () => {
      // e = 2.71828...: the nearest half (spacing 2^-9 in [2, 4)) and bfloat (2^-6) are both 2.71875.
      await expectExact("exp_half", [[1, 2.71875], [0, 1], [-inf, 0], [12, inf]]);
      await expectExact("exp_bfloat", [[1, 2.71875], [0, 1], [-inf, 0], [89, inf]]);
    });
  });

  it("clang -O2 vectorizes a loop over each function, as the runtime compiles kernels", () => {
    const b = baseline();
    const vectorized = new Set<string>();
    for (const m of b.remarks.matchAll(/lib-baseline\.cpp:(\d+):\d+: remark: vectorized loop/g)) {
      const name = b.lines.get(Number(m[1]));
      if (name) vectorized.add(name);
    }
    // The half and bfloat conversions are compiler-rt calls on x86.
    const wanted = LIBRARY.filter((n) => !n.startsWith("exp_"));
    expect([...vectorized].filter((n) => wanted.includes(n)).sort()).toEqual([...wanted].sort());
    // clang also "vectorizes" a loop calling libm, one scalar call per lane: there must be none.
    const libm = /\b_?(expf|exp2f|logf|log2f|sinf|cosf|tanf|tanhf|powf|floorf|ceilf|truncf|rintf|fmaf|sqrtf)\b/g;
    for (const [build, { asm }] of built) expect(asm.match(libm) ?? [], build).toEqual([]);
  });
});
