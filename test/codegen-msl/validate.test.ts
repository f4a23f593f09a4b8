// The MSL validator: each of Metal's rules, broken by a hand-written kernel, is caught and named.
import { describe, expect, it } from "vitest";
import { CompileError } from "../../src/ir/index.js";
import { validateMsl } from "../../src/codegen-msl/validate.js";

const target = { name: "k0", entry: "add", threadsPerGroup: 256 };

/** A valid kernel, with parts replaceable to break one rule at a time. */
function kernel(parts: { params?: string; body?: string; returns?: string; before?: string } = {}): string {
  const params =
    parts.params ??
    [
      "device const float* a [[buffer(0)]]",
      "device float* out [[buffer(1)]]",
      "constant uint& n [[buffer(2)]]",
      "uint gid [[thread_position_in_grid]]",
    ].join(",\n    ");
  const body = parts.body ?? "if (gid >= n) return;\n  out[gid] = a[gid] * 2.0f + 0.5h;";
  return `${parts.before ?? ""}\nkernel ${parts.returns ?? "void"} add(\n    ${params}) {\n  ${body}\n}\n`;
}

function rejects(text: string, message: RegExp, t = target): void {
  let err: unknown;
  try {
    validateMsl(text, [t]);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CompileError);
  expect((err as Error).message).toMatch(/^kernel k0 \(add\): /);
  expect((err as Error).message).toMatch(message);
}

