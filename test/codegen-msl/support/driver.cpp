// A minimal host runtime for tests: runs kernels compiled from smelt's MSL with
// smelt_msl_host.h, implementing the ABI the header declares. Threads of a threadgroup that
// meet barriers or simd functions run as ucontext fibers on one OS thread; the real runtime
// (native/host) replaces this. Only C headers: the test links it with plain clang.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

struct smelt_thread {
  unsigned position_in_grid, position_in_threadgroup, threadgroup_in_grid, threadgroup_size, threadgroup_count,
      lane, simdgroup, simdgroup_count, simd_width;
};
typedef void (*smelt_kernel)(void* const* buffers, const smelt_thread* t);

enum { SIMD = 32, MAX_THREADS = 1024, STACK = 256 * 1024 };

struct Fiber {
  ucontext_t ctx;
  smelt_thread t;
  int done;
};

static ucontext_t scheduler;
static Fiber fibers[MAX_THREADS];
static char* stacks[MAX_THREADS];
static Fiber* current;
static smelt_kernel run_fn;
static void* const* run_buffers;
static unsigned group_threads;
/** Anything that can unblock a fiber; a scheduler pass without one is a deadlock. */
static unsigned long events;

static unsigned barrier_arrived, barrier_generation;

struct SimdMeeting {
  unsigned in[SIMD], arg[SIMD], out[SIMD];
  float pair[2 * SIMD];
  unsigned arrived, generation;
  int op;
};
static SimdMeeting meetings[MAX_THREADS / SIMD];

static void fail(const char* what) {
  fprintf(stderr, "driver: %s (thread %u of group %u)\n", what, current ? current->t.position_in_threadgroup : 0u,
          current ? current->t.threadgroup_in_grid : 0u);
  exit(3);
}

static void block() {
  if (!current) fail("a barrier or simd function outside a cooperative run");
  swapcontext(&current->ctx, &scheduler);
}

static void threadgroup_barrier(unsigned flags) {
  (void)flags;
  events++;
  unsigned g = barrier_generation;
  if (++barrier_arrived == group_threads) {
    barrier_arrived = 0;
    barrier_generation++;
    return;
  }
  while (barrier_generation == g) block();
}

enum { SUM_F32 = 1, SUM_I32, SUM_U32, SHUFFLE_XOR, ALLGATHER };

static void compute(SimdMeeting& m) {
  switch (m.op) {
    case SUM_F32: {
      float s = 0.0f;
      for (int l = 0; l < SIMD; l++) {
        float x;
        memcpy(&x, &m.in[l], 4);
        s += x;
      }
      for (int l = 0; l < SIMD; l++) memcpy(&m.out[l], &s, 4);
      break;
    }
    case SUM_I32:
    case SUM_U32: {
      unsigned s = 0;
      for (int l = 0; l < SIMD; l++) s += m.in[l];
      for (int l = 0; l < SIMD; l++) m.out[l] = s;
      break;
    }
    case SHUFFLE_XOR:
      for (int l = 0; l < SIMD; l++) m.out[l] = m.in[(l ^ m.arg[l]) % SIMD];
      break;
    case ALLGATHER:
      for (int l = 0; l < SIMD; l++) {
        memcpy(&m.pair[2 * l], &m.in[l], 4);
        memcpy(&m.pair[2 * l + 1], &m.arg[l], 4);
      }
      break;
  }
}

static unsigned meet(int op, unsigned value, unsigned arg) {
  if (!current) fail("a simd function outside a cooperative run");
  events++;
  SimdMeeting& m = meetings[current->t.simdgroup];
  unsigned lane = current->t.lane;
  if (m.arrived == 0) m.op = op;
  else if (m.op != op) fail("lanes of one simdgroup met at different simd functions");
  m.in[lane] = value;
  m.arg[lane] = arg;
  unsigned g = m.generation;
  if (++m.arrived == SIMD) {
    compute(m);
    m.arrived = 0;
    m.generation++;
  } else {
    while (m.generation == g) block();
  }
  return m.out[lane];
}

