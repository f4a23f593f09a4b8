import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bf16BitsToNumber,
  DTYPES,
  type DType,
  dtypeFromShortName,
  f16BitsToNumber,
  hostToNumbers,
  isDType,
  itemsize,
  numbersToHost,
  numberToBF16Bits,
  numberToF16Bits,
  promoteTypes,
  promoteWithScalar,
  roundBF16,
  roundF16,
  roundTo,
  scalarDType,
  wrapInt32,
  wrapUint32,
} from "../../src/ir/dtype.js";

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
/** The neighbouring doubles of a positive finite double. */
function nextUp(x: number): number {
  f64[0] = x;
  u64[0]! += 1n;
  return f64[0]!;
}
function nextDown(x: number): number {
  f64[0] = x;
  u64[0]! -= 1n;
  return f64[0]!;
}

describe("float16 bits", () => {
  it("decode hand-known patterns", () => {
    expect(f16BitsToNumber(0x3c00)).toBe(1);
    expect(f16BitsToNumber(0xc000)).toBe(-2);
    expect(f16BitsToNumber(0x3555)).toBe(0.333251953125); // 2^-2 * (1 + 341/1024)
    expect(f16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(f16BitsToNumber(0x03ff)).toBe(2 ** -14 - 2 ** -24);
    expect(f16BitsToNumber(0x0400)).toBe(2 ** -14);
    expect(f16BitsToNumber(0x7bff)).toBe(65504);
    expect(f16BitsToNumber(0x7c00)).toBe(Infinity);
    expect(f16BitsToNumber(0xfc00)).toBe(-Infinity);
    expect(f16BitsToNumber(0x7e00)).toBeNaN();
    expect(f16BitsToNumber(0x7c01)).toBeNaN();
    expect(Object.is(f16BitsToNumber(0x8000), -0)).toBe(true);
    expect(f16BitsToNumber(0x2e66)).toBe(0.0999755859375); // nearest float16 to 0.1
  });

  it("encode hand-known values, rounding to nearest even", () => {
    expect(numberToF16Bits(1 / 3)).toBe(0x3555);
    expect(numberToF16Bits(0.1)).toBe(0x2e66);
    expect(numberToF16Bits(2 ** -24)).toBe(0x0001);
    expect(numberToF16Bits(2 ** -25)).toBe(0x0000); // half the smallest subnormal: ties to even 0
    expect(numberToF16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 subnormal steps: ties to 2
    expect(numberToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(numberToF16Bits(65504)).toBe(0x7bff);
    expect(numberToF16Bits(65519)).toBe(0x7bff);
    expect(numberToF16Bits(65520)).toBe(0x7c00);
    expect(numberToF16Bits(-Infinity)).toBe(0xfc00);
    expect(numberToF16Bits(-0)).toBe(0x8000);
    expect(numberToF16Bits(-1e-10)).toBe(0x8000);
    expect(numberToF16Bits(NaN)).toBe(0x7e00);
    expect(roundF16(1 / 3)).toBe(0.333251953125);
  });

  it("round-trip every non-NaN pattern", () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = f16BitsToNumber(h);
      if (Number.isNaN(x)) continue;
      if (numberToF16Bits(x) !== h || !Object.is(roundF16(x), x)) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it("roundF16 sends each midpoint to the even neighbour and its nearest doubles to the nearer one", () => {
    // Finite non-negative float16 values in ascending order, from their bit patterns.
    const lattice = Array.from({ length: 0x7c00 }, (_, h) => f16BitsToNumber(h));
    const bad: number[] = [];
    for (let i = 0; i + 1 < lattice.length; i++) {
      const lo = lattice[i]!;
      const hi = lattice[i + 1]!;
      const mid = (lo + hi) / 2;
      const even = i % 2 === 0 ? lo : hi;
      const ok =
        roundF16(mid) === even &&
        Object.is(roundF16(-mid), -even) &&
        roundF16(nextDown(mid)) === lo &&
        roundF16(nextUp(mid)) === hi;
      if (!ok) bad.push(i);
    }
    expect(bad).toEqual([]);
    // Past the largest finite value the next step would be 2^16: 65520 is the midpoint.
    expect(roundF16(nextDown(65520))).toBe(65504);
    expect(roundF16(65520)).toBe(Infinity);
    expect(roundF16(-1e300)).toBe(-Infinity);
    expect(Object.is(roundF16(-(2 ** -26)), -0)).toBe(true);
  });
});

describe("bfloat16 bits", () => {
  it("decode and encode hand-known values", () => {
    expect(numberToBF16Bits(1 / 3)).toBe(0x3eab);
    expect(bf16BitsToNumber(0x3eab)).toBe(0.333984375); // 2^-2 * (1 + 43/128)
    expect(roundBF16(1 / 3)).toBe(0.333984375);
    expect(numberToBF16Bits(1)).toBe(0x3f80);
    expect(numberToBF16Bits(-2)).toBe(0xc000);
    expect(bf16BitsToNumber(0x7f7f)).toBe((2 - 2 ** -7) * 2 ** 127);
    expect(numberToBF16Bits((2 - 2 ** -8) * 2 ** 127)).toBe(0x7f80); // the midpoint to 2^128 ties up
    expect(numberToBF16Bits(2 ** -133)).toBe(0x0001);
    expect(numberToBF16Bits(2 ** -134)).toBe(0x0000);
    expect(numberToBF16Bits(1 + 2 ** -8)).toBe(0x3f80); // ties to even
    expect(numberToBF16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(numberToBF16Bits(NaN)).toBe(0x7fc0);
    expect(numberToBF16Bits(-0)).toBe(0x8000);
    expect(bf16BitsToNumber(0xff80)).toBe(-Infinity);
  });

  it("round-trip every non-NaN pattern", () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = bf16BitsToNumber(h);
      if (Number.isNaN(x)) continue;
      if (numberToBF16Bits(x) !== h || !Object.is(roundBF16(x), x)) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it("roundBF16 sends each midpoint to the even neighbour", () => {
    const lattice = Array.from({ length: 0x7f80 }, (_, h) => bf16BitsToNumber(h));
    const bad: number[] = [];
    for (let i = 0; i + 1 < lattice.length; i++) {
      const lo = lattice[i]!;
      const hi = lattice[i + 1]!;
      const mid = (lo + hi) / 2;
      const ok =
        roundBF16(mid) === (i % 2 === 0 ? lo : hi) && roundBF16(nextDown(mid)) === lo && roundBF16(nextUp(mid)) === hi;
      if (!ok) bad.push(i);
    }
    expect(bad).toEqual([]);
  });

  it("rounds float32 values as the usual bit trick does", () => {
    // For a float32 x: bits + 0x7fff + (bit 16 of bits), keep the high half. Exact for finite x.
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        f32[0] = x;
        const b = u32[0]!;
        const want = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
        expect(numberToBF16Bits(x)).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("promotion", () => {
  // Rows and columns in the order f32 f16 bf16 i32 u32 bool.
  const order: DType[] = ["float32", "float16", "bfloat16", "int32", "uint32", "bool"];
  const table: string[][] = [
    ["f32", "f32", "f32", "f32", "f32", "f32"],
    ["f32", "f16", "f32", "f16", "f16", "f16"],
    ["f32", "f32", "bf16", "bf16", "bf16", "bf16"],
    ["f32", "f16", "bf16", "i32", "i32", "i32"],
    ["f32", "f16", "bf16", "i32", "u32", "u32"],
    ["f32", "f16", "bf16", "i32", "u32", "bool"],
  ];

  it("follows the table", () => {
    order.forEach((a, i) =>
      order.forEach((b, j) => expect(promoteTypes(a, b)).toBe(dtypeFromShortName(table[i]![j]!))),
    );
  });

  it("is commutative and associative", () => {
    for (const a of DTYPES) {
      for (const b of DTYPES) {
        expect(promoteTypes(a, b)).toBe(promoteTypes(b, a));
        for (const c of DTYPES) expect(promoteTypes(promoteTypes(a, b), c)).toBe(promoteTypes(a, promoteTypes(b, c)));
      }
    }
  });

  it("with a weakly typed number keeps the array's dtype unless a float is needed", () => {
    expect(promoteWithScalar("float16", 2.5)).toBe("float16");
    expect(promoteWithScalar("bfloat16", 1e10)).toBe("bfloat16");
    expect(promoteWithScalar("float32", 1)).toBe("float32");
    expect(promoteWithScalar("int32", 2)).toBe("int32");
    expect(promoteWithScalar("uint32", 7)).toBe("uint32");
    expect(promoteWithScalar("int32", 2.5)).toBe("float32");
    expect(promoteWithScalar("uint32", 0.5)).toBe("float32");
    expect(promoteWithScalar("int32", Infinity)).toBe("float32");
    expect(promoteWithScalar("bool", 1)).toBe("int32");
    expect(promoteWithScalar("bool", 0.5)).toBe("float32");
    expect(promoteWithScalar("bool", NaN)).toBe("float32");
  });

  it("gives a lone number float32 and a boolean bool", () => {
    expect(scalarDType(3)).toBe("float32");
    expect(scalarDType(true)).toBe("bool");
  });
});

describe("roundTo", () => {
  it("rounds floats to their format, or not at all in float64 mode", () => {
    expect(roundTo("float32", 1 / 3)).toBe(0.3333333432674408); // 0x3eaaaaab
    expect(roundTo("float32", 3.5e38)).toBe(Infinity);
    expect(roundTo("float32", 1 / 3, "float64")).toBe(1 / 3);
    expect(roundTo("float16", 1 / 3)).toBe(0.333251953125);
    expect(roundTo("float16", 1 / 3, "float64")).toBe(1 / 3);
    expect(roundTo("bfloat16", 1 / 3)).toBe(0.333984375);
    expect(roundTo("float32", NaN)).toBeNaN();
  });

  it("truncates and wraps integers in either mode", () => {
    expect(roundTo("int32", -1.7)).toBe(-1);
    expect(roundTo("int32", 2 ** 31)).toBe(-(2 ** 31));
    expect(roundTo("int32", -(2 ** 31) - 1)).toBe(2 ** 31 - 1);
    expect(roundTo("int32", 2 ** 40 + 5, "float64")).toBe(5);
    expect(Object.is(roundTo("int32", -0.5), 0)).toBe(true);
    expect(roundTo("uint32", -1)).toBe(4294967295);
    expect(roundTo("uint32", 2 ** 32)).toBe(0);
    expect(roundTo("uint32", 4294967295.5)).toBe(4294967295);
    expect(roundTo("uint32", -1, "float64")).toBe(4294967295);
  });

  it("makes bool x != 0, with NaN true", () => {
    expect([0, -0, NaN, 0.1, -3].map((x) => roundTo("bool", x))).toEqual([0, 0, 1, 1, 1]);
  });

  it("wraps integral doubles beyond 2^53 by their low 32 bits", () => {
    expect(wrapInt32(2 ** 60 + 2 ** 31)).toBe(-(2 ** 31));
    expect(wrapUint32(2 ** 60 - 2 ** 12)).toBe(2 ** 32 - 2 ** 12);
    expect(wrapInt32(NaN)).toBe(0);
    expect(wrapUint32(-Infinity)).toBe(0);
  });
});

describe("host storage", () => {
  it("encodes half floats as bits and wraps integers", () => {
    expect(Array.from(numbersToHost("float16", [1 / 3, 65520, -0]))).toEqual([0x3555, 0x7c00, 0x8000]);
    expect(Array.from(numbersToHost("bfloat16", [1 / 3]))).toEqual([0x3eab]);
    expect(Array.from(numbersToHost("int32", [2 ** 31, -1.5]))).toEqual([-(2 ** 31), -1]);
    expect(Array.from(numbersToHost("uint32", [-1]))).toEqual([4294967295]);
    expect(Array.from(numbersToHost("bool", [NaN, 0, 2]))).toEqual([1, 0, 1]);
    expect(numbersToHost("float16", [1])).toBeInstanceOf(Uint16Array);
  });

  it("decodes bits back to numbers", () => {
    expect(Array.from(hostToNumbers("float16", Uint16Array.of(0x3555, 0xfc00)))).toEqual([0.333251953125, -Infinity]);
    expect(Array.from(hostToNumbers("bfloat16", Uint16Array.of(0x3eab)))).toEqual([0.333984375]);
    expect(Array.from(hostToNumbers("uint32", Uint32Array.of(4294967295)))).toEqual([4294967295]);
  });

  it("knows item sizes and short names", () => {
    expect(DTYPES.map(itemsize)).toEqual([4, 2, 2, 4, 4, 1]);
    expect(dtypeFromShortName("bf16")).toBe("bfloat16");
    expect(dtypeFromShortName("f64")).toBeUndefined();
    expect(isDType("uint32")).toBe(true);
    expect(isDType("u32")).toBe(false);
  });
});
