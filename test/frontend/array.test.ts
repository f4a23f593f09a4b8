import { afterEach, describe, expect, test, vi } from "vitest";
import * as sm from "../../src/index.js";
import { expectClose, expectError, vals } from "./support.js";

describe("sm.array: dtype inference and shapes", () => {
  test("integers give int32, any non-integer float32, booleans bool", () => {
    expect(sm.array([[1, 2], [3, 4]]).dtype).toBe("int32");
    expect(sm.array([1, 2.5]).dtype).toBe("float32");
    expect(sm.array([true, false]).dtype).toBe("bool");
    expect(sm.array([true, 2]).dtype).toBe("int32");
    expect(sm.array(7).dtype).toBe("int32");
    expect(sm.array(0.5).shape).toEqual([]);
    expect(sm.array([]).dtype).toBe("float32");
    expect(sm.array([]).shape).toEqual([0]);
    expect(sm.array([[], []]).shape).toEqual([2, 0]);
  });

  test("nested data gives the shape, values in row-major order", () => {
    const a = sm.array([[[1], [2]], [[3], [4]], [[5], [6]]]);
    expect(a.shape).toEqual([3, 2, 1]);
    expect(a.ndim).toBe(3);
    expect(a.size).toBe(6);
    expect(a.tolist()).toEqual([[[1], [2]], [[3], [4]], [[5], [6]]]);
  });

  test("TypedArrays keep their dtype", () => {
    expect(sm.array(new Float32Array([1.5, 2])).dtype).toBe("float32");
    expect(sm.array(new Int32Array([1, 2])).dtype).toBe("int32");
    expect(sm.array(new Uint32Array([4294967295])).dtype).toBe("uint32");
    expect(vals(sm.array(new Uint32Array([4294967295])))).toEqual([4294967295]);
    expect(sm.array(new Uint8Array([1, 0])).dtype).toBe("bool");
    // 0x3c00 is 1.0 and 0xc000 is -2.0 in IEEE half precision.
    const h = sm.array(new Uint16Array([0x3c00, 0xc000]));
    expect(h.dtype).toBe("float16");
    expect(h.tolist()).toEqual([1, -2]);
    // 0x3f80 is 1.0 in bfloat16.
    expect(sm.array(new Uint16Array([0x3f80]), { dtype: "bfloat16" }).tolist()).toEqual([1]);
  });

  test("opts.dtype converts and opts.shape reshapes", () => {
    const a = sm.array([1.7, -1.7, 2.5], { dtype: "int32" });
    expect(a.dtype).toBe("int32");
    expect(a.tolist()).toEqual([1, -1, 2]);
    const b = sm.array([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
    expect(b.tolist()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(sm.array([0, 2, 0], { dtype: "bool" }).tolist()).toEqual([0, 1, 0]);
    // 0.1 is not representable: float32 stores its nearest neighbour.
    expect(sm.array([0.1]).item()).toBe(Math.fround(0.1));
  });

  test("from another array: same values, new array", () => {
    const a = sm.array([1, 2, 3]);
    const b = sm.array(a, { dtype: "float32", shape: [3, 1] });
    expect(b).not.toBe(a);
    expect(b.dtype).toBe("float32");
    expect(b.tolist()).toEqual([[1], [2], [3]]);
    const c = sm.array(a.add(1));
    expect(c.tolist()).toEqual([2, 3, 4]);
  });

  test("ragged data, bad elements, a wrong shape and an unknown dtype are errors", () => {
    expectError(() => sm.array([[1, 2], [3]]), sm.ShapeError, "array", ["ragged", "[1]"]);
    expectError(() => sm.array([1, "x" as unknown as number]), sm.DTypeError, "array", ["string x"]);
    expectError(() => sm.array([1, 2, 3], { shape: [2, 2] }), sm.ShapeError, "array", ["3 values", "[2,2]"]);
    expectError(() => sm.array([1], { dtype: "float64" as sm.DType }), sm.DTypeError, "array", ["float64"]);
  });
});

describe("creation from a shape", () => {
  test("zeros, ones, full, zerosLike, onesLike", () => {
    expect(sm.zeros([2, 2]).tolist()).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(sm.zeros([2]).dtype).toBe("float32");
    expect(sm.ones(3, "int32").tolist()).toEqual([1, 1, 1]);
    expect(sm.full([2], 2.5).tolist()).toEqual([2.5, 2.5]);
    expect(sm.full([2], 7).dtype).toBe("int32");
    expect(sm.full([1], true).dtype).toBe("bool");
    expect(sm.full([2], 3, "float16").dtype).toBe("float16");
    const a = sm.array([[1, 2, 3]]);
    expect(sm.zerosLike(a).tolist()).toEqual([[0, 0, 0]]);
    expect(sm.onesLike(a).dtype).toBe("int32");
    expect(sm.zeros([0, 3]).shape).toEqual([0, 3]);
    expectError(() => sm.zeros([2, -1]), sm.ShapeError, "zeros", ["[2,-1]"]);
  });

  test("arange follows NumPy", () => {
    expect(sm.arange(5).tolist()).toEqual([0, 1, 2, 3, 4]);
    expect(sm.arange(5).dtype).toBe("int32");
    expect(sm.arange(1, 10, 3).tolist()).toEqual([1, 4, 7]);
    expect(sm.arange(5, 0, -2).tolist()).toEqual([5, 3, 1]);
    expect(sm.arange(0, 1, 0.25).tolist()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(sm.arange(0, 1, 0.25).dtype).toBe("float32");
    expect(sm.arange(3, 1).tolist()).toEqual([]);
    expect(sm.arange(3, undefined, 1, "float32").dtype).toBe("float32");
    expectError(() => sm.arange(0, 5, 0), sm.ShapeError, "arange", ["zero"]);
  });

  test("eye", () => {
    expect(sm.eye(3).tolist()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(sm.eye(2, "bool").dtype).toBe("bool");
  });
});

describe("reading values", () => {
  test("dataSync gives one TypedArray per dtype", () => {
    expect(sm.array([1.5]).dataSync()).toBeInstanceOf(Float32Array);
    expect(sm.array([1]).dataSync()).toBeInstanceOf(Int32Array);
    expect(sm.array([1], { dtype: "uint32" }).dataSync()).toBeInstanceOf(Uint32Array);
    expect(sm.array([true]).dataSync()).toBeInstanceOf(Uint8Array);
    const h = sm.array([1, -2], { dtype: "float16" }).dataSync();
    expect(h).toBeInstanceOf(Uint16Array);
    expect(Array.from(h)).toEqual([0x3c00, 0xc000]);
    const b = sm.array([1], { dtype: "bfloat16" }).dataSync();
    expect(Array.from(b)).toEqual([0x3f80]);
  });

  test("data() resolves to the same values", async () => {
    expect(Array.from(await sm.array([1, 2]).add(1).data())).toEqual([2, 3]);
  });

  test("item needs exactly one element", () => {
    expect(sm.array([[4]]).item()).toBe(4);
    expect(sm.array(true).item()).toBe(1);
    expectError(() => sm.array([1, 2]).item(), sm.ShapeError, "item", ["i32[2]"]);
  });

  test("T, shape, ndim, size", () => {
    const a = sm.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.T.shape).toEqual([3, 2]);
    expect(a.T.tolist()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(sm.array(1).ndim).toBe(0);
    expect(sm.array(1).size).toBe(1);
  });
});

describe("laziness, eval, dispose, tidy", () => {
  test("ops are pending until eval; eval realizes and drops the graph above", () => {
    const a = sm.array([1, 2]);
    const b = a.mul(3).add(1);
    expect(b.node.kind).toBe("pending");
    sm.eval(b);
    expect(b.node.kind).toBe("realized");
    expect(b.tolist()).toEqual([4, 7]);
  });

  test("eval takes trees and several arrays", () => {
    const a = sm.array([1]);
    const t = { x: a.add(1), y: [a.add(2), 5] };
    sm.eval(t, a.add(3));
    expect(t.x.node.kind).toBe("realized");
    expect((t.y[0] as sm.Array).node.kind).toBe("realized");
  });

  test("a chain of 10000 ops evaluates (no recursion limit)", () => {
    let x = sm.array(0);
    for (let i = 0; i < 10000; i++) x = x.add(1);
    expect(x.item()).toBe(10000);
  });

  test("a disposed array cannot be used", () => {
    const a = sm.array([1, 2]);
    a.dispose();
    expect(a.isDisposed).toBe(true);
    expectError(() => a.add(1), sm.SmeltError, "add", ["disposed", "i32[2]"]);
    expectError(() => a.dataSync(), sm.SmeltError, "dataSync", ["disposed"]);
  });

  test("tidy disposes what fn created and did not return", () => {
    const outside = sm.array([1, 2]);
    let inner: sm.Array | undefined;
    const r = sm.tidy(() => {
      inner = outside.mul(2);
      return { y: inner.add(1) };
    });
    expect(inner!.isDisposed).toBe(true);
    expect(outside.isDisposed).toBe(false);
    expect(r.y.tolist()).toEqual([3, 5]);
  });

  test("nested tidy hands returned arrays to the outer scope", () => {
    let mid: sm.Array | undefined;
    const r = sm.tidy(() => {
      mid = sm.tidy(() => sm.array([1]).add(1));
      expect(mid.isDisposed).toBe(false);
      return mid.add(1);
    });
    expect(mid!.isDisposed).toBe(true);
    expect(r.item()).toBe(3);
  });

  test("tidy disposes on error too and rethrows", () => {
    let a: sm.Array | undefined;
    expect(() =>
      sm.tidy(() => {
        a = sm.array([1]);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(a!.isDisposed).toBe(true);
  });
});

describe("devices", () => {
  afterEach(() => sm.setDefaultDevice("interp"));

  test("interp is always there, and can be made the default", () => {
    expect(sm.devices()).toContain("interp");
    sm.setDefaultDevice("interp");
    expect(sm.defaultDevice()).toBe("interp");
  });

  test("SMELT_DEVICE picks the default device; an unknown one is a DeviceError at first use", async () => {
    vi.resetModules();
    process.env["SMELT_DEVICE"] = "nope";
    try {
      const fresh = await import("../../src/index.js");
      const z = fresh.zeros([1]);
      expectError(() => z.dataSync(), fresh.DeviceError, "dataSync", ['"nope"', "SMELT_DEVICE"]);
      process.env["SMELT_DEVICE"] = "interp";
      vi.resetModules();
      const again = await import("../../src/index.js");
      expect(again.defaultDevice()).toBe("interp");
    } finally {
      delete process.env["SMELT_DEVICE"];
      vi.resetModules();
    }
  });

  test("an unknown device is a DeviceError", () => {
    expectError(() => sm.setDefaultDevice("nope"), sm.DeviceError, "setDefaultDevice", ['"nope"', "interp"]);
  });
});

describe("float rounding through the device", () => {
  test("float16 results are rounded to float16", () => {
    // 1/3 in float16 is 0x3555 = 0.333251953125.
    const a = sm.array([1], { dtype: "float16" }).div(3);
    expect(a.dtype).toBe("float16");
    expectClose(a.tolist() as number[], [0.333251953125], 0);
  });
});