static float simd_sum_f32(float x) {
  unsigned u;
  memcpy(&u, &x, 4);
  u = meet(SUM_F32, u, 0);
  memcpy(&x, &u, 4);
  return x;
}
static int simd_sum_i32(int x) { return (int)meet(SUM_I32, (unsigned)x, 0); }
static unsigned simd_sum_u32(unsigned x) { return meet(SUM_U32, x, 0); }
static unsigned simd_shuffle_xor_u32(unsigned x, unsigned mask) { return meet(SHUFFLE_XOR, x, mask); }
static void simd_allgather_f32x2(float a, float b, float* all) {
  unsigned ua, ub;
  memcpy(&ua, &a, 4);
  memcpy(&ub, &b, 4);
  meet(ALLGATHER, ua, ub);
  // Every lane copies out before the next meeting of this simdgroup can start: the generation
  // only advances when all 32 lanes arrive again.
  memcpy(all, meetings[current->t.simdgroup].pair, sizeof(float) * 2 * SIMD);
}

struct smelt_runtime {
  unsigned abi;
  void (*threadgroup_barrier)(unsigned);
  float (*simd_sum_f32)(float);
  int (*simd_sum_i32)(int);
  unsigned (*simd_sum_u32)(unsigned);
  unsigned (*simd_shuffle_xor_u32)(unsigned, unsigned);
  void (*simd_allgather_f32x2)(float, float, float*);
};
static const smelt_runtime runtime_table = {2,           threadgroup_barrier,  simd_sum_f32,        simd_sum_i32,
                                            simd_sum_u32, simd_shuffle_xor_u32, simd_allgather_f32x2};
extern "C" const smelt_runtime* smelt_host_runtime;

static void fiber_main() {
  run_fn(run_buffers, &current->t);
  current->done = 1;
  events++;
}

static smelt_thread thread_ids(unsigned group, unsigned groups, unsigned threads, unsigned i) {
  smelt_thread t;
  t.position_in_grid = group * threads + i;
  t.position_in_threadgroup = i;
  t.threadgroup_in_grid = group;
  t.threadgroup_size = threads;
  t.threadgroup_count = groups;
  t.lane = i % SIMD;
  t.simdgroup = i / SIMD;
  t.simdgroup_count = (threads + SIMD - 1) / SIMD;
  t.simd_width = SIMD;
  return t;
}

/** Runs one dispatch. `order` 1 resumes fibers last to first (a missing barrier shows up). */
void smelt_run(smelt_kernel fn, void* const* buffers, unsigned groups, unsigned threads, int cooperative, int order) {
  smelt_host_runtime = &runtime_table;
  if (threads > MAX_THREADS) fail("more than 1024 threads per threadgroup");
  if (!cooperative) {
    for (unsigned g = 0; g < groups; g++)
      for (unsigned i = 0; i < threads; i++) {
        smelt_thread t = thread_ids(g, groups, threads, i);
        fn(buffers, &t);
      }
    return;
  }
  if (threads % SIMD) fail("a cooperative kernel needs whole simdgroups");
  run_fn = fn;
  run_buffers = buffers;
  group_threads = threads;
  for (unsigned g = 0; g < groups; g++) {
    barrier_arrived = 0;
    memset(meetings, 0, sizeof meetings);
    for (unsigned i = 0; i < threads; i++) {
      Fiber& f = fibers[i];
      if (!stacks[i]) stacks[i] = (char*)malloc(STACK);
      f.t = thread_ids(g, groups, threads, i);
      f.done = 0;
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = stacks[i];
      f.ctx.uc_stack.ss_size = STACK;
      f.ctx.uc_link = &scheduler;
      makecontext(&f.ctx, fiber_main, 0);
    }
    for (;;) {
      unsigned long before = events;
      int live = 0;
      for (unsigned k = 0; k < threads; k++) {
        Fiber& f = fibers[order ? threads - 1 - k : k];
        if (f.done) continue;
        live++;
        current = &f;
        swapcontext(&scheduler, &f.ctx);
        current = 0;
      }
      if (!live) break;
      if (events == before) fail("deadlock: threads wait at a barrier or simd function others never reach");
    }
  }
}

void smelt_fill_hex(unsigned char* dst, const char* hex) {
  for (size_t i = 0; hex[2 * i]; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    dst[i] = (unsigned char)v;
  }
}

void smelt_print_hex(const char* name, const unsigned char* src, size_t n) {
  printf("%s ", name);
  for (size_t i = 0; i < n; i++) printf("%02x", src[i]);
  printf("\n");
}
