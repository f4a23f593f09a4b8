import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DType, DTypeError, registry, ShapeError, type Tensor } from "../../src/ir/index.js";
import { runOp, t, vals } from "../support/runOp.js";

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
/** Elements 1, 2, 3, ... in row-major order. */
const seq = (shape: number[], dtype: DType = "float32") =>
  t(dtype, shape, Array.from({ length: count(shape) }, (_, i) => i + 1));

/** A tensor of rank 0..4 with dims 0..3 (so empty arrays are common) and distinct values. */
const arbTensor = fc
  .array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 })
  .map((shape) => t("int32", shape, Array.from({ length: count(shape) }, (_, i) => i * 7 - 20)));

const expectSame = (a: Tensor, b: Tensor) => {
  expect(a.type).toEqual(b.type);
  expect(vals(a)).toEqual(vals(b));
};

describe("movement ops", () => {
  it("are movement-class ops with their declared attributes", () => {
    const schemas = {
      reshape: { shape: "ints" },
      transpose: { perm: "ints" },
      broadcast: { shape: "ints" },
      slice: { start: "ints", stop: "ints", step: "ints" },
      pad: { low: "ints", high: "ints", value: "number" },
      concatenate: { axis: "int" },
      flip: { axes: "ints" },
    } as const;
    for (const [op, attrs] of Object.entries(schemas)) {
      const def = registry[op as keyof typeof schemas];
      expect(def.fusion).toBe("movement");
      expect(def.attrs).toEqual(attrs);
      // attribute order is the printed order
      expect(Object.keys(def.attrs)).toEqual(Object.keys(attrs));
      expect(def.arity).toBe(op === "concatenate" ? "variadic" : 1);
    }
  });
});

describe("reshape", () => {
  it("keeps row-major order", () => {
    const r = runOp("reshape", { shape: [3, 2] }, [seq([2, 3])]);
    expect(r.type).toEqual({ dtype: "float32", shape: [3, 2] });
    expect(vals(r)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runOp("reshape", { shape: [] }, [t("int32", [1, 1], [7])]).type.shape).toEqual([]);
    expect(vals(runOp("reshape", { shape: [1, 1, 1] }, [t("int32", [], [7])]))).toEqual([7]);
  });

  it("reshapes empty arrays to any shape of zero elements", () => {
    expect(runOp("reshape", { shape: [3, 0, 2] }, [t("float32", [0, 3], [])]).type.shape).toEqual([3, 0, 2]);
    expect(runOp("reshape", { shape: [0] }, [t("float32", [2, 0], [])]).type.shape).toEqual([0]);
  });

  it("rejects a different element count, a negative or fractional dim", () => {
    const f = () => runOp("reshape", { shape: [4] }, [seq([2, 3])]);
    expect(f).toThrow(ShapeError);
    expect(f).toThrow("reshape: cannot reshape f32[2,3] (6 elements) to [4] (4 elements)");
    expect(() => runOp("reshape", { shape: [-1, 6] }, [seq([2, 3])])).toThrow(/^reshape: shape \[-1, 6\]/);
    expect(() => runOp("reshape", { shape: [-2, -3] }, [seq([2, 3])])).toThrow(ShapeError);
    expect(() => runOp("reshape", { shape: [1.5, 4] }, [seq([2, 3])])).toThrow(ShapeError);
  });

  it("to a compatible shape and back is the identity", () => {
    // a compatible shape: the dims shuffled, some neighbours merged, some 1s inserted
    const arb = arbTensor.chain((x) =>
      fc
        .tuple(
          fc.shuffledSubarray([...x.type.shape], { minLength: x.type.shape.length, maxLength: x.type.shape.length }),
          fc.array(fc.boolean(), { maxLength: 4 }),
          fc.array(fc.nat(4), { maxLength: 2 }),
        )
        .map(([dims, merges, ones]) => {
          const shape: number[] = [];
          dims.forEach((d, i) => (merges[i] && shape.length > 0 ? (shape[shape.length - 1]! *= d) : shape.push(d)));
          for (const at of ones) shape.splice(Math.min(at, shape.length), 0, 1);
          return { x, shape };
        }),
    );
    fc.assert(
      fc.property(arb, ({ x, shape }) => {
        const y = runOp("reshape", { shape }, [x]);
        expect(y.type.shape).toEqual(shape);
        expectSame(runOp("reshape", { shape: [...x.type.shape] }, [y]), x);
      }),
    );
  });
});

