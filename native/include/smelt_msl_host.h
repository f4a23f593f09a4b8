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
// * Every thread of one threadgroup runs on one OS thread (as fibers when the kernel meets a
//   barrier or a simd function), and an OS thread runs one threadgroup at a time, to its end.
// * Threadgroup memory is the runtime's 32 KiB arena of the OS thread running the group
//   (`smelt_host_runtime->threadgroup_memory()`, 16-byte aligned, filled with 0xFF before each
//   group in debug dispatches). C++ has no automatic variables in an address space, so the
//   source is rewritten before compiling for the host (runtime/native.ts `hostSource`), one line
//   for one line: each kernel-scope declaration
//       threadgroup T name[N]...;        (T a scalar or vector type, N integer literals)
//   becomes
//       SMELT_THREADGROUP(T, name, [N]..., OFFSET, BYTES);
//   a reference into the arena, OFFSET a multiple of 16 counted from 0 in each kernel, BYTES
//   the declaration's size; a kernel declaring more than 32 KiB is an error. `threadgroup`
//   anywhere else (a pointer to threadgroup memory) is the address space.
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
//   The barrier receives its call site's line: all threads of one round must meet at one site.
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
  void (*threadgroup_barrier)(unsigned mem_flags, unsigned site);  // site: the caller's line
  float (*simd_sum_f32)(float);
  int (*simd_sum_i32)(int);            // wraps
  unsigned (*simd_sum_u32)(unsigned);  // wraps
  unsigned (*simd_shuffle_xor_u32)(unsigned value, unsigned lane_mask);
  void (*simd_allgather_f32x2)(float a, float b, float* all);
  unsigned char* (*threadgroup_memory)(void);  // the running group's 32 KiB arena
};
extern "C" const smelt_runtime* smelt_host_runtime = nullptr;

