import { describe, expect, it } from "vitest";
import {
  type Attrs,
  DTypeError,
  FuncBuilder,
  inferType,
  interpret,
  ShapeError,
  type Tensor,
  tensorType,
} from "../../src/ir/index.js";
import { threefry2x32 } from "../../src/ir/threefry.js";
import { runOp, t, vals } from "../support/runOp.js";

/** Build and run a one-op func with no params. */
function source<K extends "iota" | "constant">(op: K, attrs: Attrs[K]): Tensor {
  const b = new FuncBuilder("t");
  return interpret(b.build([b.op(op, [], attrs)]), [])[0]!;
}

const constant = (dtype: Attrs["constant"]["dtype"], shape: number[], data: number[]) =>
  source("constant", { dtype, shape, data: Float64Array.from(data) });

const constantType = (dtype: Attrs["constant"]["dtype"], shape: number[], data: number[]) =>
  inferType("constant", [], { dtype, shape, data: Float64Array.from(data) });

describe("iota", () => {
  it("counts along each axis of a 2-D shape", () => {
    const r0 = source("iota", { dtype: "int32", shape: [2, 3], axis: 0 });
    expect(r0.type).toEqual(tensorType("int32", [2, 3]));
    expect(vals(r0)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(vals(source("iota", { dtype: "int32", shape: [2, 3], axis: 1 }))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it("counts along each axis of a 3-D shape", () => {
    const shape = [2, 3, 2];
    expect(vals(source("iota", { dtype: "uint32", shape, axis: 0 }))).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(vals(source("iota", { dtype: "uint32", shape, axis: 1 }))).toEqual([0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
    expect(vals(source("iota", { dtype: "uint32", shape, axis: 2 }))).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it("makes float iotas, rounded to the dtype", () => {
    const r = source("iota", { dtype: "float32", shape: [4], axis: 0 });
    expect(r.type).toEqual(tensorType("float32", [4]));
    expect(vals(r)).toEqual([0, 1, 2, 3]);
    // float16 has a spacing of 2 above 2048: 2049 is a tie that rounds to even 2048.
    const h = source("iota", { dtype: "float16", shape: [2051], axis: 0 });
    expect(vals(h).slice(2047)).toEqual([2047, 2048, 2048, 2050]);
  });

  it("makes an empty iota", () => {
    const r = source("iota", { dtype: "int32", shape: [2, 0], axis: 1 });
    expect(r.type).toEqual(tensorType("int32", [2, 0]));
    expect(vals(r)).toEqual([]);
  });

  it("rejects bool, bad axes and bad shapes", () => {
    expect(() => inferType("iota", [], { dtype: "bool", shape: [3], axis: 0 })).toThrow(DTypeError);
    expect(() => inferType("iota", [], { dtype: "bool", shape: [3], axis: 0 })).toThrow(/iota: .*bool\[3\]/);
    expect(() => inferType("iota", [], { dtype: "int32", shape: [2, 3], axis: 2 })).toThrow(ShapeError);
    expect(() => inferType("iota", [], { dtype: "int32", shape: [2, 3], axis: 2 })).toThrow(/iota: .*i32\[2,3\]/);
    expect(() => inferType("iota", [], { dtype: "int32", shape: [2, 3], axis: -1 })).toThrow(ShapeError);
    expect(() => inferType("iota", [], { dtype: "int32", shape: [], axis: 0 })).toThrow(ShapeError);
    expect(() => inferType("iota", [], { dtype: "int32", shape: [-1], axis: 0 })).toThrow(ShapeError);
    expect(() => inferType("iota", [], { dtype: "int32", shape: [1.5], axis: 0 })).toThrow(ShapeError);
  });
});

describe("constant", () => {
  it("holds its data in row-major order", () => {
    const r = constant("float32", [2, 2], [1, 2, 3, 4]);
    expect(r.type).toEqual(tensorType("float32", [2, 2]));
    expect(vals(r)).toEqual([1, 2, 3, 4]);
    expect(vals(constant("int32", [], [5]))).toEqual([5]);
    expect(vals(constant("float32", [0, 3], []))).toEqual([]);
  });

  it("holds bool values", () => {
    expect(vals(constant("bool", [3], [1, 0, 1]))).toEqual([1, 0, 1]);
    expect(() => constantType("bool", [1], [2])).toThrow(DTypeError);
  });

  it("holds float16 and bfloat16 values, and rejects values they cannot store", () => {
    // 0x7bff (max finite), 0x0001 (min subnormal), and 0x3555, the float16 nearest 1/3.
    const h = [65504, 2 ** -24, -0.5, 1365 / 4096];
    expect(vals(constant("float16", [4], h))).toEqual(h);
    expect(() => constantType("float16", [1], [1 / 3])).toThrow(DTypeError);
    expect(() => constantType("float16", [1], [65520])).toThrow(DTypeError);
    expect(() => constantType("float16", [1], [2 ** -25])).toThrow(DTypeError);
    // 0x3eab, the bfloat16 nearest 1/3: 1.0101011b * 2^-2.
    expect(vals(constant("bfloat16", [1], [171 / 512]))).toEqual([171 / 512]);
    expect(() => constantType("bfloat16", [1], [1 / 3])).toThrow(DTypeError);
  });

  it("holds the int32 and uint32 extremes and nothing beyond", () => {
    expect(vals(constant("int32", [2], [-2147483648, 2147483647]))).toEqual([-2147483648, 2147483647]);
    expect(vals(constant("uint32", [2], [0, 4294967295]))).toEqual([0, 4294967295]);
    expect(() => constantType("int32", [1], [2147483648])).toThrow(DTypeError);
    expect(() => constantType("int32", [1], [-2147483649])).toThrow(DTypeError);
    expect(() => constantType("int32", [1], [1.5])).toThrow(DTypeError);
    expect(() => constantType("int32", [1], [NaN])).toThrow(DTypeError);
    expect(() => constantType("uint32", [1], [-1])).toThrow(DTypeError);
    expect(() => constantType("uint32", [1], [4294967296])).toThrow(DTypeError);
  });

  it("takes float32 values only as float32 stores them", () => {
    expect(() => constantType("float32", [2, 1], [1, 0.1])).toThrow(DTypeError);
    expect(() => constantType("float32", [2, 1], [1, 0.1])).toThrow(/constant: data\[1\] = 0\.1 .*f32\[2,1\]/);
    expect(vals(constant("float32", [1], [Math.fround(0.1)]))).toEqual([Math.fround(0.1)]);
  });

  it("holds NaN, infinities and -0 in float dtypes", () => {
    const r = constant("float32", [4], [NaN, Infinity, -Infinity, -0]);
    expect(Number.isNaN(r.data[0])).toBe(true);
    expect(r.data[1]).toBe(Infinity);
    expect(r.data[2]).toBe(-Infinity);
    expect(Object.is(r.data[3], -0)).toBe(true);
    expect(Number.isNaN(constant("float16", [1], [NaN]).data[0])).toBe(true);
    expect(() => constantType("int32", [1], [Infinity])).toThrow(DTypeError);
  });

  it("rejects data that does not fill the shape", () => {
    expect(() => constantType("float32", [2, 2], [1, 2, 3])).toThrow(ShapeError);
    expect(() => constantType("float32", [2, 2], [1, 2, 3])).toThrow(/constant: .*3 .*f32\[2,2\].*4/);
    expect(() => constantType("float32", [], [])).toThrow(ShapeError);
    expect(() => constantType("float32", [-1], [])).toThrow(ShapeError);
  });

  it("does not share its result with the attribute", () => {
    const data = Float64Array.from([1, 2]);
    const b = new FuncBuilder("t");
    const f = b.build([b.op("constant", [], { dtype: "float32", shape: [2], data })]);
    const first = interpret(f, [])[0]!;
    first.data[0] = 99;
    expect(Array.from(data)).toEqual([1, 2]);
    expect(vals(interpret(f, [])[0]!)).toEqual([1, 2]);
  });
});

describe("random_bits", () => {
  const bits = (key: [number, number], shape: number[]) => runOp("random_bits", { shape }, [t("uint32", [2], key)]);

  it("gives the Threefry-2x32-20 words of counter (0, 0) first", () => {
    // Random123 known answer: key (0, 0), counter (0, 0) gives (0x6b200159, 0x99ba4efe).
    const r = bits([0, 0], [2]);
    expect(r.type).toEqual(tensorType("uint32", [2]));
    expect(vals(r)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(vals(bits([0, 0], []))).toEqual([0x6b200159]);
  });

  it("lays element i out as word i mod 2 of counter (0, floor(i / 2))", () => {
    const key: [number, number] = [0x13198a2e, 0x03707344];
    for (const shape of [[2, 3], [5], [1, 1, 7]]) {
      const r = bits(key, shape);
      expect(r.type).toEqual(tensorType("uint32", shape));
      const expected = vals(r).map((_, i) => threefry2x32(key[0], key[1], 0, Math.floor(i / 2))[i % 2]);
      expect(vals(r)).toEqual(expected);
    }
  });

  it("is deterministic and depends on the key", () => {
    const a = vals(bits([1, 2], [16]));
    expect(vals(bits([1, 2], [16]))).toEqual(a);
    expect(vals(bits([2, 1], [16]))).not.toEqual(a);
    expect(vals(bits([1, 3], [16]))).not.toEqual(a);
    expect(vals(bits([0, 0], [0]))).toEqual([]);
  });

  it("gives roughly uniform uint32 words", () => {
    const r = vals(bits([42, 7], [10000]));
    expect(r.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
    const mean = r.reduce((s, w) => s + w / 2 ** 32, 0) / r.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    // The top bit is set about half the time in the even and in the odd words alike.
    for (const parity of [0, 1]) {
      const words = r.filter((_, i) => i % 2 === parity);
      const high = words.filter((w) => w >= 2 ** 31).length / words.length;
      expect(Math.abs(high - 0.5)).toBeLessThan(0.03);
    }
  });

  it("rejects a key that is not u32[2] and a bad shape", () => {
    const key = tensorType("uint32", [2]);
    expect(() => inferType("random_bits", [tensorType("int32", [2])], { shape: [3] })).toThrow(DTypeError);
    expect(() => inferType("random_bits", [tensorType("int32", [2])], { shape: [3] })).toThrow(
      /random_bits: .*i32\[2\]/,
    );
    expect(() => inferType("random_bits", [tensorType("uint32", [3])], { shape: [3] })).toThrow(ShapeError);
    expect(() => inferType("random_bits", [tensorType("uint32", [1, 2])], { shape: [3] })).toThrow(/u32\[1,2\]/);
    expect(() => inferType("random_bits", [key], { shape: [-2] })).toThrow(ShapeError);
    expect(inferType("random_bits", [key], { shape: [4, 0] })).toEqual(tensorType("uint32", [4, 0]));
  });
});