describe("transpose", () => {
  it("permutes axes: out.shape[i] = in.shape[perm[i]]", () => {
    // [[1, 2, 3], [4, 5, 6]] transposed
    const r = runOp("transpose", { perm: [1, 0] }, [seq([2, 3])]);
    expect(r.type.shape).toEqual([3, 2]);
    expect(vals(r)).toEqual([1, 4, 2, 5, 3, 6]);
    // x[i, j, k] = 100 i + 10 j + k, shape [2, 3, 2]; y = transpose [2, 0, 1] has y[k, i, j] = x[i, j, k]
    const data: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) data.push(100 * i + 10 * j + k);
    const y = runOp("transpose", { perm: [2, 0, 1] }, [t("int32", [2, 3, 2], data)]);
    expect(y.type.shape).toEqual([2, 2, 3]);
    expect(vals(y)).toEqual([0, 10, 20, 100, 110, 120, 1, 11, 21, 101, 111, 121]);
    expect(vals(runOp("transpose", { perm: [] }, [t("float32", [], [5])]))).toEqual([5]);
    expect(runOp("transpose", { perm: [1, 0] }, [t("float32", [0, 4], [])]).type.shape).toEqual([4, 0]);
  });

  it("rejects anything but a permutation of the axes", () => {
    for (const perm of [[0, 0], [0], [0, 2], [1, -1], [0, 1, 2], [0.5, 1]]) {
      const f = () => runOp("transpose", { perm }, [seq([2, 3])]);
      expect(f).toThrow(ShapeError);
      expect(f).toThrow(/^transpose: perm .* f32\[2,3\]|^transpose: perm must be a list of integers/);
    }
  });

  it("by perm then by the inverse perm is the identity", () => {
    const arb = arbTensor.chain((x) => {
      const r = x.type.shape.length;
      const axes = Array.from({ length: r }, (_, i) => i);
      return fc.shuffledSubarray(axes, { minLength: r, maxLength: r }).map((perm) => ({ x, perm }));
    });
    fc.assert(
      fc.property(arb, ({ x, perm }) => {
        const inverse = new Array<number>(perm.length);
        perm.forEach((p, i) => (inverse[p] = i));
        const y = runOp("transpose", { perm }, [x]);
        expect(y.type.shape).toEqual(perm.map((p) => x.type.shape[p]));
        expectSame(runOp("transpose", { perm: inverse }, [y]), x);
      }),
    );
  });
});

describe("broadcast", () => {
  it("repeats size-1 and missing leading dims", () => {
    expect(vals(runOp("broadcast", { shape: [2, 3] }, [seq([3])]))).toEqual([1, 2, 3, 1, 2, 3]);
    expect(vals(runOp("broadcast", { shape: [2, 3] }, [seq([2, 1])]))).toEqual([1, 1, 1, 2, 2, 2]);
    expect(vals(runOp("broadcast", { shape: [2, 2, 2] }, [seq([1, 2])]))).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
    expect(vals(runOp("broadcast", { shape: [3] }, [t("bool", [], [1])]))).toEqual([1, 1, 1]);
    expect(vals(runOp("broadcast", { shape: [2, 3] }, [seq([2, 3])]))).toEqual([1, 2, 3, 4, 5, 6]);
    const e = runOp("broadcast", { shape: [2, 0] }, [seq([1])]);
    expect(e.type).toEqual({ dtype: "float32", shape: [2, 0] });
    expect(runOp("broadcast", { shape: [0, 3] }, [t("float32", [0, 1], [])]).type.shape).toEqual([0, 3]);
  });

  it("rejects dims that are neither 1 nor equal, a smaller rank, a negative dim", () => {
    const f = () => runOp("broadcast", { shape: [3] }, [seq([2])]);
    expect(f).toThrow(ShapeError);
    expect(f).toThrow(/^broadcast: cannot broadcast f32\[2\] to \[3\]/);
    expect(() => runOp("broadcast", { shape: [3] }, [seq([2, 3])])).toThrow(/f32\[2,3\] to \[3\]/);
    expect(() => runOp("broadcast", { shape: [3, 2] }, [seq([3])])).toThrow(ShapeError);
    expect(() => runOp("broadcast", { shape: [-1, 3] }, [seq([3])])).toThrow(/^broadcast: shape \[-1, 3\]/);
  });
});

