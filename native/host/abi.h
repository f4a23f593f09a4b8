// The host ABI (version 2) as the runtime sees it: native/include/smelt_msl_host.h declares the
// same two structs for kernel libraries. That header turns C++ into MSL's dialect (it redefines
// `kernel`, `device`, `constant` and poisons `malloc`, `double` ...), so the runtime cannot
// include it; the tests in test/runtime/native.test.ts call every table entry through it.
#ifndef SMELT_HOST_ABI_H
#define SMELT_HOST_ABI_H

struct smelt_thread {
  unsigned position_in_grid;
  unsigned position_in_threadgroup;
  unsigned threadgroup_in_grid;
  unsigned threadgroup_size;
  unsigned threadgroup_count;
  unsigned lane;
  unsigned simdgroup;
  unsigned simdgroup_count;
  unsigned simd_width;
};

struct smelt_runtime {
  unsigned abi;
  void (*threadgroup_barrier)(unsigned mem_flags, unsigned site);
  float (*simd_sum_f32)(float);
  int (*simd_sum_i32)(int);
  unsigned (*simd_sum_u32)(unsigned);
  unsigned (*simd_shuffle_xor_u32)(unsigned value, unsigned lane_mask);
  void (*simd_allgather_f32x2)(float a, float b, float* all);
  unsigned char* (*threadgroup_memory)(void);
};

static_assert(sizeof(smelt_thread) == 9 * sizeof(unsigned), "smelt_thread is nine unsigned fields");

namespace smelt {

using ThreadEntry = void (*)(void* const* buffers, const smelt_thread* t);
using RangeEntry = void (*)(void* const* buffers, unsigned group_begin, unsigned group_end, unsigned threads_per_group,
                            unsigned groups);

constexpr unsigned kAbi = 2;
constexpr unsigned kSimdWidth = 32;
constexpr unsigned kMaxThreads = 1024;
constexpr unsigned kMaxSimdgroups = kMaxThreads / kSimdWidth;
constexpr unsigned kArenaBytes = 32768;
/** Metal's buffer slots 0..30. */
constexpr unsigned kMaxBuffers = 31;

}  // namespace smelt

#endif  // SMELT_HOST_ABI_H
