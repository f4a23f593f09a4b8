import { describe, expect, test } from "vitest";
import { FuncBuilder, interpret, tensor } from "../../src/ir/index.js";
import * as sm from "../../src/index.js";
import { expectError, vals } from "./support.js";

/** random_bits of the IR, run directly: the bits the frontend's draws are built from. */
function rawBits(key: readonly number[], shape: number[]): number[] {
  const b = new FuncBuilder("bits");
  const k = b.param({ dtype: "uint32", shape: [2] });
  const r = b.op("random_bits", [k], { shape });
  return Array.from(interpret(b.build([r]), [tensor("uint32", [2], key)])[0]!.data);
}

const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe("keys", () => {
  test("key(n) is [high, low] 32-bit words as uint32", () => {
    const k = sm.random.key(7);
    expect(k.dtype).toBe("uint32");
    expect(k.tolist()).toEqual([0, 7]);
    expect(sm.random.key(2 ** 32 + 5).tolist()).toEqual([1, 5]);
  });

  test("split gives n distinct keys, the same for the same key", () => {
    const ks = sm.random.split(sm.random.key(1), 3);
    expect(ks).toHaveLength(3);
    const lists = ks.map((k) => JSON.stringify(k.tolist()));
    expect(new Set(lists).size).toBe(3);
    expect(sm.random.split(sm.random.key(1), 3).map((k) => JSON.stringify(k.tolist()))).toEqual(lists);
    expect(ks[0]!.shape).toEqual([2]);
  });

  test("split computes its keys at once, so a chain of splits stays one split deep", () => {
    let k = sm.random.key(5);
    for (let i = 0; i < 3; i++) {
      const [next, sub] = sm.random.split(k);
      expect(String(next)).toBe("Array(u32[2], realized)");
      expect(String(sub)).toBe("Array(u32[2], realized)");
      k = next!;
    }
  });
});

describe("uniform", () => {
  test("is (bits >> 8) * 2^-24 of random_bits", () => {
    const u = vals(sm.random.uniform([5], { key: sm.random.key(3) }));
    const want = rawBits([0, 3], [5]).map((b) => Math.floor(b / 256) * 2 ** -24);
    expect(u).toEqual(want);
  });

  test("lies in [low, high), is reproducible, and has mean near the middle", () => {
    const key = sm.random.key(42);
    const u = vals(sm.random.uniform([4000], { key, low: -2, high: 6 }));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(6);
    expect(Math.abs(meanOf(u) - 2)).toBeLessThan(0.2);
    expect(vals(sm.random.uniform([4000], { key, low: -2, high: 6 }))).toEqual(u);
    expect(vals(sm.random.uniform([4000], { key: sm.random.key(43), low: -2, high: 6 }))).not.toEqual(u);
  });
});

describe("normal", () => {
  test("mean near 0 and standard deviation near 1", () => {
    const z = vals(sm.random.normal([20000], { key: sm.random.key(0) }));
    const m = meanOf(z);
    const sd = Math.sqrt(meanOf(z.map((x) => (x - m) ** 2)));
    // The standard error of the mean is 1/sqrt(20000) ~ 0.007.
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
    expect(z.every(Number.isFinite)).toBe(true);
  });

  test("dtype and shape", () => {
    const z = sm.random.normal([2, 3], { key: sm.random.key(1), dtype: "float16" });
    expect(z.dtype).toBe("float16");
    expect(z.shape).toEqual([2, 3]);
    expectError(() => sm.random.normal([2], { dtype: "int32" }), sm.DTypeError, "random.normal", ["int32"]);
  });

  test("a key of the wrong dtype is an error from random_bits, named after the public op", () => {
    const bad = sm.array([1, 2]);
    const e = expectError(() => sm.random.normal([2], { key: bad }), sm.DTypeError, "random.normal", ["random_bits", "i32[2]"]);
    expect(e.op).toBe("random.normal");
  });
});

describe("bernoulli and the global key", () => {
  test("bernoulli(p) is true with probability p", () => {
    const b = sm.random.bernoulli(0.3, [10000], { key: sm.random.key(5) });
    expect(b.dtype).toBe("bool");
    expect(Math.abs(meanOf(vals(b)) - 0.3)).toBeLessThan(0.03);
    const p = sm.array([0, 1]);
    expect(sm.random.bernoulli(p, undefined, { key: sm.random.key(5) }).tolist()).toEqual([0, 1]);
  });

  test("seed resets the global key; successive draws differ", () => {
    sm.random.seed(11);
    const a = vals(sm.random.uniform([4]));
    const b = vals(sm.random.uniform([4]));
    expect(a).not.toEqual(b);
    sm.random.seed(11);
    expect(vals(sm.random.uniform([4]))).toEqual(a);
    expect(vals(sm.random.uniform([4]))).toEqual(b);
  });

  test("tidy does not dispose the global key", () => {
    sm.random.seed(3);
    sm.tidy(() => sm.random.normal([2]));
    expect(() => sm.random.normal([2]).tolist()).not.toThrow();
  });
});