inline void smelt_threadgroup_barrier(unsigned mem_flags, unsigned site) {
  smelt_host_runtime->threadgroup_barrier(mem_flags, site);
}
inline float smelt_simd_sum_f32(float x) { return smelt_host_runtime->simd_sum_f32(x); }
inline int smelt_simd_sum_i32(int x) { return smelt_host_runtime->simd_sum_i32(x); }
inline unsigned smelt_simd_sum_u32(unsigned x) { return smelt_host_runtime->simd_sum_u32(x); }
inline unsigned smelt_simd_shuffle_xor_u32(unsigned value, unsigned lane_mask) {
  return smelt_host_runtime->simd_shuffle_xor_u32(value, lane_mask);
}
inline void smelt_simd_allgather_f32x2(float a, float b, float* all) {
  smelt_host_runtime->simd_allgather_f32x2(a, b, all);
}
inline unsigned char* smelt_threadgroup_memory() { return smelt_host_runtime->threadgroup_memory(); }
// What hostSource() turns a kernel-scope `threadgroup T name[N];` into (see the ABI above). The
// size check makes a layout computed with a wrong element size a compile error, not an overlap.
#define SMELT_THREADGROUP(T, name, dims, offset, bytes)                                         \
  static_assert(sizeof(T dims) == (bytes) && (offset) % 16 == 0 && (offset) + (bytes) <= 32768, \
                "threadgroup layout of " #name);                                                \
  __attribute__((address_space(3))) T(&name) dims =                                             \
      *(__attribute__((address_space(3))) T(*) dims)(smelt_threadgroup_memory() + (offset))
extern "C" const unsigned smelt_host_abi_version = SMELT_HOST_ABI;

// ------------------------------------------------------------------ address spaces
// Kernel-scope `threadgroup` declarations are rewritten into the runtime's arena (see the ABI
// above); what is left of `threadgroup` qualifies pointers into it.
#define device __attribute__((address_space(1)))
#define constant __attribute__((address_space(2))) const
#define threadgroup __attribute__((address_space(3)))
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
//
// The transcendental functions (exp, exp2, log, log2, sin, cos, tan, tanh, pow, powr) are
// written out instead of calling libm: clang "vectorizes" a loop calling libm with one scalar
// call per lane, and the range trampolines exist so that fused kernels run in vector registers.
// Each is straight-line code (both sides of a choice are computed, then one is selected) and
// reads no table. Rounding to an integer adds and subtracts 1.5 * 2^23 (2^52 in double) instead
// of calling rint, which needs SSE4.1 on x86. floor, ceil, trunc, rint and fma use their
// builtins only where those are single instructions (see below). Nothing here may be compiled
// with -ffast-math: that rounding, and every special-value test, rely on IEEE semantics.
//
// Accuracy target: the MSL specification, section 8.4 "ULPs and Relative Error", Table 8.1
// (single precision, fast math off; smelt names the metal::precise variants):
//   exp, exp2, log, log2, sin, cos <= 4 ulp; tanh <= 5 ulp; tan <= 6 ulp; pow, powr <= 16 ulp;
//   sqrt, rsqrt, floor, ceil, rint, trunc, fma correctly rounded; fabs, fmin, fmax, fmod 0 ulp.
// Table 8.1 gives sin/cos/tan no domain; smelt_math::reduce_pio2 says where this one ends.
// test/codegen-msl/math.test.ts measures each function against those bounds. Section 8.1 lets
// Metal flush subnormal operands and results to zero; these functions keep them (gradual
// underflow), which section 8.5 also allows. fast:: aliases precise:: (Table 8.2's fast-math
// bounds are all looser).
//
// Always inlined: a fused kernel calling several of them must still inline into the range loop.
// That costs compile time, about 2 ms of clang -O2 per call of exp and 20 ms per call of pow.
#define SMELT_INLINE inline __attribute__((always_inline))
namespace smelt_math {
typedef unsigned u32;
typedef unsigned long long u64;

SMELT_INLINE u32 bits(float x) { return __builtin_bit_cast(u32, x); }
SMELT_INLINE float float_of(u32 b) { return __builtin_bit_cast(float, b); }
SMELT_INLINE u64 bits(double x) { return __builtin_bit_cast(u64, x); }
SMELT_INLINE double double_of(u64 b) { return __builtin_bit_cast(double, b); }

constexpr u32 kSign = 0x80000000u;
// v + kRound - kRound is v rounded to an integer (ties to even) for |v| < 2^22, and the low
// bits of v + kRound are that integer in two's complement.
constexpr float kRound = 0x1.8p23f;
constexpr double kRound64 = 0x1.8p52;

SMELT_INLINE float abs_f32(float x) { return float_of(bits(x) & ~kSign); }

// NaN passes through both clamps (every comparison with it is false).
SMELT_INLINE float clamp_f32(float x, float lo, float hi) { return x > hi ? hi : (x < lo ? lo : x); }

// p * 2^k for k in [-252, 254]: one normal float spans 2^-126..2^127, two factors span exp's
// and exp2's results, and the second product rounds a subnormal result once.
SMELT_INLINE float scale2(float p, int k) {
  const int k1 = k >> 1;
  const int k2 = k - k1;
  return p * float_of(u32(k1 + 127) << 23) * float_of(u32(k2 + 127) << 23);
}

// e^x. Cephes expf (S. Moshier): x = k ln2 + r with ln2 = C1 + C2, C1 = 0.693359375 having 9
// significant bits so k * C1 is exact for |k| <= 150; then a degree-6 polynomial on |r| <= ln2/2.
SMELT_INLINE float exp_f32(float x) {
  // e^89 is inf and e^-104 rounds to 0 in float.
  const float xc = clamp_f32(x, -104.0f, 89.0f);
  const float t = xc * 0x1.715476p+0f + kRound;
  const int k = int(bits(t) - bits(kRound));
  const float kf = t - kRound;
  const float r = (xc - kf * 0.693359375f) - kf * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return scale2((p * z + r) + 1.0f, k);
}

// 2^x. x = k + r exactly with |r| <= 1/2; 2^r by the Cephes exp2f polynomial.
SMELT_INLINE float exp2_f32(float x) {
  // 2^129 is inf and 2^-151 rounds to 0.
  const float xc = clamp_f32(x, -151.0f, 129.0f);
  const float t = xc + kRound;
  const int k = int(bits(t) - bits(kRound));
  const float r = xc - (t - kRound);
  float p = 1.535336188319500e-4f;
  p = p * r + 1.339887440266574e-3f;
  p = p * r + 9.618437357674640e-3f;
  p = p * r + 5.550332471162809e-2f;
  p = p * r + 2.402264791363012e-1f;
  p = p * r + 6.931472028550421e-1f;
  return scale2(p * r + 1.0f, k);
}

// x = 2^e (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)), f exact; meaningful for finite x > 0.
struct LogParts {
  float f;
  int e;
};
SMELT_INLINE LogParts log_parts(float x) {
  // A subnormal is scaled into the normal range first.
  const bool tiny = x < 0x1p-126f;
  const u32 b = bits(tiny ? x * 0x1p23f : x);
  const int e = int(b >> 23) - (tiny ? 126 + 23 : 126);  // x = 2^e m, m in [1/2, 1)
  const float m = float_of((b & 0x007fffffu) | 0x3f000000u);
  const bool low = m < 0x1.6a09e6p-1f;
  return {low ? (m + m) - 1.0f : m - 1.0f, low ? e - 1 : e};
}

// log(1 + f) - f + f^2/2 on f in [sqrt(1/2) - 1, sqrt(2) - 1]: Cephes logf's polynomial.
SMELT_INLINE float log1p_tail(float f, float z) {
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  return p * f * z;
}

// The value of log or log2 at zero, negative, infinite and NaN x; `r` elsewhere.
SMELT_INLINE float log_edges(float x, float r) {
  const float edge = x == 0.0f ? -INFINITY : (x < 0.0f ? NAN : x);
  return ((x > 0.0f) & (x < INFINITY)) ? r : edge;
}

// log(x) = e ln2 + log(1 + f), with ln2 = C1 + C2 as in exp_f32 (Cephes logf).
SMELT_INLINE float log_f32(float x) {
  const LogParts p = log_parts(x);
  const float z = p.f * p.f;
  const float ef = float(p.e);
  float y = log1p_tail(p.f, z);
  y = y + ef * -2.12194440e-4f;
  y = y + -0.5f * z;
  const float r = (p.f + y) + ef * 0.693359375f;
  return log_edges(x, r);
}

// log2(x) = e + log2(e) log(1 + f); log2(e) = 1 + 0.4427..., so only the small part of that
// product is rounded (Cephes log2f).
SMELT_INLINE float log2_f32(float x) {
  const LogParts p = log_parts(x);
  const float z = p.f * p.f;
  const float y = log1p_tail(p.f, z) + -0.5f * z;
  const float log2e_minus_1 = 0.44269504088896340736f;
  const float r = (((y * log2e_minus_1 + p.f * log2e_minus_1) + y) + p.f) + float(p.e);
  return log_edges(x, r);
}

// tanh(x): an odd polynomial below 0.625, 1 - 2/(e^2|x| + 1) above (Cephes tanhf), which is 1
// from |x| ~ 9 on and stays 1 when e^2|x| overflows. Computed on |x|; the sign goes back on
// last, so tanh(-0) = -0 and tanh(-inf) = -1.
SMELT_INLINE float tanh_f32(float x) {
  const float a = abs_f32(x);
  const float s = a * a;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  const float near = p * s * a + a;
  const float far = 1.0f - 2.0f / (exp_f32(a + a) + 1.0f);
  return float_of(bits(a < 0.625f ? near : far) | (bits(x) & kSign));
}

// |x| = n pi/2 + r, r in about [-pi/4, pi/4]; the caller restores the sign of x.
struct Quadrant {
  float r;
  u32 n;
};
// Cody-Waite in double: pi/2 = P1 + P2 + P3 + P4 with P1..P3 of 14 bits, so n * Pi is exact
// for n < 2^39 and every subtraction but the last is exact; pi/2 is carried to 2^-103, and r is
// off by one rounding plus at most 2^-63. No float below 2^40 lies closer than 2^-29 to a
// multiple of pi/2 (found by exhaustive search), so r keeps float precision; float arithmetic
// alone needs about twenty exact steps for the same. From |x| = 2^39 (5.5e11) on, a correct r needs 2/pi's bits at
// an offset chosen by the exponent (Payne-Hanek), a table lookup or a cascade of selects that
// straight-line code would pay on every element: there r = 0 and n = 0 (sin 0, cos 1, tan 0),
// finite but not Table 8.1's accuracy, which has no domain for sin, cos and tan.
SMELT_INLINE Quadrant reduce_pio2(float a) {
  const double d = double(a);
  const double t = d * 0x1.45f306dc9c883p-1 + kRound64;  // 2/pi
  const double n = t - kRound64;
  const double r3 = ((d - n * 0x1.922p+0) - n * -0x1.2afp-18) - n * 0x1.0b48p-34;
  const double r = r3 - n * -0x1.ee59d9cceba4p-50;
  const bool huge = (a >= 0x1p39f) & (a < INFINITY);
  return {huge ? 0.0f : float(r), huge ? 0u : u32(bits(t))};
}

// sin(r) and cos(r) on |r| <= pi/4: the Cephes sinf and cosf polynomials.
SMELT_INLINE float sin_kernel(float r) {
  const float z = r * r;
  float p = -1.9515295891e-4f;
  p = p * z + 8.3321608736e-3f;
  p = p * z - 1.6666654611e-1f;
  return p * z * r + r;
}
SMELT_INLINE float cos_kernel(float r) {
  const float z = r * r;
  float p = 2.443315711809948e-5f;
  p = p * z - 1.388731625493765e-3f;
  p = p * z + 4.166664568298827e-2f;
  return (p * z * z - 0.5f * z) + 1.0f;
}

SMELT_INLINE float sin_f32(float x) {
  const Quadrant q = reduce_pio2(abs_f32(x));
  const float v = (q.n & 1u) ? cos_kernel(q.r) : sin_kernel(q.r);
  return float_of(bits(v) ^ ((q.n & 2u) << 30) ^ (bits(x) & kSign));
}

SMELT_INLINE float cos_f32(float x) {
  const Quadrant q = reduce_pio2(abs_f32(x));
  const float v = (q.n & 1u) ? sin_kernel(q.r) : cos_kernel(q.r);
  return float_of(bits(v) ^ (((q.n + 1u) & 2u) << 30));
}

SMELT_INLINE float tan_f32(float x) {
  const Quadrant q = reduce_pio2(abs_f32(x));
  const float s = sin_kernel(q.r);
  const float c = cos_kernel(q.r);
  const float v = (q.n & 1u) ? -c / s : s / c;
  return float_of(bits(v) ^ (bits(x) & kSign));
}

// pow in double: float's 24 bits of log2(x) would become about |y log2 x| / 2^24 of error in
// the exponent, over a hundred ulps near the ends of the range, against Table 8.1's 16.
//
// log2(x) for finite x > 0: log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.172, by the
// atanh series to s^11 (remainder < 2^-34 relative; |y log2(1 + f)| <= |y log2 x| < 150 where
// the result is finite and not 0, so the exponent is off by less than 2^-26).
SMELT_INLINE double log2_wide(float x) {
  const LogParts p = log_parts(x);
  const double f = double(p.f);
  const double s = f / (2.0 + f);
  const double z = s * s;
  double q = 1.0 / 11;
  q = q * z + 1.0 / 9;
  q = q * z + 1.0 / 7;
  q = q * z + 1.0 / 5;
  q = q * z + 1.0 / 3;
  q = q * z + 1.0;
  return double(p.e) + s * q * 0x1.71547652b82fep+1;  // 2 / ln 2
}

// 2^t rounded to float: t = n + g with |g| <= 1/2, e^(g ln2) by Taylor's series to degree 8
// (remainder < 2^-32), rounded to float and scaled by 2^n as in exp2_f32 (a subnormal result
// is rounded twice, which stays within a few ulps of the subnormal spacing).
SMELT_INLINE float exp2_narrow(double t) {
  const double tc = t > 200.0 ? 200.0 : (t < -200.0 ? -200.0 : t);
  const double n = (tc + kRound64) - kRound64;
  const double g = (tc - n) * 0x1.62e42fefa39efp-1;  // ln 2
  double p = 1.0 / 40320;
  p = p * g + 1.0 / 5040;
  p = p * g + 1.0 / 720;
  p = p * g + 1.0 / 120;
  p = p * g + 1.0 / 24;
  p = p * g + 1.0 / 6;
  p = p * g + 0.5;
  p = p * g + 1.0;
  p = p * g + 1.0;
  return scale2(float(p), int(bits(float(n) + kRound) - bits(kRound)));
}

// |x|^y for a = |x|: log2 0 = -inf and log2 inf = inf carry the zero and infinite cases, and
// NaN stays NaN; 0 * inf (y = 0, or a = 1 with infinite y) gives NaN, which the callers replace.
SMELT_INLINE float pow_magnitude(float a, float y) {
  const double l = a == 0.0f ? -__builtin_inf() : (a < INFINITY ? log2_wide(a) : double(a));
  return exp2_narrow(double(y) * l);
}

// Whether a >= 0 is an integer: a + 2^23 rounds a to one below 2^23, and from 2^23 on every float
// is an integer (odd ones only below 2^24, where half of them is not an integer).
SMELT_INLINE bool is_integer(float a) { return (a >= 0x1p23f) | ((a + 0x1p23f) - 0x1p23f == a); }

// C's pow (MSL gives pow no special cases of its own): x^0 = 1 and 1^y = 1 even for NaN,
// (-1)^+-inf = 1, a negative finite base with a non-integer exponent is NaN, and an odd integer
// exponent keeps the sign of the base (so (-0)^-3 = -inf).
SMELT_INLINE float pow_f32(float x, float y) {
  const float a = abs_f32(x);
  const float ay = abs_f32(y);
  const float m = pow_magnitude(a, y);
  const bool integer = is_integer(ay);
  const bool odd = integer & !is_integer(ay * 0.5f);
  const float v = float_of(bits(m) | (odd ? bits(x) & kSign : 0u));
  const bool one = (y == 0.0f) | (x == 1.0f) | ((a == 1.0f) & (ay == INFINITY));
  const bool nan = (x < 0.0f) & (x > -INFINITY) & !integer;
  return one ? 1.0f : (nan ? NAN : v);
}

// powr takes x >= 0; OpenCL C's powr cases: NaN for x < 0 and for 0^0, inf^0 and 1^inf.
SMELT_INLINE float powr_f32(float x, float y) {
  const float a = abs_f32(x);
  const float ay = abs_f32(y);
  const float m = pow_magnitude(a, y);
  const bool nan = (x < 0.0f) | ((y == 0.0f) & ((a == 0.0f) | (a == INFINITY))) | ((x == 1.0f) & (ay == INFINITY));
  return nan ? NAN : m;
}

// On the x86-64 baseline (no SSE4.1, no FMA) clang lowers floor, ceil, trunc, rint and fma to
// libm calls, one per lane even in a vectorized loop; there these are computed in registers.
// With roundps/FMA (x86 -msse4.1/-mfma) or on arm64 the builtins are single instructions.
#if defined(__SSE4_1__) || defined(__aarch64__)
SMELT_INLINE float rint_f32(float x) { return __builtin_rintf(x); }
SMELT_INLINE float floor_f32(float x) { return __builtin_floorf(x); }
#else
// Adding 2^23 rounds a magnitude below 2^23 to an integer, ties to even; from 2^23 on (and for
// inf and NaN) x is its own rounding. The sign goes back on, so rint(-0.3) = -0.
SMELT_INLINE float rint_f32(float x) {
  const float a = abs_f32(x);
  const float r = (a + 0x1p23f) - 0x1p23f;
  return a < 0x1p23f ? float_of(bits(r) | (bits(x) & kSign)) : x;
}
SMELT_INLINE float floor_f32(float x) {
  const float r = rint_f32(x);
  return r > x ? r - 1.0f : r;
}
#endif
// ceil(x) = -floor(-x) gives ceil(-0.5) = -0; trunc is floor of |x| with the sign put back.
SMELT_INLINE float ceil_f32(float x) { return -floor_f32(-x); }
SMELT_INLINE float trunc_f32(float x) { return float_of(bits(floor_f32(abs_f32(x))) | (bits(x) & kSign)); }

#if defined(__FMA__) || defined(__aarch64__)
SMELT_INLINE float fma_f32(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
#else
// a * b + c rounded once: the product of two floats is exact in double, and the double sum
// rounded to odd (53 bits >= 24 + 2) then rounds to float as the exact sum would (Boldo and
// Melquiond's round-to-odd). TwoSum gives the sum's rounding error e; an inexact sum with an
// even last bit steps one ulp toward the exact value. NaN and inf make e NaN: no step.
SMELT_INLINE float fma_f32(float a, float b, float c) {
  const double p = double(a) * double(b);
  const double cd = double(c);
  const double s = p + cd;
  const double v = s - p;
  const double e = (p - (s - v)) + (cd - v);
  const u64 sb = bits(s);
  const bool step = ((e > 0.0) | (e < 0.0)) & ((sb & 1u) == 0u);
  const u64 odd = (e > 0.0) == (s > 0.0) ? sb + 1u : sb - 1u;
  return float(double_of(step ? odd : sb));
}
#endif

// Table 8.1 asks rsqrt to be correctly rounded, which 1.0f / sqrtf(x) is not in about a quarter
// of cases; 1 / sqrt(x) in double rounds to the correct float for every float x (checked
// exhaustively over [1, 4), which covers every x by scaling with 4^k).
SMELT_INLINE float rsqrt_f32(float x) { return float(1.0 / __builtin_sqrt(double(x))); }
}  // namespace smelt_math

#define SMELT_MATH1(name, f) \
  template <class T>         \
  SMELT_INLINE T name(T x) { \
    return T(f(float(x)));   \
  }
#define SMELT_MATH2(name, f)         \
  template <class T>                 \
  SMELT_INLINE T name(T x, T y) {    \
    return T(f(float(x), float(y))); \
  }
#define SMELT_MATH_ALL                          \
  SMELT_MATH1(exp, smelt_math::exp_f32)         \
  SMELT_MATH1(exp2, smelt_math::exp2_f32)       \
  SMELT_MATH1(log, smelt_math::log_f32)         \
  SMELT_MATH1(log2, smelt_math::log2_f32)       \
  SMELT_MATH1(sin, smelt_math::sin_f32)         \
  SMELT_MATH1(cos, smelt_math::cos_f32)         \
  SMELT_MATH1(tan, smelt_math::tan_f32)         \
  SMELT_MATH1(tanh, smelt_math::tanh_f32)       \
  SMELT_MATH1(sqrt, __builtin_sqrtf)            \
  SMELT_MATH2(pow, smelt_math::pow_f32)         \
  SMELT_MATH2(powr, smelt_math::powr_f32)       \
  SMELT_MATH2(fmod, __builtin_fmodf)            \
  SMELT_MATH1(rsqrt, smelt_math::rsqrt_f32)

SMELT_MATH_ALL
namespace precise {
SMELT_MATH_ALL
}
namespace fast {
SMELT_MATH_ALL
}
#undef SMELT_MATH_ALL
#undef SMELT_MATH2

SMELT_MATH1(floor, smelt_math::floor_f32)
SMELT_MATH1(ceil, smelt_math::ceil_f32)
SMELT_MATH1(trunc, smelt_math::trunc_f32)
SMELT_MATH1(rint, smelt_math::rint_f32)
SMELT_MATH1(fabs, __builtin_fabsf)
#undef SMELT_MATH1

inline float abs(float x) { return __builtin_fabsf(x); }
inline half abs(half x) { return half(__builtin_fabsf(float(x))); }
inline int abs(int x) { return x < 0 ? int(0u - uint(x)) : x; }
template <class T>
SMELT_INLINE T fma(T a, T b, T c) {
  return T(smelt_math::fma_f32(float(a), float(b), float(c)));
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
#undef SMELT_INLINE

// ---------------------------------------------------------------- synchronization
enum class mem_flags : uint { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };
// The default argument is evaluated at the call: the runtime sees which barrier each thread met.
inline void threadgroup_barrier(mem_flags f, unsigned site = __builtin_LINE()) { smelt_threadgroup_barrier(uint(f), site); }

inline float simd_sum(float x) { return smelt_simd_sum_f32(x); }
inline int simd_sum(int x) { return smelt_simd_sum_i32(x); }
inline uint simd_sum(uint x) { return smelt_simd_sum_u32(x); }
template <class T>
inline T simd_shuffle_xor(T x, ushort mask) {
  static_assert(sizeof(T) == 4, "simd_shuffle_xor is provided for 32-bit types");
  return as_type<T>(smelt_simd_shuffle_xor_u32(as_type<uint>(x), mask));
}

// ---------------------------------------------------------------- simdgroup_matrix
// 8x8 matrices spread over a simdgroup as on Apple GPUs: each lane holds two elements of a row,
// (row, col) and (row, col + 1), with row = (qid & 4) + (lane / 2) % 4 and
// col = (qid & 2) * 2 + (lane % 2) * 2 for qid = lane / 4 (Apple's layout, which code reading
// `thread_elements()` relies on).
// Loads and stores move a lane's own two elements; a multiply-accumulate is collective: every
// lane shares its elements of both factors through `smelt_simd_allgather_f32x2` and computes its
// own two results, summing over k in order with one rounding per step (fma), in float.
// Functions of a fragment take no lane argument, as on Metal: a fragment records the lane of the
// thread that constructs it, from `smelt_lane`, which the per-thread trampoline of a kernel using
// fragments sets before calling the kernel. Threads of a group are fibers of one OS thread, so
// `smelt_lane` is only right until the first barrier or simd function: construct every fragment
// before that (smelt's kernels declare them first). Assignment keeps the fragment's lane.
inline thread_local unsigned smelt_lane = 0u;

namespace smelt_fragment {
constexpr unsigned fragment_row(unsigned lane) { return ((lane / 4u) & 4u) + (lane / 2u) % 4u; }
constexpr unsigned fragment_col(unsigned lane) { return ((lane / 4u) & 2u) * 2u + (lane % 2u) * 2u; }
/** The lane holding element (row, col): the mapping above, inverted bit by bit. */
constexpr unsigned fragment_lane(unsigned row, unsigned col) {
  return ((col >> 1) & 1u) | ((row & 3u) << 1) | (((col >> 2) & 1u) << 3) | (((row >> 2) & 1u) << 4);
}
constexpr bool fragment_mapping_inverts() {
  for (unsigned lane = 0u; lane < 32u; lane++) {
    if (fragment_lane(fragment_row(lane), fragment_col(lane)) != lane) return false;
    if (fragment_lane(fragment_row(lane), fragment_col(lane) + 1u) != lane) return false;
  }
  return true;
}
static_assert(fragment_mapping_inverts(), "simdgroup_matrix lane mapping");
}  // namespace smelt_fragment

typedef unsigned long smelt_ulong;
typedef smelt_ulong smelt_ulong2 __attribute__((ext_vector_type(2)));

template <class T, int Cols, int Rows>
struct simdgroup_matrix {
  static_assert(Cols == 8 && Rows == 8, "simdgroup_matrix is 8x8");
  typedef T pair __attribute__((ext_vector_type(2)));
  pair smelt_elements;
  unsigned smelt_lane_id;

  simdgroup_matrix() : smelt_elements(), smelt_lane_id(smelt_lane) {}
  /** A diagonal matrix, as Metal's scalar constructor makes. */
  explicit simdgroup_matrix(T diagonal) : smelt_elements(), smelt_lane_id(smelt_lane) {
    const unsigned row = smelt_fragment::fragment_row(smelt_lane_id), col = smelt_fragment::fragment_col(smelt_lane_id);
    smelt_elements.x = row == col ? diagonal : T(0);
    smelt_elements.y = row == col + 1u ? diagonal : T(0);
  }
  simdgroup_matrix(const simdgroup_matrix&) = default;
  simdgroup_matrix& operator=(const simdgroup_matrix& other) {
    smelt_elements = other.smelt_elements;
    return *this;
  }
  pair& thread_elements() { return smelt_elements; }
  const pair& thread_elements() const { return smelt_elements; }
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
typedef simdgroup_matrix<half, 8, 8> simdgroup_half8x8;
typedef simdgroup_matrix<bfloat, 8, 8> simdgroup_bfloat8x8;

template <class T, int Cols, int Rows>
inline simdgroup_matrix<T, Cols, Rows> make_filled_simdgroup_matrix(const T value) {
  simdgroup_matrix<T, Cols, Rows> m;
  m.smelt_elements = value;
  return m;
}

namespace smelt_fragment {
/** Offset in memory of element (row, col) of a fragment read or written at `origin` (x: column). */
inline smelt_ulong fragment_offset(unsigned row, unsigned col, smelt_ulong per_row, smelt_ulong2 origin, bool transpose) {
  return transpose ? (origin.y + col) * per_row + origin.x + row : (origin.y + row) * per_row + origin.x + col;
}
template <class T, class P>
inline void fragment_load(simdgroup_matrix<T, 8, 8>& d, P src, smelt_ulong per_row, smelt_ulong2 origin, bool transpose) {
  const unsigned row = fragment_row(d.smelt_lane_id), col = fragment_col(d.smelt_lane_id);
  d.smelt_elements.x = src[fragment_offset(row, col, per_row, origin, transpose)];
  d.smelt_elements.y = src[fragment_offset(row, col + 1u, per_row, origin, transpose)];
}
template <class T, class P>
inline void fragment_store(const simdgroup_matrix<T, 8, 8>& a, P dst, smelt_ulong per_row, smelt_ulong2 origin, bool transpose) {
  const unsigned row = fragment_row(a.smelt_lane_id), col = fragment_col(a.smelt_lane_id);
  dst[fragment_offset(row, col, per_row, origin, transpose)] = a.smelt_elements.x;
  dst[fragment_offset(row, col + 1u, per_row, origin, transpose)] = a.smelt_elements.y;
}
/** All 64 elements of a fragment, row-major, gathered from the lanes. */
template <class T>
inline void fragment_gather(const simdgroup_matrix<T, 8, 8>& m, float* out) {
  float all[64];
  smelt_simd_allgather_f32x2(float(m.smelt_elements.x), float(m.smelt_elements.y), all);
  for (unsigned row = 0u; row < 8u; row++)
    for (unsigned col = 0u; col < 8u; col++) out[row * 8u + col] = all[2u * fragment_lane(row, col) + (col & 1u)];
}
}  // namespace smelt_fragment

#define SMELT_FRAGMENT_MEMORY(space)                                                                          \
  template <class T>                                                                                          \
  inline void simdgroup_load(simdgroup_matrix<T, 8, 8>& d, const space T* src, smelt_ulong elements_per_row = 8, \
                             smelt_ulong2 matrix_origin = 0, bool transpose_matrix = false) {                 \
    smelt_fragment::fragment_load(d, src, elements_per_row, matrix_origin, transpose_matrix);                   \
  }                                                                                                           \
  template <class T>                                                                                          \
  inline void simdgroup_store(const simdgroup_matrix<T, 8, 8>& a, space T* dst, smelt_ulong elements_per_row = 8, \
                              smelt_ulong2 matrix_origin = 0, bool transpose_matrix = false) {                \
    smelt_fragment::fragment_store(a, dst, elements_per_row, matrix_origin, transpose_matrix);                  \
  }
SMELT_FRAGMENT_MEMORY(__attribute__((address_space(1))))
SMELT_FRAGMENT_MEMORY(__attribute__((address_space(3))))
#undef SMELT_FRAGMENT_MEMORY

/** d = a * b + c. Every lane of the simdgroup calls it (it meets the others twice). */
template <class T>
inline void simdgroup_multiply_accumulate(simdgroup_matrix<T, 8, 8>& d, const simdgroup_matrix<T, 8, 8>& a,
                                          const simdgroup_matrix<T, 8, 8>& b, const simdgroup_matrix<T, 8, 8>& c) {
  float fa[64], fb[64];
  smelt_fragment::fragment_gather(a, fa);
  smelt_fragment::fragment_gather(b, fb);
  const unsigned row = smelt_fragment::fragment_row(d.smelt_lane_id), col = smelt_fragment::fragment_col(d.smelt_lane_id);
  float out[2] = {float(c.smelt_elements.x), float(c.smelt_elements.y)};
  for (unsigned e = 0u; e < 2u; e++)
    for (unsigned k = 0u; k < 8u; k++) out[e] = __builtin_fmaf(fa[row * 8u + k], fb[k * 8u + col + e], out[e]);
  d.smelt_elements.x = T(out[0]);
  d.smelt_elements.y = T(out[1]);
}
template <class T>
inline void simdgroup_multiply(simdgroup_matrix<T, 8, 8>& d, const simdgroup_matrix<T, 8, 8>& a,
                               const simdgroup_matrix<T, 8, 8>& b) {
  simdgroup_multiply_accumulate(d, a, b, make_filled_simdgroup_matrix<T, 8, 8>(T(0)));
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
