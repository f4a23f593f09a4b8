// Hand-written kernels for test/runtime/native.test.ts, with their host trampolines written as
// smelt_msl_host.h's ABI says (what src/codegen-msl emits after each kernel).
using namespace metal;

// ---------------------------------------------------------------- y = x * 2 + 1
kernel void axpb(device const float* x [[buffer(0)]], device float* y [[buffer(1)]], constant uint& n [[buffer(2)]],
                 uint gid [[thread_position_in_grid]]) {
  if (gid < n) y[gid] = x[gid] * 2.0f + 1.0f;
}
#ifdef SMELT_HOST
extern "C" void smelt_host_axpb(void* const* buffers, const smelt_thread* t) {
  axpb((device const float*)buffers[0], (device float*)buffers[1], *(constant uint*)buffers[2], t->position_in_grid);
}
extern "C" void smelt_host_range_axpb(void* const* buffers, unsigned group_begin, unsigned group_end,
                                      unsigned threads_per_group, unsigned groups) {
  device const float* x = (device const float*)buffers[0];
  device float* y = (device float*)buffers[1];
  for (uint i = group_begin * threads_per_group; i < group_end * threads_per_group; i++) {
    axpb(x, y, *(constant uint*)buffers[2], i);
  }
}
// The same kernel with no range trampoline: the runtime loops the per-thread one.
extern "C" void smelt_host_axpb_per_thread(void* const* buffers, const smelt_thread* t) { smelt_host_axpb(buffers, t); }
#endif

// ---------------------------------------------------------------- which threads ran
kernel void tally(device atomic_uint* counts [[buffer(0)]], device uint* ids [[buffer(1)]],
                  uint gid [[thread_position_in_grid]], uint group [[threadgroup_position_in_grid]],
                  uint tid [[thread_position_in_threadgroup]], uint groups [[threadgroups_per_grid]]) {
  atomic_fetch_add_explicit(&counts[gid], 1u, memory_order_relaxed);
  ids[2u * gid] = group * 4096u + tid;
  ids[2u * gid + 1u] = groups;
}
#ifdef SMELT_HOST
extern "C" void smelt_host_tally(void* const* buffers, const smelt_thread* t) {
  tally((device atomic_uint*)buffers[0], (device uint*)buffers[1], t->position_in_grid, t->threadgroup_in_grid,
        t->position_in_threadgroup, t->threadgroup_count);
}
#endif

// Slow groups, each recording the address of the threadgroup arena it ran with: one per OS thread.
kernel void spin(device float* sink [[buffer(1)]], uint group [[threadgroup_position_in_grid]]) {
  float acc = float(group);
  for (uint i = 0u; i < 300000u; i++) acc = acc * 0.999f + 1.0f;
  sink[group] = acc;
}
#ifdef SMELT_HOST
extern "C" void smelt_host_spin(void* const* buffers, const smelt_thread* t) {
  spin((device float*)buffers[1], t->threadgroup_in_grid);
  const unsigned long arena = (unsigned long)smelt_threadgroup_memory();
  device uint* out = (device uint*)buffers[0];
  out[2u * t->threadgroup_in_grid] = uint(arena);
  out[2u * t->threadgroup_in_grid + 1u] = uint(arena >> 32);
}
#endif

