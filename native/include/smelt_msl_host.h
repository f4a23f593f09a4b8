// smelt_msl_host.h: makes the MSL that smelt emits compile as C++ (clang 17 or later), with
// Metal's address spaces kept as real clang address spaces so that mixing them is an error.
// Force-include it (`clang++ -std=c++17 -nostdinc++ -include smelt_msl_host.h lib.metal`); the
// MSL text itself is unchanged. No C or C++ standard header is included: a kernel reaching for
// `std::`, libm overloads or `double` must fail here as it does on Metal.
//
// ABI between a kernel library built with this header and the host runtime (SMELT_HOST_ABI 2)
// ---------------------------------------------------------------------------------------------
// * A library is one translation unit: this header, then one program's MSL. After each kernel
//   `K` the MSL holds, under `#ifdef SMELT_HOST`, a trampoline
//       extern "C" void smelt_host_K(void* const* buffers, const smelt_thread* t);
//   `buffers[i]` is the base address of the buffer bound at `[[buffer(i)]]` (the kernel's
//   metadata struct is one of them). Grids are one-dimensional: the runtime calls the
//   trampoline once for each thread of `threadgroup_count` groups of `threadgroup_size`
//   threads, filling `smelt_thread` (below) as Metal fills the thread-position builtins.
// * Simdgroups are 32 lanes: thread_index_in_simdgroup = thread_position_in_threadgroup % 32.
// * Threadgroup memory is `static thread_local` storage of the kernel: every thread of one
//   threadgroup runs on one OS thread (as fibers when the kernel meets a barrier or a simd
//   function), and an OS thread runs one threadgroup at a time, to its end.
// * Barrier-free kernels also get a range trampoline
//       extern "C" void smelt_host_range_K(void* const* buffers, unsigned group_begin,
//                                          unsigned group_end, unsigned threads_per_group,
//                                          unsigned groups);
//   that runs every thread of groups [group_begin, group_end) in order, in the library's own
//   translation unit, so the loop over threads inlines the kernel and can vectorize.
// * The runtime's services come through one table. The library defines the pointer
//       extern "C" const smelt_runtime* smelt_host_runtime;   // null until bound
//   and the runtime stores its table there after loading the library, before any dispatch
//   (no symbol of the runtime needs to be visible to the library's loader).
//   A barrier is met by every thread of the threadgroup; a simd function by every lane of the
//   caller's simdgroup (all 32 lanes: smelt's kernels never call one with lanes retired).
//   `simd_allgather_f32x2` is the collective under simdgroup_matrix: every lane gives two floats
//   and receives all 64, lane l's pair at all[2l], all[2l + 1].
// * The library exports `const unsigned smelt_host_abi_version` (= SMELT_HOST_ABI).
#ifndef SMELT_MSL_HOST_H
#define SMELT_MSL_HOST_H

#define SMELT_HOST 1
#define SMELT_HOST_ABI 2

// ------------------------------------------------------------------ runtime ABI
// The MSL builtin each field stands for is in its comment (those names are macros below).
struct smelt_thread {
  unsigned position_in_grid;         // thread_position_in_grid
  unsigned position_in_threadgroup;  // thread_position_in_threadgroup
  unsigned threadgroup_in_grid;      // threadgroup_position_in_grid
  unsigned threadgroup_size;         // threads_per_threadgroup
  unsigned threadgroup_count;        // threadgroups_per_grid
  unsigned lane;                     // thread_index_in_simdgroup
  unsigned simdgroup;                // simdgroup_index_in_threadgroup
  unsigned simdgroup_count;          // simdgroups_per_threadgroup
  unsigned simd_width;               // threads_per_simdgroup (32)
};

struct smelt_runtime {
  unsigned abi;  // SMELT_HOST_ABI of the runtime
  void (*threadgroup_barrier)(unsigned mem_flags);
  float (*simd_sum_f32)(float);
  int (*simd_sum_i32)(int);            // wraps
  unsigned (*simd_sum_u32)(unsigned);  // wraps
  unsigned (*simd_shuffle_xor_u32)(unsigned value, unsigned lane_mask);
  void (*simd_allgather_f32x2)(float a, float b, float* all);
};
extern "C" const smelt_runtime* smelt_host_runtime = nullptr;

inline void smelt_threadgroup_barrier(unsigned mem_flags) { smelt_host_runtime->threadgroup_barrier(mem_flags); }
inline float smelt_simd_sum_f32(float x) { return smelt_host_runtime->simd_sum_f32(x); }
inline int smelt_simd_sum_i32(int x) { return smelt_host_runtime->simd_sum_i32(x); }
inline unsigned smelt_simd_sum_u32(unsigned x) { return smelt_host_runtime->simd_sum_u32(x); }
inline unsigned smelt_simd_shuffle_xor_u32(unsigned value, unsigned lane_mask) {
  return smelt_host_runtime->simd_shuffle_xor_u32(value, lane_mask);
}
inline void smelt_simd_allgather_f32x2(float a, float b, float* all) {
  smelt_host_runtime->simd_allgather_f32x2(a, b, all);
}
extern "C" const unsigned smelt_host_abi_version = SMELT_HOST_ABI;

