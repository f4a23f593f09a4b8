import { afterEach, describe, expect, test, vi } from "vitest";
import * as sm from "../../src/index.js";
import { expectClose, expectError, vals } from "./support.js";

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env["SMELT_DUMP_IR"];
});

describe("tracing and the cache", () => {
  test("the same shapes trace once; new shapes, dtypes and static numbers trace again", () => {
    const f = sm.compile((x: sm.Array, k: number) => x.mul(k).add(1));
    expect(f(sm.array([1, 2]), 3).tolist()).toEqual([4, 7]);
    expect(f(sm.array([5, 6]), 3).tolist()).toEqual([16, 19]);
    expect(f.traceCount).toBe(1);
    expect(f(sm.array([1, 2, 3]), 3).tolist()).toEqual([4, 7, 10]);
    expect(f.traceCount).toBe(2);
    expect(f(sm.array([1.5, 2]), 3).tolist()).toEqual([5.5, 7]);
    expect(f.traceCount).toBe(3);
    expect(f(sm.array([1, 2]), 4).tolist()).toEqual([5, 9]);
    expect(f.traceCount).toBe(4);
    expect(f(sm.array([0, 0]), 3).tolist()).toEqual([1, 1]);
    expect(f.traceCount).toBe(4);
  });

  test("pending arguments are computed before the call", () => {
    const f = sm.compile((x: sm.Array) => x.sum());
    expect(f(sm.arange(4).mul(2)).item()).toBe(12);
  });

  test("tree arguments and tree results with static leaves", () => {
    const step = sm.compile((params: { w: sm.Array; b: sm.Array }, xs: sm.Array[]) => ({
      out: xs.map((x) => x.matmul(params.w).add(params.b)),
      n: xs.length,
      tag: "done",
    }));
    const params = { w: sm.array([[1], [2]]), b: sm.array([10]) };
    const r = step(params, [sm.array([[1, 1]]), sm.array([[0, 1]])]);
    expect(r.out.map((a) => a.tolist())).toEqual([[[13]], [[12]]]);
    expect(r.n).toBe(2);
    expect(r.tag).toBe("done");
    step({ w: sm.array([[3], [4]]), b: sm.array([0]) }, [sm.array([[1, 1]]), sm.array([[1, 0]])]);
    expect(step.traceCount).toBe(1);
    step({ b: sm.array([0]), w: sm.array([[3], [4]]) }, [sm.array([[1, 1]]), sm.array([[1, 0]])]);
    expect(step.traceCount).toBe(2);
  });

  test("an argument returned as it is, and a result that is a number", () => {
    const f = sm.compile((x: sm.Array) => [x, 3]);
    const [a, n] = f(sm.array([1, 2])) as [sm.Array, number];
    expect(a.tolist()).toEqual([1, 2]);
    expect(n).toBe(3);
  });

  test("closures over realized arrays become constant ops", () => {
    const w = sm.array([2, 3]);
    const f = sm.compile(function scale(x: sm.Array) {
      return x.mul(w);
    });
    expect(f(sm.array([1, 1])).tolist()).toEqual([2, 3]);
    const ir = f.lower(sm.array([1, 1])).ir();
    expect(ir).toContain("func @scale(%x: i32[2]) -> (i32[2])");
    expect(ir).toContain("constant {dtype = i32, shape = [2], data = [2, 3]}");
    expect(ir).toContain("mul");
  });

  test("each op of the traced IR carries this file's line", () => {
    const f = sm.compile((x: sm.Array) => x.exp()); const line = new Error().stack!.split("\n")[1]!.match(/:(\d+):\d+\)?$/)![1];
    expect(f.lower(sm.array([1.5])).ir()).toContain(`exp %x : f32[1]  loc("test/frontend/compile.test.ts":${line}:`);
  });

  test("parameters take their names from the function, tree leaves their paths", () => {
    const f = sm.compile((p: { w: sm.Array }, v: sm.Array[]) => p.w.add(v[0]!));
    const ir = f.lower({ w: sm.array([1]) }, [sm.array([2])]).ir("traced");
    expect(ir).toContain("(%p_w: i32[1], %v_0: i32[1])");
  });
});

describe("nesting", () => {
  test("a compiled function called inside another trace is inlined", () => {
    const inner = sm.compile((x: sm.Array) => x.mul(2));
    const outer = sm.compile((x: sm.Array) => inner(x).add(1));
    expect(outer(sm.array([1, 2])).tolist()).toEqual([3, 5]);
    expect(outer.traceCount).toBe(1);
    expect(inner.traceCount).toBe(0);
    const ir = outer.lower(sm.array([1, 2])).ir();
    expect(ir).toContain("mul");
    expect(ir).toContain("add");
    expect(inner(sm.array([4])).tolist()).toEqual([8]);
    expect(inner.traceCount).toBe(1);
  });
});

describe("retrace warning", () => {
  test("more than 8 traces warn once, naming the argument that keeps changing", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const f = sm.compile((x: sm.Array, scale: number) => x.mul(scale));
    const x = sm.array([1]);
    for (let i = 0; i < 8; i++) f(x, i);
    expect(warn).not.toHaveBeenCalled();
    f(x, 8);
    f(x, 9);
    expect(f.traceCount).toBe(10);
    expect(warn).toHaveBeenCalledTimes(1);
    const msg = String(warn.mock.calls[0]![0]);
    expect(msg).toContain("traced 9 times");
    expect(msg).toContain("argument scale");
  });

  test("a changing shape inside a tree is named by its path", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const f = sm.compile((p: { w: sm.Array }) => p.w.sum());
    for (let n = 1; n <= 9; n++) f({ w: sm.zeros([n]) });
    expect(String(warn.mock.calls[0]![0])).toContain("argument p.w (seen as f32[1], f32[2]");
  });
});