// ---------------------------------------------------------------- reductions
// One row per threadgroup: each thread folds a strided share, simdgroups combine with simd_sum,
// their partials meet in threadgroup memory after a barrier.
kernel void row_sum(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], constant uint& cols [[buffer(2)]],
                    uint group [[threadgroup_position_in_grid]], uint tid [[thread_position_in_threadgroup]],
                    uint nthreads [[threads_per_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                    uint sg [[simdgroup_index_in_threadgroup]], uint nsimd [[simdgroups_per_threadgroup]]) {
  threadgroup float partial[32];
  float s = 0.0f;
  for (uint c = tid; c < cols; c += nthreads) s += x[group * cols + c];
  s = simd_sum(s);
  if (lane == 0u) partial[sg] = s;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (tid == 0u) {
    float total = 0.0f;
    for (uint i = 0u; i < nsimd; i++) total += partial[i];
    out[group] = total;
  }
}
// The same with its barrier deleted.
kernel void row_sum_racy(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], constant uint& cols [[buffer(2)]],
                         uint group [[threadgroup_position_in_grid]], uint tid [[thread_position_in_threadgroup]],
                         uint nthreads [[threads_per_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                         uint sg [[simdgroup_index_in_threadgroup]], uint nsimd [[simdgroups_per_threadgroup]]) {
  threadgroup float partial[32];
  float s = 0.0f;
  for (uint c = tid; c < cols; c += nthreads) s += x[group * cols + c];
  s = simd_sum(s);
  if (lane == 0u) partial[sg] = s;
  if (tid == 0u) {
    float total = 0.0f;
    for (uint i = 0u; i < nsimd; i++) total += partial[i];
    out[group] = total;
  }
}
#ifdef SMELT_HOST
extern "C" void smelt_host_row_sum(void* const* buffers, const smelt_thread* t) {
  row_sum((device const float*)buffers[0], (device float*)buffers[1], *(constant uint*)buffers[2], t->threadgroup_in_grid,
          t->position_in_threadgroup, t->threadgroup_size, t->lane, t->simdgroup, t->simdgroup_count);
}
extern "C" void smelt_host_row_sum_racy(void* const* buffers, const smelt_thread* t) {
  row_sum_racy((device const float*)buffers[0], (device float*)buffers[1], *(constant uint*)buffers[2],
               t->threadgroup_in_grid, t->position_in_threadgroup, t->threadgroup_size, t->lane, t->simdgroup,
               t->simdgroup_count);
}
#endif

// Every simd function of the runtime table, one simdgroup per 32 values.
kernel void simd_ops(device const int* xi [[buffer(0)]], device const float* xf [[buffer(1)]], device int* sum_i [[buffer(2)]],
                     device uint* sum_u [[buffer(3)]], device float* sum_f [[buffer(4)]], device int* shuffled [[buffer(5)]],
                     uint gid [[thread_position_in_grid]]) {
  const int v = xi[gid];
  sum_i[gid] = simd_sum(v);
  sum_u[gid] = simd_sum(uint(v));
  sum_f[gid] = simd_sum(xf[gid]);
  shuffled[gid] = simd_shuffle_xor(v, ushort(5));
}
#ifdef SMELT_HOST
extern "C" void smelt_host_simd_ops(void* const* buffers, const smelt_thread* t) {
  simd_ops((device const int*)buffers[0], (device const float*)buffers[1], (device int*)buffers[2], (device uint*)buffers[3],
           (device float*)buffers[4], (device int*)buffers[5], t->position_in_grid);
}

// Each lane gives (lane, 1000 * simdgroup + lane) and writes down the 64 floats it receives.
extern "C" void smelt_host_gather(void* const* buffers, const smelt_thread* t) {
  float all[64];
  smelt_simd_allgather_f32x2(float(t->lane), float(1000u * t->simdgroup + t->lane), all);
  device float* out = (device float*)buffers[0];
  for (uint i = 0u; i < 64u; i++) out[64u * t->position_in_grid + i] = all[i];
}
#endif

// ---------------------------------------------------------------- threadgroup memory
// Reads two threadgroup arrays before writing them: in debug dispatches they hold 0xFF bytes.
kernel void tg_peek(device uint* out [[buffer(0)]], uint group [[threadgroup_position_in_grid]]) {
  threadgroup uint first[3];
  threadgroup float second[2][2];
  out[2u * group] = first[1];
  out[2u * group + 1u] = as_type<uint>(second[1][1]);
  first[1] = group;
  second[1][1] = 1.0f;
}
#ifdef SMELT_HOST
extern "C" void smelt_host_tg_peek(void* const* buffers, const smelt_thread* t) {
  tg_peek((device uint*)buffers[0], t->threadgroup_in_grid);
}
#endif

// ---------------------------------------------------------------- mistakes the runtime reports
kernel void early_return(device float* out [[buffer(0)]], constant uint& quitter [[buffer(1)]],
                         uint tid [[thread_position_in_threadgroup]]) {
  if (tid == quitter) return;
  threadgroup_barrier(mem_flags::mem_threadgroup);  // EARLY_RETURN_BARRIER
  out[tid] = 1.0f;
}
kernel void two_sites(device float* out [[buffer(0)]], uint tid [[thread_position_in_threadgroup]]) {
  if (tid < 32u) {
    threadgroup_barrier(mem_flags::mem_threadgroup);  // TWO_SITES_FIRST
  } else {
    threadgroup_barrier(mem_flags::mem_threadgroup);  // TWO_SITES_SECOND
  }
  out[tid] = 1.0f;
}
kernel void mixed_simd(device int* out [[buffer(0)]], uint tid [[thread_position_in_threadgroup]],
                       uint lane [[thread_index_in_simdgroup]]) {
  if (lane < 16u) {
    out[tid] = simd_sum(1);
  } else {
    out[tid] = simd_shuffle_xor(1, ushort(1));
  }
}
kernel void stuck(device float* out [[buffer(0)]], uint tid [[thread_position_in_threadgroup]],
                  uint lane [[thread_index_in_simdgroup]]) {
  if (lane < 16u) {
    threadgroup_barrier(mem_flags::mem_threadgroup);  // STUCK_BARRIER
  } else {
    out[tid] = simd_sum(1.0f);
  }
}
kernel void write_at(device float* out [[buffer(0)]], constant uint& stride [[buffer(1)]],
                     uint gid [[thread_position_in_grid]]) {
  out[gid * stride] = 1.0f;
}
kernel void write_at_coop(device float* out [[buffer(0)]], constant uint& at [[buffer(1)]],
                          uint tid [[thread_position_in_threadgroup]]) {
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (tid == 7u) out[at] = 1.0f;
}
#ifdef SMELT_HOST
extern "C" void smelt_host_early_return(void* const* buffers, const smelt_thread* t) {
  early_return((device float*)buffers[0], *(constant uint*)buffers[1], t->position_in_threadgroup);
}
extern "C" void smelt_host_two_sites(void* const* buffers, const smelt_thread* t) {
  two_sites((device float*)buffers[0], t->position_in_threadgroup);
}
extern "C" void smelt_host_mixed_simd(void* const* buffers, const smelt_thread* t) {
  mixed_simd((device int*)buffers[0], t->position_in_threadgroup, t->lane);
}
extern "C" void smelt_host_stuck(void* const* buffers, const smelt_thread* t) {
  stuck((device float*)buffers[0], t->position_in_threadgroup, t->lane);
}
extern "C" void smelt_host_write_at(void* const* buffers, const smelt_thread* t) {
  write_at((device float*)buffers[0], *(constant uint*)buffers[1], t->position_in_grid);
}
extern "C" void smelt_host_range_write_at_range(void* const* buffers, unsigned group_begin, unsigned group_end,
                                                unsigned threads_per_group, unsigned groups) {
  for (uint i = group_begin * threads_per_group; i < group_end * threads_per_group; i++) {
    write_at((device float*)buffers[0], *(constant uint*)buffers[1], i);
  }
}
extern "C" void smelt_host_write_at_range(void* const* buffers, const smelt_thread* t) { smelt_host_write_at(buffers, t); }
extern "C" void smelt_host_write_at_coop(void* const* buffers, const smelt_thread* t) {
  write_at_coop((device float*)buffers[0], *(constant uint*)buffers[1], t->position_in_threadgroup);
}
// A store through a pointer to the never-mapped first page.
extern "C" void smelt_host_wild(void* const* buffers, const smelt_thread* t) {
  *(volatile device float*)(unsigned long)(16u + t->position_in_grid) = 1.0f;
}
#endif

#ifdef SMELT_HOST
// A frame larger than a fiber's 64 KiB stack: its lowest element lies in the guard page below.
extern "C" void smelt_host_deep(void* const* buffers, const smelt_thread* t) {
  volatile float big[17000];
  const uint at = *(constant uint*)buffers[1];
  big[at] = 1.0f;
  ((device float*)buffers[0])[t->position_in_grid] = big[at];
}
#endif
