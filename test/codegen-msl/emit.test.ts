// Kernel IR to MSL text: literal forms, schedules per kernel kind, structural names, launch
// facts, and the rules every emitted kernel keeps (checked here without a compiler).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitKernel, emitProgram, literal, MSL } from "../../src/codegen-msl/index.js";
import { CompileError, type Expr, idx, type Kernel, lit, parseFunc, type Program, sop } from "../../src/ir/index.js";
import { fuse } from "../../src/passes/fuse.js";
import { ProgramBuilder, ty } from "../passes/programs.js";
import { programText } from "./support/host.js";

const program = (name: string): Program => fuse(parseFunc(programText(name)));

/** The parameter list of each kernel function in `source`. */
function signatures(source: string): string[][] {
  return [...source.matchAll(/^kernel void \w+\(\n([\s\S]*?)\) \{$/gm)].map((m) =>
    m[1]!.split(",\n").map((p) => p.trim()),
  );
}

describe("literal", () => {
  it("writes each dtype's constants in MSL's forms", () => {
    const cases: [number, Parameters<typeof literal>[2], string][] = [
      [1.5, "float32", "1.5f"],
      [1, "float32", "1.0f"],
      [-2, "float32", "(-2.0f)"],
      [0.1, "float32", "0.1f"],
      [1e-8, "float32", "1e-8f"],
      [3e38, "float32", "3e+38f"],
      [-0, "float32", "(-0.0f)"],
      [NaN, "float32", "NAN"],
      [Infinity, "float32", "INFINITY"],
      [-Infinity, "float32", "(-INFINITY)"],
      [1.5, "float16", "1.5h"],
      [0.1, "float16", "0.1h"],
      [70000, "float16", "half(INFINITY)"],
      [NaN, "float16", "half(NAN)"],
      [1.5, "bfloat16", "bfloat(1.5f)"],
      [-3, "int32", "(-3)"],
      [-2147483648, "int32", "(-2147483647 - 1)"],
      [7, "int32", "7"],
      [4294967295, "uint32", "4294967295u"],
      [1, "bool", "true"],
      [0, "bool", "false"],
    ];
    for (const [v, d, want] of cases) expect(literal(MSL, v, d), `${v} as ${d}`).toBe(want);
  });

  it("a float literal reads back as the same float", () => {
    fc.assert(
      fc.property(fc.float({ noDefaultInfinity: true, noNaN: true }), (x) => {
        const text = literal(MSL, x, "float32").replace(/[()f]/g, "");
        expect(Math.fround(Number(text))).toBe(Math.fround(x));
      }),
    );
  });
});

describe("emitProgram on the test programs", () => {
  const expected: [string, string, string][] = [
    ["adam", "elementwise", "elementwise.contiguous"],
    ["softmax", "row", "threadgroup"],
    ["layernorm", "row", "threadgroup"],
    ["cross-entropy", "reduce", "threadgroup"],
    ["dense-relu", "matmul", "matmul.simdgroup"],
  ];
  for (const [name, kind, variant] of expected) {
    it(`${name}: one ${kind} kernel, scheduled ${variant}`, () => {
      const lib = emitProgram(program(name));
      expect(lib.kernels.map((k) => [k.kind, k.variant])).toEqual([[kind, variant]]);
      expect(lib.source).not.toMatch(/\bdouble\b/);
      expect(signatures(lib.source)).toHaveLength(1);
      for (const params of signatures(lib.source)) {
        for (const p of params.filter((x) => x.includes("*") || x.includes("&"))) {
          expect(p).toMatch(/^(device|constant) /);
        }
      }
    });
  }

  it("without cooperation, reductions run one thread per grid point with no synchronization", () => {
    for (const name of ["softmax", "layernorm", "cross-entropy"]) {
      const lib = emitProgram(program(name), { cooperative: false });
      expect(lib.kernels.every((k) => !k.cooperative && k.variant === "serial" && k.threadgroupBytes === 0)).toBe(true);
      expect(lib.source).not.toMatch(/threadgroup_barrier|simd_|threadgroup uint/);
    }
  });

  it("describes the launch: slots, metadata, threads, threadgroup memory", () => {
    const [softmax] = emitProgram(program("softmax")).kernels;
    expect(softmax!.buffers).toEqual([
      { name: "x", index: 0, access: "read", atomic: false, minBytes: 128 },
      { name: "out0", index: 1, access: "write", atomic: false, minBytes: 128 },
    ]);
    // One threadgroup per row; two reductions, each with one word per simdgroup.
    expect(softmax!.metaLayout).toEqual({ index: 2, bytes: 4, fields: [{ name: "n", offset: 0, value: 4 }] });
    expect(softmax!.grid).toEqual([4, 1, 1]);
    expect(softmax!.threadsPerGroup).toBe(32);
    expect(softmax!.threadgroupBytes).toBe(8);
    expect(softmax!.mslVersion).toBe("2.3");
    const [adam] = emitProgram(program("adam")).kernels;
    // 16 points, 4 per thread: 4 threads, in one simdgroup-sized group.
    expect([adam!.grid, adam!.threadsPerGroup, adam!.metaLayout.index]).toEqual([[1, 1, 1], 32, 7]);
  });

  it("computes a value shared by several statements once, in the outermost block it can", () => {
    const lib = emitProgram(program("softmax"));
    // The row offset is used by both reductions and the store loop.
    expect(lib.source.match(/group_i \* 8/g)).toHaveLength(1);
    const adam = emitProgram(program("adam")).source;
    // Whole runs of four points and the partial last run are two copies of the body.
    const whole = adam.slice(adam.indexOf("if (gid < meta.n / 4u) {"), adam.indexOf("else {"));
    expect(whole.match(/= b1\[/g)).toHaveLength(1); // %g is read once, used by two results
  });

  it("gives barrier-free kernels a body function and a range trampoline over it", () => {
    for (const name of ["adam", "softmax", "dense-relu"]) {
      for (const cooperative of [true, false]) {
        const lib = emitProgram(program(name), { cooperative });
        for (const k of lib.kernels) {
          const range = `extern "C" void smelt_host_range_${k.entry}(void* const* buffers, unsigned group_begin, unsigned group_end,`;
          expect(lib.source.includes(range), `${name} ${k.variant}`).toBe(!k.cooperative);
          expect(k.hostRangeEntry).toBe(k.cooperative ? undefined : `smelt_host_range_${k.entry}`);
          // The kernel of a barrier-free schedule only calls its body, which takes no attributes.
          if (!k.cooperative) {
            expect(lib.source).toContain(`inline __attribute__((always_inline)) void ${k.entry}_thread(\n    device `);
            expect(lib.source).toMatch(new RegExp(`\\[\\[thread_position_in_grid\\]\\]\\) \\{\\n  ${k.entry}_thread\\(b0, [^\\n]*meta, gid\\);\\n\\}`));
          }
        }
      }
    }
  });

  it("tests bounds once per run of contiguous points, and every point only in the last run", () => {
    const lib = emitProgram(program("adam")).source;
    const whole = lib.slice(lib.indexOf("if (gid < meta.n / 4u) {"), lib.indexOf("else {"));
    const tail = lib.slice(lib.indexOf("else {"), lib.indexOf("kernel void"));
    expect(whole).toContain("for (uint j = 0u; j < 4u; j++)");
    expect(whole).not.toContain("return");
    expect(tail).toContain("if (i >= meta.n) return;");
    // The range trampoline runs the threads with whole runs first, bounded by the same quotient.
    expect(lib).toContain("const unsigned whole = m.n / 4u;");
  });

  it("uses safe math and NaN-propagating max rather than Metal's max", () => {
    const lib = emitProgram(program("dense-relu")).source;
    expect(lib).toMatch(/smelt_max_f32\(/);
    expect(lib).not.toMatch(/metal::(?:fast::)?f?max\(/);
    expect(emitProgram(program("softmax")).source).toMatch(/metal::precise::exp\(/);
  });
});

describe("structural kernel names", () => {
  /** The same kernel over differently named buffers. */
  function renamed(k: Kernel, suffix: string): Kernel {
    const ren = (e: Expr): Expr => {
      switch (e.k) {
        case "load":
          return { ...e, buf: e.buf + suffix, index: ren(e.index) };
        case "op":
          return { ...e, args: e.args.map(ren) };
        case "random":
          return { ...e, key0: ren(e.key0), key1: ren(e.key1), counter: ren(e.counter) };
        default:
          return e;
      }
    };
    return {
      ...k,
      name: k.name + suffix,
      buffers: k.buffers.map((b) => ({ ...b, name: b.name + suffix })),
      reductions: k.reductions.map((r) => ({ ...r, body: ren(r.body) })),
      stores: k.stores.map((s) => ({ ...s, buf: s.buf + suffix, index: ren(s.index), value: ren(s.value) })),
    };
  }

  it("identical kernels share a name and one function; different ones do not", () => {
    const k = program("layernorm").kernels[0]!;
    const a = emitKernel(k);
    const b = emitKernel(renamed(k, "_other"));
    expect(b.info.entry).toBe(a.info.entry);
    expect(b.text).toBe(a.text);
    const p = program("softmax");
    const twice: Program = { ...p, kernels: [p.kernels[0]!, renamed(p.kernels[0]!, "_2")] };
    const lib = emitProgram(twice);
    expect(lib.kernels[0]!.entry).toBe(lib.kernels[1]!.entry);
    expect(lib.kernels[1]!.buffers.map((x) => x.name)).toEqual(["x_2", "out0_2"]);
    expect(lib.source.match(/^kernel void /gm)).toHaveLength(1);
    // Another constant is another kernel.
    const scaled = fuse(parseFunc(programText("layernorm").replace("0.0009765625", "0.001953125"))).kernels[0]!;
    expect(emitKernel(scaled).info.entry).not.toBe(a.info.entry);
    expect(a.info.entry).toMatch(/^smelt_row_[0-9a-f]{16}$/);
  });
});

describe("scatter-add", () => {
  const text = (t: string) => `func @s(%a: ${t}[5,3], %i: i32[7], %u: ${t}[7,3]) -> (${t}[5,3]) {
  %0 = scatter_add %a, %i, %u {axis = 0} : ${t}[5,3]
  return %0
}`;

  it("adds through relaxed atomics on 32-bit types", () => {
    for (const [t, atomic] of [
      ["f32", "atomic_float"],
      ["i32", "atomic_int"],
      ["u32", "atomic_uint"],
    ]) {
      const lib = emitProgram(fuse(parseFunc(text(t!))));
      const scatter = lib.kernels.find((k) => k.kind === "scatter")!;
      expect(scatter.variant).toBe("scatter.atomic");
      expect(scatter.buffers.find((b) => b.atomic)!.name).toBe("out0");
      expect(lib.source).toContain(`device ${atomic}* b`);
      expect(lib.source).toMatch(/if \(v\d+\) \{\n\s+atomic_fetch_add_explicit\(&b\d\[v\d+\], v\d+, memory_order_relaxed\);/);
    }
    expect(emitProgram(fuse(parseFunc(text("f32")))).mslVersion).toBe("3.0");
  });

  it("adds to 16-bit floats with a compare-and-swap on the containing word", () => {
    const lib = emitProgram(fuse(parseFunc(text("f16"))));
    expect(lib.source).toContain("atomic_compare_exchange_weak_explicit");
    const out = lib.kernels.find((k) => k.kind === "scatter")!.buffers.find((b) => b.atomic)!;
    expect(out.minBytes).toBe(32); // 15 halves, rounded up to whole words
  });

  it("rejects what has no atomic add", () => {
    const b = new ProgramBuilder().param("x", ty("bool", 4)).result("y", ty("bool", 4));
    b.kernel([{ out: "y", value: b.at("x"), mode: "add" }]);
    expect(() => emitProgram(b.build())).toThrow(CompileError);
    expect(() => emitProgram(b.build())).toThrow(/kernel k0: add-stores into bool buffer %y/);
  });
});

describe("errors", () => {
  it("a dot reduction whose body is not a product is a CompileError naming the kernel", () => {
    const k = program("dense-relu").kernels[0]!;
    const bad: Kernel = { ...k, reductions: [{ ...k.reductions[0]!, body: sop("add", [idx("r0"), lit(1, "int32")], "int32") }] };
    expect(() => emitKernel(bad)).toThrow(/kernel k0: the body of dot reduction %red0 is not a mul/);
  });
});