describe("slice", () => {
  it("takes start:stop:step per dim", () => {
    expect(vals(runOp("slice", { start: [1], stop: [5], step: [2] }, [seq([5])]))).toEqual([2, 4]);
    // ceil((5 - 0) / 2) = 3 elements: indices 0, 2, 4
    expect(vals(runOp("slice", { start: [0], stop: [5], step: [2] }, [seq([6])]))).toEqual([1, 3, 5]);
    const r = runOp("slice", { start: [0, 1], stop: [2, 3], step: [1, 1] }, [seq([2, 3])]);
    expect(r.type.shape).toEqual([2, 2]);
    expect(vals(r)).toEqual([2, 3, 5, 6]);
    expect(vals(runOp("slice", { start: [1, 0], stop: [2, 3], step: [1, 2] }, [seq([2, 3])]))).toEqual([4, 6]);
    expect(vals(runOp("slice", { start: [], stop: [], step: [] }, [t("float32", [], [3])]))).toEqual([3]);
  });

  it("slices to empty", () => {
    const r = runOp("slice", { start: [2, 0], stop: [2, 3], step: [1, 1] }, [seq([2, 3])]);
    expect(r.type.shape).toEqual([0, 3]);
    expect(vals(r)).toEqual([]);
    expect(runOp("slice", { start: [0], stop: [0], step: [3] }, [t("float32", [0], [])]).type.shape).toEqual([0]);
  });

  it("rejects bounds outside 0 <= start <= stop <= dim, a step below 1, wrong lengths", () => {
    const x = seq([2, 3]);
    const bad = [
      { start: [0, 2], stop: [2, 1], step: [1, 1] },
      { start: [0, 0], stop: [2, 4], step: [1, 1] },
      { start: [-1, 0], stop: [2, 3], step: [1, 1] },
      { start: [0, 0], stop: [2, 3], step: [1, 0] },
      { start: [0, 0], stop: [2, 3], step: [1, -1] },
      { start: [0], stop: [2], step: [1] },
      { start: [0, 0.5], stop: [2, 3], step: [1, 1] },
    ];
    for (const attrs of bad) {
      const f = () => runOp("slice", attrs, [x]);
      expect(f).toThrow(ShapeError);
      expect(f).toThrow(/^slice: /);
    }
    expect(() => runOp("slice", bad[1]!, [x])).toThrow("slice: dim 1 of f32[2,3]: needs 0 <= start <= stop <= 3");
    expect(() => runOp("slice", bad[5]!, [x])).toThrow("slice: start [0] has 1 entries but f32[2,3] has rank 2");
  });
});

