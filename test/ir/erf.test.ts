import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { erf } from "../../src/ir/ops/erf.js";

// An independent oracle: the Maclaurin series erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
// in 320-bit fixed point, with pi from Machin's formula. The largest term for |x| <= 6 is below
// 2^50, so the cancellation costs far fewer bits than the 320 carried.
const BITS = 320n;
const ONE = 1n << BITS;

/** atan(1/n) in fixed point. */
function atanInv(n: bigint): bigint {
  let sum = 0n;
  let power = ONE / n;
  for (let k = 0n; power !== 0n; k++) {
    const term = power / (2n * k + 1n);
    sum += k % 2n === 0n ? term : -term;
    power /= n * n;
  }
  return sum;
}

function isqrt(n: bigint): bigint {
  let x = n;
  let y = (x + 1n) / 2n;
  while (y < x) {
    x = y;
    y = (x + n / x) / 2n;
  }
  return x;
}

const PI = 16n * atanInv(5n) - 4n * atanInv(239n);
const TWO_OVER_SQRT_PI = (2n * ONE * ONE) / isqrt(PI * ONE);

/** A double in fixed point, exactly (it must have no bits below 2^-320). */
function toFixed(x: number): bigint {
  let k = 0;
  let scaled = x;
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    k++;
  }
  return BigInt(scaled) << (BITS - BigInt(k));
}

function erfOracle(x: number): number {
  const fx = toFixed(x);
  const x2 = (fx * fx) / ONE;
  let sum = 0n;
  let term = fx; // x^(2n+1) / n!
  for (let n = 0n; term !== 0n; n++) {
    const t = term / (2n * n + 1n);
    sum += n % 2n === 0n ? t : -t;
    term = (term * x2) / ONE / (n + 1n);
  }
  const r = (sum * TWO_OVER_SQRT_PI) / ONE;
  return Number(r) / 2 ** Number(BITS);
}

const relErr = (got: number, want: number): number => Math.abs(got - want) / Math.abs(want);

describe("erf", () => {
  it("the oracle agrees with published values", () => {
    expect(erfOracle(0.5)).toBe(0.5204998778130465);
    expect(erfOracle(1)).toBe(0.8427007929497149);
    expect(erfOracle(2)).toBe(0.9953222650189527);
  });

  it.each([
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
    [1e-10, 1.1283791670955126e-10],
    [0.1, 0.1124629160182849],
    [0.25, 0.2763263901682369],
    [1.5, 0.9661051464753108],
    [5, 0.9999999999984626],
  ])("erf(%d) = %d within 1e-15 relative, and erf(-x) = -erf(x)", (x, want) => {
    expect(relErr(erf(x), want)).toBeLessThanOrEqual(1e-15);
    expect(erf(-x)).toBe(-erf(x));
  });

  it("is exact at zero, saturates at 1 and propagates NaN", () => {
    expect(Object.is(erf(0), 0)).toBe(true);
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect(erf(6)).toBe(1);
    expect(erf(30)).toBe(1);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(Number.NaN)).toBeNaN();
  });

  it("is 2x/sqrt(pi) for tiny x", () => {
    // 2/sqrt(pi) = 1.1283791670955125739...
    expect(relErr(erf(1e-300), 1.1283791670955126e-300)).toBeLessThanOrEqual(1e-15);
    expect(relErr(erf(5e-17), 5.641895835477563e-17)).toBeLessThanOrEqual(1e-15);
  });

  it("stays within 1e-15 relative of the series on each of Cody's intervals", () => {
    for (const [min, max] of [
      [2 ** -8, 0.46875],
      [0.46875, 4],
      [4, 6],
    ] as const) {
      fc.assert(
        fc.property(fc.double({ min, max, noNaN: true }), (x) => {
          expect(relErr(erf(x), erfOracle(x))).toBeLessThanOrEqual(1e-15);
        }),
        { numRuns: 150 },
      );
    }
  });
});