describe("errors while tracing", () => {
  test("reading a traced value is a TraceError at the line that needs it", () => {
    const f = sm.compile((x: sm.Array) => {
      expectError(() => x.sum().item(), sm.TraceError, "item", ["needs a concrete value", "argument x", "f32[2]"]);
      expectError(() => x.dataSync(), sm.TraceError, "dataSync", ["argument x"]);
      expectError(() => x.add(1).tolist(), sm.TraceError, "tolist", ["argument x"]);
      return x;
    });
    f(sm.array([1.5, 2]));
  });

  test("the TraceError escapes the compiled call", () => {
    const f = sm.compile((x: sm.Array) => (x.sum().item() > 0 ? x : x.neg()));
    expect(() => f(sm.array([1]))).toThrow(sm.TraceError);
    expect(f.traceCount).toBe(0);
  });

  test("reading values that do not depend on the arguments is fine; eval of traced arrays is a no-op", () => {
    const c = sm.array([4]);
    const f = sm.compile((x: sm.Array) => {
      const k = c.add(1).item();
      const y = x.mul(k);
      sm.eval(y);
      return y;
    });
    expect(f(sm.array([2])).tolist()).toEqual([10]);
  });

  test("a placeholder that escapes its trace is a TraceError when used", () => {
    let leaked: sm.Array | undefined;
    const f = sm.compile((x: sm.Array) => {
      leaked = x;
      return x.add(1);
    });
    f(sm.array([1]));
    expectError(() => leaked!.mul(2).dataSync(), sm.TraceError, "dataSync", ["after compile finished tracing"]);
  });

  test("shape errors inside the traced function point at their own line", () => {
    const f = sm.compile((x: sm.Array) => x.reshape([5]));
    try {
      f(sm.array([1, 2]));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(sm.ShapeError);
      expect((e as sm.ShapeError).message).toMatch(/^reshape: cannot reshape i32\[2\]/);
      const line = new Error().stack!.split("\n")[1]!.match(/:(\d+):\d+\)?$/)![1];
      expect((e as sm.ShapeError).message).toContain(`compile.test.ts:${Number(line) - 7}:`);
    }
  });
});

describe("lower and IR dumps", () => {
  test("lower gives every stage's IR and the stats of the planned program", () => {
    const f = sm.compile((x: sm.Array) => sm.softmax(x));
    const low = f.lower(sm.zeros([2, 3]));
    expect(low.ir()).toContain("reduce_max");
    expect(low.ir("autodiff")).toBe(low.ir("traced"));
    expect(low.ir("simplified")).toContain("func @");
    expect(low.ir("fused")).toContain("kernel @k0 row grid(p0<2>)");
    expect(low.ir("planned")).toContain("program @");
    // one kernel reads x (2*3 floats) and writes the result: nothing more than the minimum moves
    expect(low.stats).toEqual({ kernels: 1, bytesMoved: 48, minimalBytes: 48, peakBytes: 0, naivePeakBytes: 0 });
    const mlx = sm.compile((x: sm.Array) => sm.softmax(x), { fusion: "elementwise" }).lower(sm.zeros([2, 3]));
    expect(mlx.stats.kernels).toBe(4);
    expect(mlx.stats.bytesMoved).toBeGreaterThan(low.stats.bytesMoved);
    expectError(() => low.ir("nope" as sm.Stage), sm.CompileError, "lower.ir", ['"nope"', "planned"]);
    // The library a Metal device (or the host) runs: the one row kernel, with its threadgroup reduction.
    expect(low.msl()).toMatch(/^kernel void smelt_row_[0-9a-f]+\(/m);
    expect(f.traceCount).toBe(1);
  });

  test("opts.dumpIr prints each new trace's IR to stderr with a header", () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const f = sm.compile((x: sm.Array) => x.add(1), { dumpIr: true, name: "inc" });
    f(sm.array([1]));
    f(sm.array([2]));
    const headers = write.mock.calls.map((c) => String(c[0]).split("\n")[0]);
    expect(headers).toEqual(
      ["traced", "autodiff", "simplified", "fused", "planned", "msl"].map((s) => `// @inc: IR at stage "${s}"`),
    );
    expect(String(write.mock.calls[5]![0])).toMatch(/kernel void smelt_ew_\w+\(/);
    expect(String(write.mock.calls[0]![0])).toContain("func @inc(%x: i32[1])");
    expect(String(write.mock.calls[3]![0])).toContain("kernel @k0 elementwise");
  });

  test("SMELT_DUMP_IR selects stages; unknown stages are a CompileError", () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    process.env["SMELT_DUMP_IR"] = "fused,traced";
    sm.compile((x: sm.Array) => x.neg())(sm.array([1]));
    expect(write).toHaveBeenCalledTimes(2);
    process.env["SMELT_DUMP_IR"] = "";
    sm.compile((x: sm.Array) => x.neg())(sm.array([1]));
    expect(write).toHaveBeenCalledTimes(8);
    process.env["SMELT_DUMP_IR"] = "bogus";
    expect(() => sm.compile((x: sm.Array) => x.neg())(sm.array([1]))).toThrow(/unknown IR stage "bogus"/);
  });
});

describe("compiled results match eager results", () => {
  test("a small MLP step", () => {
    const loss = (w: sm.Array, x: sm.Array, y: sm.Array) => sm.mean(sm.square(sm.tanh(x.matmul(w)).sub(y)));
    const w = sm.array([[0.5], [-0.25]]);
    const x = sm.array([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const y = sm.array([[0.1], [0.2], [0.3]]);
    expectClose(vals(sm.compile(loss)(w, x, y)), vals(loss(w, x, y)), 0);
  });
});