describe("pad", () => {
  it("surrounds the operand with value", () => {
    expect(vals(runOp("pad", { low: [1], high: [2], value: 0 }, [seq([2])]))).toEqual([0, 1, 2, 0, 0]);
    const r = runOp("pad", { low: [1, 0], high: [0, 1], value: 9 }, [seq([1, 2])]);
    expect(r.type.shape).toEqual([2, 3]);
    expect(vals(r)).toEqual([9, 9, 9, 1, 2, 9]);
    expect(vals(runOp("pad", { low: [0], high: [0], value: 9 }, [seq([2])]))).toEqual([1, 2]);
    expect(vals(runOp("pad", { low: [1], high: [1], value: NaN }, [seq([1])]))).toEqual([NaN, 1, NaN]);
    expect(vals(runOp("pad", { low: [1], high: [1], value: -Infinity }, [t("float32", [0], [])]))).toEqual([
      -Infinity,
      -Infinity,
    ]);
  });

  it("rounds value to the dtype", () => {
    expect(vals(runOp("pad", { low: [1], high: [0], value: 2.7 }, [seq([1], "int32")]))).toEqual([2, 1]);
    expect(vals(runOp("pad", { low: [0], high: [1], value: 0.1 }, [seq([1])]))).toEqual([1, Math.fround(0.1)]);
    expect(vals(runOp("pad", { low: [0], high: [1], value: 5 }, [t("bool", [1], [0])]))).toEqual([0, 1]);
  });

  it("rejects negative or missing widths", () => {
    const f = () => runOp("pad", { low: [-1], high: [0], value: 0 }, [seq([2])]);
    expect(f).toThrow(ShapeError);
    expect(f).toThrow(/^pad: low \[-1\] and high \[0\] must be non-negative/);
    expect(() => runOp("pad", { low: [0], high: [0, 0], value: 0 }, [seq([2])])).toThrow(
      "pad: high [0, 0] has 2 entries but f32[2] has rank 1",
    );
  });

  it("then slice recovers the input", () => {
    const arb = arbTensor.chain((x) => {
      const r = x.type.shape.length;
      const widths = fc.array(fc.nat(2), { minLength: r, maxLength: r });
      return fc.record({ x: fc.constant(x), low: widths, high: widths, value: fc.integer({ min: -5, max: 5 }) });
    });
    fc.assert(
      fc.property(arb, ({ x, low, high, value }) => {
        const y = runOp("pad", { low, high, value }, [x]);
        const start = low;
        const stop = low.map((l, d) => l + x.type.shape[d]!);
        const step = low.map(() => 1);
        expectSame(runOp("slice", { start, stop, step }, [y]), x);
        // the border holds value: the element count outside the interior, times value
        const border = vals(y).reduce((s, v) => s + v, 0) - vals(x).reduce((s, v) => s + v, 0);
        expect(border - (count(y.type.shape) - count(x.type.shape)) * value).toBe(0);
      }),
    );
  });
});