// ------------------------------------------------------------------ address spaces
// `threadgroup` only declares kernel-scope arrays (smelt never passes threadgroup pointers):
// C++ has no automatic variables in an address space, so they become per-OS-thread statics.
#define device __attribute__((address_space(1)))
#define constant __attribute__((address_space(2))) const
#define threadgroup static thread_local __attribute__((address_space(3)))
#define thread

// ------------------------------------------------------------------ attributes
// Each MSL attribute is an annotation, so a misspelled one is an unknown attribute (an error
// with -Werror=unknown-attributes); buffer slots outside 0..30 fail to compile.
namespace smelt_detail {
template <int I>
struct buffer_slot {
  static_assert(I >= 0 && I <= 30, "Metal has buffer slots 0..30");
  static constexpr int value = I;
};
}  // namespace smelt_detail

#define kernel [[clang::annotate("msl.kernel")]]
#define buffer(i) clang::annotate("msl.buffer", smelt_detail::buffer_slot<i>::value)
#define thread_position_in_grid clang::annotate("msl.thread_position_in_grid")
#define thread_position_in_threadgroup clang::annotate("msl.thread_position_in_threadgroup")
#define threadgroup_position_in_grid clang::annotate("msl.threadgroup_position_in_grid")
#define threads_per_threadgroup clang::annotate("msl.threads_per_threadgroup")
#define threadgroups_per_grid clang::annotate("msl.threadgroups_per_grid")
#define thread_index_in_simdgroup clang::annotate("msl.thread_index_in_simdgroup")
#define simdgroup_index_in_threadgroup clang::annotate("msl.simdgroup_index_in_threadgroup")
#define simdgroups_per_threadgroup clang::annotate("msl.simdgroups_per_threadgroup")
#define threads_per_simdgroup clang::annotate("msl.threads_per_simdgroup")

// ------------------------------------------------------------------ types
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef _Float16 half;
typedef __bf16 bfloat;

#define SMELT_VECTORS(T)                                 \
  typedef T T##2 __attribute__((ext_vector_type(2))); \
  typedef T T##3 __attribute__((ext_vector_type(3))); \
  typedef T T##4 __attribute__((ext_vector_type(4)));
SMELT_VECTORS(float)
SMELT_VECTORS(half)
SMELT_VECTORS(int)
SMELT_VECTORS(uint)
#undef SMELT_VECTORS

// `float4(a, b, c, d)` and `float4(x)` are MSL constructors, not C++; a function-like macro of
// the type's name (which fires only before `(`) builds the vector.
namespace smelt_detail {
template <class V, class A>
inline V make_vector(A a) {
  return (V)a;  // one scalar fills every lane
}
template <class V, class A, class B, class... C>
inline V make_vector(A a, B b, C... c) {
  return V{a, b, c...};
}
}  // namespace smelt_detail
#define float2(...) smelt_detail::make_vector<float2>(__VA_ARGS__)
#define float3(...) smelt_detail::make_vector<float3>(__VA_ARGS__)
#define float4(...) smelt_detail::make_vector<float4>(__VA_ARGS__)
#define int2(...) smelt_detail::make_vector<int2>(__VA_ARGS__)
#define int3(...) smelt_detail::make_vector<int3>(__VA_ARGS__)
#define int4(...) smelt_detail::make_vector<int4>(__VA_ARGS__)
#define uint2(...) smelt_detail::make_vector<uint2>(__VA_ARGS__)
#define uint3(...) smelt_detail::make_vector<uint3>(__VA_ARGS__)
#define uint4(...) smelt_detail::make_vector<uint4>(__VA_ARGS__)

// MSL's `1.5h` half literal. Suffixes without `_` are reserved to the implementation in C++,
// which this header is standing in for.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wuser-defined-literals"
constexpr half operator""h(long double v) { return (half)v; }
#pragma clang diagnostic pop

#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define MAXFLOAT 0x1.fffffep+127f