describe("validateMsl", () => {
  it("accepts a valid kernel and reports the version its features need", () => {
    expect(validateMsl(kernel(), [target])).toBe("2.0");
    const simd = kernel({ body: "out[gid] = simd_sum(a[gid]);" });
    expect(validateMsl(simd, [target])).toBe("2.3");
    const atomics = kernel({
      params: "device atomic_float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]",
      body: "atomic_fetch_add_explicit(&out[0], 1.0f, memory_order_relaxed);",
    });
    expect(validateMsl(atomics, [target])).toBe("3.0");
    const bf = kernel({ params: "device bfloat* out [[buffer(0)]], uint gid [[thread_position_in_grid]]", body: "out[gid] = bfloat(1.0f);" });
    expect(validateMsl(bf, [target])).toBe("3.1");
  });

  it("puts simdgroup_matrix at MSL 2.3 (and bfloat fragments at 3.1)", () => {
    const fragment = (t: string) =>
      kernel({
        body: `simdgroup_${t}8x8 m;\n  simdgroup_load(m, a, 8);\n  simdgroup_store(m, out, 8);`,
        params: `device const ${t}* a [[buffer(0)]], device ${t}* out [[buffer(1)]]`,
      });
    expect(validateMsl(fragment("float"), [target])).toBe("2.3");
    expect(validateMsl(fragment("half"), [target])).toBe("2.3");
    expect(validateMsl(fragment("bfloat"), [target])).toBe("3.1");
    const filled = kernel({ body: "simdgroup_matrix<float, 8, 8> m = make_filled_simdgroup_matrix<float, 8, 8>(1.0f);\n  simdgroup_store(m, out, 8);" });
    expect(validateMsl(filled, [target])).toBe("2.3");
    // A name that merely contains the words is not the feature.
    expect(validateMsl(kernel({ body: "const float simdgroup_loads = a[gid];\n  out[gid] = simdgroup_loads;" }), [target])).toBe("2.0");
  });

  it("ignores comments and the host-only trampolines", () => {
    const text = `${kernel()}// a 1.5 in a comment, and double\n#ifdef SMELT_HOST\nextern "C" void t(void* const* b, double x) {}\n#endif\n`;
    expect(validateMsl(text, [target])).toBe("2.0");
  });

  it("rejects double", () => {
    rejects(kernel({ body: "double x = a[gid]; out[gid] = float(x);" }), /double/);
  });

  it("rejects unsuffixed float literals, which are double", () => {
    rejects(kernel({ body: "out[gid] = a[gid] * 2.5;" }), /literal 2\.5 has no suffix/);
    rejects(kernel({ body: "out[gid] = a[gid] * 1e-3;" }), /literal 1e-3 has no suffix/);
    rejects(kernel({ body: "out[gid] = a[gid] * .5;" }), /literal \.5 has no suffix/);
  });

  it("rejects a pointer parameter without an address space", () => {
    rejects(kernel({ params: "const float* a [[buffer(0)]], uint gid [[thread_position_in_grid]]", body: "" }), /no address space/);
  });

  it("rejects a parameter without an attribute", () => {
    rejects(kernel({ params: "device float* a [[buffer(0)]], uint gid", body: "" }), /no attribute/);
  });

  it("rejects buffer slots out of range, bound twice, or more than 31", () => {
    rejects(kernel({ params: "device float* a [[buffer(31)]]", body: "" }), /slot 31 is outside 0\.\.30/);
    rejects(kernel({ params: "device float* a [[buffer(2)]], device float* b [[buffer(2)]]", body: "" }), /slot 2 is bound twice/);
    const many = Array.from({ length: 32 }, (_, i) => `device float* a${i} [[buffer(${i})]]`).join(", ");
    rejects(kernel({ params: many, body: "" }), /slot 31 is outside/);
  });

  it("rejects a buffer that is not a pointer, and a pointer to a pointer", () => {
    rejects(kernel({ params: "float a [[buffer(0)]]", body: "" }), /must be a pointer or a reference/);
    rejects(kernel({ params: "device float** a [[buffer(0)]]", body: "" }), /points to a pointer/);
  });

  it("rejects a kernel that returns a value", () => {
    rejects(kernel({ returns: "float", body: "return 1.0f;" }), /returns void, not float/);
  });

  it("rejects Metal-reserved words as names", () => {
    rejects(kernel({ body: "const float sampler = a[gid]; out[gid] = sampler;" }), /'sampler' is reserved/);
    rejects(kernel({ params: "device float* texture [[buffer(0)]]", body: "" }), /'texture' is reserved/);
    rejects(kernel({ before: "static inline float vertex(float x) { return x; }" }), /'vertex' is reserved/);
  });

  it("rejects more than 32 KiB of threadgroup memory", () => {
    const big = "threadgroup float t[8193];\n  t[gid] = 1.0f;\n  threadgroup_barrier(mem_flags::mem_threadgroup);";
    rejects(kernel({ body: big }), /32772 bytes of threadgroup memory/);
    const fits = "threadgroup float4 t[2048];\n  threadgroup_barrier(mem_flags::mem_threadgroup);";
    expect(validateMsl(kernel({ body: fits }), [target])).toBe("2.0");
    const vectors = "threadgroup float3 t[2049];\n  threadgroup_barrier(mem_flags::mem_threadgroup);";
    rejects(kernel({ body: vectors }), /32784 bytes/);
  });

  it("rejects more than 1024 threads per threadgroup", () => {
    rejects(kernel(), /1025 threads per threadgroup/, { ...target, threadsPerGroup: 1025 });
  });

  it("requires barriers over shared threadgroup memory to order threadgroup memory", () => {
    const none = "threadgroup float t[32];\n  t[gid % 32u] = a[gid];\n  out[gid] = t[0];";
    rejects(kernel({ body: none }), /without a threadgroup_barrier/);
    const device = "threadgroup float t[32];\n  t[gid % 32u] = a[gid];\n  threadgroup_barrier(mem_flags::mem_device);\n  out[gid] = t[0];";
    rejects(kernel({ body: device }), /does not order threadgroup memory/);
  });

  it("rejects mutable program-scope variables, recursion, lambdas and function pointers", () => {
    rejects(kernel({ before: "float scale = 2.0f;" }), /program-scope variable 'float scale = 2\.0f'/);
    rejects(kernel({ before: "uint table[2] = {1u, 2u};" }), /program-scope variable/);
    expect(validateMsl(kernel({ before: "constant uint table[2] = {1u, 2u};" }), [target])).toBe("2.0");
    rejects(kernel({ before: "static inline uint f(uint x) { return x == 0u ? 0u : f(x - 1u); }" }), /f calls itself/);
    rejects(kernel({ body: "auto g = [](float x) { return x; };\n  out[gid] = g(a[gid]);" }), /lambda/);
    rejects(kernel({ body: "float (*g)(float) = 0;\n  out[gid] = a[gid];" }), /function pointer/);
  });

  it("requires exactly the kernels the caller expects", () => {
    expect(() => validateMsl(kernel(), [{ ...target, entry: "other" }])).toThrow(/defines no kernel other/);
    expect(() => validateMsl(kernel(), [])).toThrow(/kernel add is not one the caller expects/);
  });
});