describe("concatenate", () => {
  it("joins operands along axis", () => {
    expect(vals(runOp("concatenate", { axis: 0 }, [seq([2]), t("float32", [1], [9])]))).toEqual([1, 2, 9]);
    // [[1], [2]] beside [[1, 2], [3, 4]]
    const r = runOp("concatenate", { axis: 1 }, [seq([2, 1]), seq([2, 2])]);
    expect(r.type.shape).toEqual([2, 3]);
    expect(vals(r)).toEqual([1, 1, 2, 2, 3, 4]);
    const rows = runOp("concatenate", { axis: 0 }, [seq([1, 2]), seq([2, 2]), t("float32", [1, 2], [7, 8])]);
    expect(rows.type.shape).toEqual([4, 2]);
    expect(vals(rows)).toEqual([1, 2, 1, 2, 3, 4, 7, 8]);
    expect(vals(runOp("concatenate", { axis: 0 }, [seq([3])]))).toEqual([1, 2, 3]);
  });

  it("accepts empty operands", () => {
    const r = runOp("concatenate", { axis: 1 }, [t("float32", [2, 0], []), seq([2, 2]), t("float32", [2, 0], [])]);
    expect(r.type.shape).toEqual([2, 2]);
    expect(vals(r)).toEqual([1, 2, 3, 4]);
    expect(runOp("concatenate", { axis: 0 }, [t("float32", [0, 3], []), t("float32", [0, 3], [])]).type.shape).toEqual([
      0, 3,
    ]);
  });

  it("rejects operands that differ outside axis, and a bad axis", () => {
    const f = () => runOp("concatenate", { axis: 1 }, [seq([2, 1]), seq([3, 1])]);
    expect(f).toThrow(ShapeError);
    expect(f).toThrow("concatenate: operands f32[2,1] and f32[3,1] differ in a dim other than axis 1");
    const d = () => runOp("concatenate", { axis: 0 }, [seq([2]), seq([2], "int32")]);
    expect(d).toThrow(DTypeError);
    expect(d).toThrow("concatenate: operands f32[2] and i32[2] differ in dtype");
    expect(() => runOp("concatenate", { axis: 0 }, [seq([2]), seq([2, 1])])).toThrow(/differ in rank/);
    for (const axis of [-1, 2]) {
      expect(() => runOp("concatenate", { axis }, [seq([2, 1])])).toThrow(/^concatenate: axis .* out of range \[0, 2\)/);
    }
    expect(() => runOp("concatenate", { axis: 0 }, [t("float32", [], [1])])).toThrow(ShapeError);
    expect(() => runOp("concatenate", { axis: 0 }, [])).toThrow(/at least 1/);
  });

  it("then slice recovers the parts", () => {
    const arb = fc
      .record({
        shape: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
        lengths: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
        axisSeed: fc.nat(),
      })
      .map(({ shape, lengths, axisSeed }) => {
        const axis = axisSeed % shape.length;
        let next = 0;
        const parts = lengths.map((n) => {
          const s = [...shape];
          s[axis] = n;
          return t("int32", s, Array.from({ length: count(s) }, () => next++));
        });
        return { axis, parts };
      });
    fc.assert(
      fc.property(arb, ({ axis, parts }) => {
        const y = runOp("concatenate", { axis }, parts);
        let offset = 0;
        for (const p of parts) {
          const start = y.type.shape.map((_, d) => (d === axis ? offset : 0));
          const stop = y.type.shape.map((n, d) => (d === axis ? offset + p.type.shape[d]! : n));
          expectSame(runOp("slice", { start, stop, step: start.map(() => 1) }, [y]), p);
          offset += p.type.shape[axis]!;
        }
        expect(offset).toBe(y.type.shape[axis]);
      }),
    );
  });
});

describe("flip", () => {
  it("reverses the listed axes", () => {
    expect(vals(runOp("flip", { axes: [0] }, [seq([3])]))).toEqual([3, 2, 1]);
    // [[1, 2, 3], [4, 5, 6]]
    expect(vals(runOp("flip", { axes: [1] }, [seq([2, 3])]))).toEqual([3, 2, 1, 6, 5, 4]);
    expect(vals(runOp("flip", { axes: [0] }, [seq([2, 3])]))).toEqual([4, 5, 6, 1, 2, 3]);
    expect(vals(runOp("flip", { axes: [0, 1] }, [seq([2, 3])]))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(vals(runOp("flip", { axes: [] }, [seq([2, 3])]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runOp("flip", { axes: [1] }, [t("float32", [2, 0], [])]).type.shape).toEqual([2, 0]);
  });

  it("rejects axes that are not normalized", () => {
    for (const axes of [[1, 0], [0, 0], [2], [-1]]) {
      const f = () => runOp("flip", { axes }, [seq([2, 3])]);
      expect(f).toThrow(ShapeError);
      expect(f).toThrow(/^flip: axes/);
    }
  });

  it("twice is the identity", () => {
    const arb = arbTensor.chain((x) =>
      fc
        .subarray(x.type.shape.map((_, d) => d))
        .map((axes) => ({ x, axes })),
    );
    fc.assert(
      fc.property(arb, ({ x, axes }) => {
        const y = runOp("flip", { axes }, [x]);
        expectSame(runOp("flip", { axes }, [y]), x);
        // flipping a non-trivial axis of length > 1 moves the first element
        const moves = axes.some((d) => x.type.shape[d]! > 1) && count(x.type.shape) > 0;
        if (moves) expect(vals(y)[0]).not.toBe(vals(x)[0]);
      }),
    );
  });
});