// ------------------------------------------------------------------ the metal namespace
namespace metal {

template <class T, class U>
inline T as_type(U u) {
  static_assert(sizeof(T) == sizeof(U), "as_type needs types of one size");
  return __builtin_bit_cast(T, u);
}

// Every math function computes in float and converts back: half and bfloat arguments are exact
// in float, as they are on the GPU.
#define SMELT_MATH1(name, builtin) \
  template <class T>               \
  inline T name(T x) {             \
    return T(builtin(float(x)));   \
  }
#define SMELT_MATH2(name, builtin) \
  template <class T>               \
  inline T name(T x, T y) {        \
    return T(builtin(float(x), float(y))); \
  }
#define SMELT_MATH_ALL                          \
  SMELT_MATH1(exp, __builtin_expf)              \
  SMELT_MATH1(exp2, __builtin_exp2f)            \
  SMELT_MATH1(log, __builtin_logf)              \
  SMELT_MATH1(log2, __builtin_log2f)            \
  SMELT_MATH1(sin, __builtin_sinf)              \
  SMELT_MATH1(cos, __builtin_cosf)              \
  SMELT_MATH1(tan, __builtin_tanf)              \
  SMELT_MATH1(tanh, __builtin_tanhf)            \
  SMELT_MATH1(sqrt, __builtin_sqrtf)            \
  SMELT_MATH2(pow, __builtin_powf)              \
  SMELT_MATH2(powr, __builtin_powf)             \
  SMELT_MATH2(fmod, __builtin_fmodf)            \
  template <class T>                            \
  inline T rsqrt(T x) {                         \
    return T(1.0f / __builtin_sqrtf(float(x))); \
  }

SMELT_MATH_ALL
namespace precise {
SMELT_MATH_ALL
}
namespace fast {
SMELT_MATH_ALL
}
#undef SMELT_MATH_ALL
#undef SMELT_MATH2

SMELT_MATH1(floor, __builtin_floorf)
SMELT_MATH1(ceil, __builtin_ceilf)
SMELT_MATH1(trunc, __builtin_truncf)
SMELT_MATH1(rint, __builtin_rintf)
SMELT_MATH1(fabs, __builtin_fabsf)
#undef SMELT_MATH1

inline float abs(float x) { return __builtin_fabsf(x); }
inline half abs(half x) { return half(__builtin_fabsf(float(x))); }
inline int abs(int x) { return x < 0 ? int(0u - uint(x)) : x; }
template <class T>
inline T fma(T a, T b, T c) {
  return T(__builtin_fmaf(float(a), float(b), float(c)));
}
template <class T>
inline bool signbit(T x) {
  return __builtin_signbit(float(x));
}
template <class T>
inline bool isnan(T x) {
  return __builtin_isnan(float(x));
}
template <class T>
inline bool isinf(T x) {
  return __builtin_isinf(float(x));
}
// Metal's min/max/fmin/fmax return the other operand when one is NaN (smelt does not use them
// where NaN must propagate).
template <class T>
inline T fmax(T a, T b) {
  return T(__builtin_fmaxf(float(a), float(b)));
}
template <class T>
inline T fmin(T a, T b) {
  return T(__builtin_fminf(float(a), float(b)));
}
template <class T>
inline T max(T a, T b) {
  return a > b ? a : b;
}
template <class T>
inline T min(T a, T b) {
  return a < b ? a : b;
}
template <class T>
inline T clamp(T x, T lo, T hi) {
  return min(max(x, lo), hi);
}
template <class T>
inline T select(T a, T b, bool c) {
  return c ? b : a;
}
inline uint clz(uint x) { return x == 0u ? 32u : uint(__builtin_clz(x)); }

// ---------------------------------------------------------------- synchronization
enum class mem_flags : uint { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };
inline void threadgroup_barrier(mem_flags f) { smelt_threadgroup_barrier(uint(f)); }

inline float simd_sum(float x) { return smelt_simd_sum_f32(x); }
inline int simd_sum(int x) { return smelt_simd_sum_i32(x); }
inline uint simd_sum(uint x) { return smelt_simd_sum_u32(x); }
template <class T>
inline T simd_shuffle_xor(T x, ushort mask) {
  static_assert(sizeof(T) == 4, "simd_shuffle_xor is provided for 32-bit types");
  return as_type<T>(smelt_simd_shuffle_xor_u32(as_type<uint>(x), mask));
}

// ---------------------------------------------------------------- atomics
enum memory_order { memory_order_relaxed = __ATOMIC_RELAXED };
template <class T>
struct atomic {
  T value;
};
typedef atomic<int> atomic_int;
typedef atomic<uint> atomic_uint;
typedef atomic<float> atomic_float;

template <class T>
inline T atomic_fetch_add_explicit(device atomic<T>* a, T v, memory_order) {
  return __atomic_fetch_add(&a->value, v, __ATOMIC_RELAXED);
}
template <class T>
inline T atomic_load_explicit(device atomic<T>* a, memory_order) {
  T r;
  __atomic_load(&a->value, &r, __ATOMIC_RELAXED);
  return r;
}
template <class T>
inline void atomic_store_explicit(device atomic<T>* a, T v, memory_order) {
  __atomic_store(&a->value, &v, __ATOMIC_RELAXED);
}
template <class T>
inline bool atomic_compare_exchange_weak_explicit(device atomic<T>* a, thread T* expected, T desired, memory_order,
                                                  memory_order) {
  return __atomic_compare_exchange_n(&a->value, expected, desired, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

}  // namespace metal

// What MSL does not have must not compile here either.
#pragma GCC poison double goto new delete throw try catch virtual typeid dynamic_cast
#pragma GCC poison malloc free printf

#endif  // SMELT_MSL_HOST_H
