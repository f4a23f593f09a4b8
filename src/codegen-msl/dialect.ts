// The C-family dialect the renderer writes. MSL is the one that ships; the host device compiles
// the same text as C++ through smelt_msl_host.h, so nothing here is host-specific. Keeping every
// spelling in one table keeps the renderer free of Metal trivia and lets a second dialect be a
// second table.
import type { DType } from "../ir/index.js";

/** Thread-position builtins a kernel may take, by role. */
export type Builtin =
  | "threadInGrid"
  | "threadInGroup"
  | "groupInGrid"
  | "threadsPerGroup"
  | "lane"
  | "simdgroup"
  | "simdgroupsPerGroup";

export type MathFn =
  | "exp"
  | "log"
  | "sin"
  | "cos"
  | "tanh"
  | "sqrt"
  | "rsqrt"
  | "pow"
  | "fma"
  | "fabs"
  | "floor"
  | "ceil"
  | "rint"
  | "fmod"
  | "signbit";

export interface Dialect {
  /** Text before every library. */
  readonly preamble: readonly string[];
  readonly kernelPrefix: string;
  /** A function the compiler must inline (a barrier-free kernel's body, into the host's loop over threads). */
  readonly inlinePrefix: string;
  readonly addressSpace: { readonly device: string; readonly constant: string; readonly threadgroup: string };
  /** Attribute text of a buffer slot, e.g. `[[buffer(3)]]`. */
  buffer(slot: number): string;
  /** The attribute and the parameter name and type of each builtin. */
  readonly builtins: { readonly [B in Builtin]: { readonly attr: string; readonly type: string; readonly name: string } };
  /** The field of the host runtime's `smelt_thread` that carries each builtin. */
  readonly hostThreadField: { readonly [B in Builtin]: string };
  readonly barrier: string;
  /** simdgroup_matrix (MSL 2.3): the float fragment, and the functions smelt's matmul tiles call. */
  readonly simdgroupMatrix: {
    readonly float8x8: string;
    /** Applied to a scalar, gives a fragment with every element equal to it. */
    readonly fill: string;
    readonly load: string;
    readonly store: string;
    readonly multiplyAccumulate: string;
  };
  /** Host-only: what the per-thread trampoline of a kernel using fragments sets to the lane first. */
  readonly hostLane: string;
  readonly simdSum: string;
  readonly simdShuffleXor: string;
  /** Lanes of a simdgroup the kernels are written for. */
  readonly simdWidth: number;
  readonly types: { readonly [D in DType]: string };
  /** Atomic element types for add-stores, where the dialect has one. */
  readonly atomicTypes: { readonly [D in DType]?: string };
  readonly atomicAdd: string;
  readonly atomicLoad: string;
  readonly atomicCompareExchange: string;
  readonly relaxed: string;
  readonly bitcast: string;
  /** Float literal suffixes: `1.5f`, `1.5h`; bfloat has none and is written `bfloat(1.5f)`. */
  readonly floatSuffix: { readonly float32: string; readonly float16: string };
  readonly unsignedSuffix: string;
  readonly infinity: string;
  readonly nan: string;
  readonly math: { readonly [F in MathFn]: string };
  /** The guard that keeps Metal from reading host-only text (the trampolines). */
  readonly hostOnly: { readonly begin: string; readonly end: string };
}

export const MSL: Dialect = {
  preamble: ["#ifndef SMELT_HOST", "#include <metal_stdlib>", "#endif", "using namespace metal;"],
  kernelPrefix: "kernel void",
  inlinePrefix: "inline __attribute__((always_inline)) void",
  addressSpace: { device: "device", constant: "constant", threadgroup: "threadgroup" },
  buffer: (slot) => `[[buffer(${slot})]]`,
  builtins: {
    threadInGrid: { attr: "[[thread_position_in_grid]]", type: "uint", name: "gid" },
    threadInGroup: { attr: "[[thread_position_in_threadgroup]]", type: "uint", name: "tid" },
    groupInGrid: { attr: "[[threadgroup_position_in_grid]]", type: "uint", name: "group" },
    threadsPerGroup: { attr: "[[threads_per_threadgroup]]", type: "uint", name: "nthreads" },
    lane: { attr: "[[thread_index_in_simdgroup]]", type: "uint", name: "lane" },
    simdgroup: { attr: "[[simdgroup_index_in_threadgroup]]", type: "uint", name: "sg" },
    simdgroupsPerGroup: { attr: "[[simdgroups_per_threadgroup]]", type: "uint", name: "nsimd" },
  },
  hostThreadField: {
    threadInGrid: "position_in_grid",
    threadInGroup: "position_in_threadgroup",
    groupInGrid: "threadgroup_in_grid",
    threadsPerGroup: "threadgroup_size",
    lane: "lane",
    simdgroup: "simdgroup",
    simdgroupsPerGroup: "simdgroup_count",
  },
  barrier: "threadgroup_barrier(mem_flags::mem_threadgroup)",
  simdgroupMatrix: {
    float8x8: "simdgroup_float8x8",
    fill: "make_filled_simdgroup_matrix<float, 8, 8>",
    load: "simdgroup_load",
    store: "simdgroup_store",
    multiplyAccumulate: "simdgroup_multiply_accumulate",
  },
  hostLane: "smelt_lane",
  simdSum: "simd_sum",
  simdShuffleXor: "simd_shuffle_xor",
  simdWidth: 32,
  types: { float32: "float", float16: "half", bfloat16: "bfloat", int32: "int", uint32: "uint", bool: "bool" },
  atomicTypes: { float32: "atomic_float", int32: "atomic_int", uint32: "atomic_uint" },
  atomicAdd: "atomic_fetch_add_explicit",
  atomicLoad: "atomic_load_explicit",
  atomicCompareExchange: "atomic_compare_exchange_weak_explicit",
  relaxed: "memory_order_relaxed",
  bitcast: "as_type",
  floatSuffix: { float32: "f", float16: "h" },
  unsignedSuffix: "u",
  infinity: "INFINITY",
  nan: "NAN",
  // Safe math: smelt never compiles with fast-math, and names the precise variants explicitly.
  math: {
    exp: "metal::precise::exp",
    log: "metal::precise::log",
    sin: "metal::precise::sin",
    cos: "metal::precise::cos",
    tanh: "metal::precise::tanh",
    sqrt: "metal::precise::sqrt",
    rsqrt: "metal::precise::rsqrt",
    pow: "metal::precise::pow",
    fma: "metal::fma",
    fabs: "metal::fabs",
    floor: "metal::floor",
    ceil: "metal::ceil",
    rint: "metal::rint",
    fmod: "metal::fmod",
    signbit: "metal::signbit",
  },
  hostOnly: { begin: "#ifdef SMELT_HOST", end: "#endif" },
};
