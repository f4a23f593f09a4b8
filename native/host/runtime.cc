// Running threadgroups: the runtime table kernels call (barriers, simd functions, the
// threadgroup arena), the fiber scheduler of cooperative dispatches, the plain loops of
// barrier-free ones, and the recovery from a kernel's failure.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "memory.h"
#include "pool.h"
#include "runtime.h"
#include "worker.h"

namespace smelt {

namespace {

thread_local Worker* tls_worker = nullptr;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

const char* simd_name(SimdOp op) {
  switch (op) {
    case SimdOp::SumF32:
      return "simd_sum(float)";
    case SimdOp::SumI32:
      return "simd_sum(int)";
    case SimdOp::SumU32:
      return "simd_sum(uint)";
    case SimdOp::ShuffleXor:
      return "simd_shuffle_xor";
    case SimdOp::Allgather:
      return "simd_allgather";
  }
  return "a simd function";
}

// ------------------------------------------------------------------ failing

std::string where(const Worker& w) {
  if (w.current) {
    return format("threadgroup %u, thread %u", w.current->t.threadgroup_in_grid, w.current->t.position_in_threadgroup);
  }
  if (w.thread_known) return format("threadgroup %u, thread %u", w.at_group, w.at_thread);
  if (w.at_group_end - w.at_group <= 1) return format("threadgroup %u (thread unknown: range trampoline)", w.at_group);
  return format("threadgroups %u..%u (thread unknown: range trampoline)", w.at_group, w.at_group_end - 1);
}

/**
 * Records the error and leaves the kernel: a fiber switches to its scheduler for good (its
 * stack is simply reused by the next group: kernels hold no resources), a thread on its own
 * stack jumps back to its chunk's recovery point. Takes a format, not a string, so that no
 * string of the caller's is left alive on a stack that is abandoned.
 */
[[noreturn]] void fail_here(Worker* w, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
[[noreturn]] void fail_here(Worker* w, const char* fmt, ...) {
  {
    char what[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    Job& j = *w->job;
    j.fail("kernel " + j.kernel->entry + ", " + where(*w) + ": " + what);
  }
  if (Fiber* f = w->current) {
    w->group.aborted = true;
    context_switch(f->context, w->scheduler);
    std::abort();  // an aborted group's fibers are never resumed
  }
  siglongjmp(w->recover, 1);
}

Worker* worker_or_die(const char* what) {
  Worker* w = tls_worker;
  if (w && w->job) return w;
  // Only a kernel library called outside the runtime's dispatch can get here.
  std::fprintf(stderr, "smelt host runtime: %s called outside a dispatch\n", what);
  std::abort();
}

Fiber& in_fiber(Worker* w, const char* what) {
  if (!w->current) {
    fail_here(w, "%s called in a dispatch that is not cooperative (barriers and simd functions need cooperative: true)",
              what);
  }
  return *w->current;
}

// ------------------------------------------------------------------ the runtime table

void block(Worker* w, Fiber& f, Wait wait, unsigned generation) {
  f.wait = wait;
  f.generation = generation;
  context_switch(f.context, w->scheduler);
}

void rt_barrier(unsigned /* mem_flags: the host orders all memory */, unsigned site) {
  Worker* w = worker_or_die("threadgroup_barrier");
  Fiber& f = in_fiber(w, "threadgroup_barrier");
  Group& g = w->group;
  Barrier& b = g.barrier;
  if (g.returned) {
    fail_here(w, "reached threadgroup_barrier (line %u) after %u thread(s) of its group returned (thread %u "
                        "first): every thread must reach every barrier",
                        site, g.returned, g.first_returned);
  }
  if (b.arrived == 0) {
    b.site = site;
    b.first = f.t.position_in_threadgroup;
  } else if (b.site != site) {
    fail_here(w, "reached threadgroup_barrier at line %u while thread %u waits at the one at line %u: barriers "
                        "at different call sites in one round",
                        site, b.first, b.site);
  }
  if (++b.arrived == g.threads) {
    b.arrived = 0;
    b.generation++;
    return;
  }
  f.site = site;
  block(w, f, Wait::Barrier, b.generation);
}

void combine(SimdMeeting& m) {
  switch (m.op) {
    case SimdOp::SumF32: {
      float s = 0.0f;
      for (unsigned l = 0; l < kSimdWidth; l++) {
        float x;
        std::memcpy(&x, &m.in[l], 4);
        s += x;
      }
      std::uint32_t bits;
      std::memcpy(&bits, &s, 4);
      std::fill(m.out, m.out + kSimdWidth, bits);
      return;
    }
    case SimdOp::SumI32:
    case SimdOp::SumU32: {
      std::uint32_t s = 0;  // two's complement: the int sum wraps as the uint one
      for (unsigned l = 0; l < kSimdWidth; l++) s += m.in[l];
      std::fill(m.out, m.out + kSimdWidth, s);
      return;
    }
    case SimdOp::ShuffleXor:
      for (unsigned l = 0; l < kSimdWidth; l++) m.out[l] = m.in[(l ^ m.arg[l]) % kSimdWidth];
      return;
    case SimdOp::Allgather:
      for (unsigned l = 0; l < kSimdWidth; l++) {
        std::memcpy(&m.all[2 * l], &m.in[l], 4);
        std::memcpy(&m.all[2 * l + 1], &m.arg[l], 4);
      }
      return;
  }
}

/**
 * A simd function: the lane leaves its operands and waits for the other 31; the last to arrive
 * computes every lane's result. Results stay until the next meeting of the simdgroup completes,
 * which needs every lane, so each lane reads its own before they can change.
 */
std::uint32_t meet(SimdOp op, std::uint32_t value, std::uint32_t arg) {
  Worker* w = worker_or_die(simd_name(op));
  Fiber& f = in_fiber(w, simd_name(op));
  SimdMeeting& m = w->group.simd[f.t.simdgroup];
  const unsigned lane = f.t.lane;
  if (m.returned) {
    fail_here(w, "called %s after lane %u of its simdgroup returned: all 32 lanes must call every simd function",
                        simd_name(op), m.first_returned);
  }
  if (m.arrived == 0) {
    m.op = op;
    m.first_lane = lane;
  } else if (m.op != op) {
    fail_here(w, "called %s while lane %u of its simdgroup waits in %s: the lanes of a simdgroup must meet at "
                        "the same simd function",
                        simd_name(op), m.first_lane, simd_name(m.op));
  }
  m.in[lane] = value;
  m.arg[lane] = arg;
  if (++m.arrived == kSimdWidth) {
    combine(m);
    m.arrived = 0;
    m.generation++;
  } else {
    block(w, f, Wait::Simd, m.generation);
  }
  return m.out[lane];
}

std::uint32_t bits_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

float rt_sum_f32(float x) {
  const std::uint32_t u = meet(SimdOp::SumF32, bits_of(x), 0);
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}
int rt_sum_i32(int x) { return static_cast<int>(meet(SimdOp::SumI32, static_cast<std::uint32_t>(x), 0)); }
unsigned rt_sum_u32(unsigned x) { return meet(SimdOp::SumU32, x, 0); }
unsigned rt_shuffle_xor(unsigned x, unsigned mask) { return meet(SimdOp::ShuffleXor, x, mask); }
void rt_allgather(float a, float b, float* all) {
  meet(SimdOp::Allgather, bits_of(a), bits_of(b));
  Worker* w = tls_worker;
  std::memcpy(all, w->group.simd[w->current->t.simdgroup].all, sizeof(float) * 2 * kSimdWidth);
}
unsigned char* rt_threadgroup_memory() { return worker_or_die("threadgroup_memory")->arena; }

const smelt_runtime kTable = {kAbi,           rt_barrier,     rt_sum_f32,   rt_sum_i32, rt_sum_u32,
                              rt_shuffle_xor, rt_allgather,   rt_threadgroup_memory};

// ------------------------------------------------------------------ cooperative groups

smelt_thread thread_ids(const Job& j, std::uint32_t group, std::uint32_t i) {
  smelt_thread t;
  t.position_in_grid = group * j.threads + i;
  t.position_in_threadgroup = i;
  t.threadgroup_in_grid = group;
  t.threadgroup_size = j.threads;
  t.threadgroup_count = j.groups;
  t.lane = i % kSimdWidth;
  t.simdgroup = i / kSimdWidth;
  t.simdgroup_count = (j.threads + kSimdWidth - 1) / kSimdWidth;
  t.simd_width = kSimdWidth;
  return t;
}

void thread_returned(Worker* w, Fiber& f) {
  Group& g = w->group;
  f.wait = Wait::Done;
  if (g.returned++ == 0) g.first_returned = f.t.position_in_threadgroup;
  SimdMeeting& m = g.simd[f.t.simdgroup];
  if (m.returned++ == 0) m.first_returned = f.t.lane;
  if (g.barrier.arrived) {
    fail_here(w, "returned while thread %u waits at threadgroup_barrier (line %u): every thread must reach every "
                        "barrier",
                        g.barrier.first, g.barrier.site);
  }
  if (m.arrived) {
    fail_here(w, "returned while lane %u of its simdgroup waits in %s: all 32 lanes must call every simd "
                        "function",
                        m.first_lane, simd_name(m.op));
  }
}

void fiber_main(void* arg) {
  Fiber& f = *static_cast<Fiber*>(arg);
  Worker* w = tls_worker;
  const Job& j = *w->job;
  j.kernel->thread(j.buffers, &f.t);
  thread_returned(w, f);
  context_switch(f.context, w->scheduler);
  std::abort();  // a finished fiber is never resumed
}

/** splitmix64: the shuffle order of a group depends only on the seed and the group. */
struct Rng {
  std::uint64_t state;
  Rng(std::uint32_t seed, std::uint32_t group) : state((std::uint64_t{seed} << 32 | group) * 0x9E3779B97F4A7C15ull) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }
};

void fill_order(unsigned* order, unsigned n, Order o, Rng& rng) {
  for (unsigned i = 0; i < n; i++) order[i] = o == Order::Reverse ? n - 1 - i : i;
  if (o != Order::Shuffle) return;
  for (unsigned i = n - 1; i > 0; i--) std::swap(order[i], order[rng.below(i + 1)]);
}

bool runnable(const Group& g, const Fiber& f) {
  switch (f.wait) {
    case Wait::Ready:
      return true;
    case Wait::Barrier:
      return g.barrier.generation != f.generation;
    case Wait::Simd:
      return g.simd[f.t.simdgroup].generation != f.generation;
    case Wait::Done:
      return false;
  }
  return false;
}

bool start_group(Worker& w, const Job& j, std::uint32_t index) {
  Group& g = w.group;
  g.index = index;
  g.threads = j.threads;
  g.returned = 0;
  g.aborted = false;
  g.barrier = Barrier{};
  for (unsigned s = 0; s < j.threads / kSimdWidth; s++) {
    SimdMeeting& m = g.simd[s];
    m.arrived = 0;
    m.generation = 0;
    m.returned = 0;
  }
  if (!w.stacks.reserve(j.threads)) return false;
  for (std::uint32_t i = 0; i < j.threads; i++) {
    Fiber& f = w.fibers[i];
    char* stack = w.stacks.get(i);
    f.t = thread_ids(j, index, i);
    f.wait = Wait::Ready;
    f.generation = 0;
    // Stacks are 68 KiB apart: their tops would all fall in the same cache sets. Shifting each
    // by a different multiple of 64 bytes spreads the fibers' hot frames over the whole cache.
    const std::size_t color = (i % 64) * 64;
    context_prepare(f.context, stack, StackCache::kStackBytes - color, fiber_main, &f);
  }
  if (j.debug) std::memset(w.arena, 0xFF, sizeof w.arena);
  return true;
}

std::string deadlock_message(const Worker& w, const Job& j) {
  unsigned at_barrier = 0, first_barrier = 0, in_simd = 0, first_simd = 0;
  for (std::uint32_t i = 0; i < j.threads; i++) {
    const Fiber& f = w.fibers[i];
    if (f.wait == Wait::Barrier && at_barrier++ == 0) first_barrier = i;
    if (f.wait == Wait::Simd && in_simd++ == 0) first_simd = i;
  }
  const Group& g = w.group;
  std::string waits;
  if (at_barrier) {
    waits += format("%u thread(s) wait at threadgroup_barrier (line %u; thread %u first)", at_barrier, g.barrier.site,
                    first_barrier);
  }
  if (in_simd) {
    const SimdMeeting& m = g.simd[first_simd / kSimdWidth];
    waits += format("%s%u thread(s) wait in simd functions (thread %u first, in %s)", at_barrier ? ", " : "", in_simd,
                    first_simd, simd_name(m.op));
  }
  return format("kernel %s, threadgroup %u, thread %u: deadlock: %s, and none of them can go on", j.kernel->entry.c_str(),
                g.index, at_barrier ? first_barrier : first_simd, waits.c_str());
}

/**
 * Runs one threadgroup's threads as fibers. Each pass resumes every simdgroup in turn (in the
 * dispatch's order), and in it each lane that can go on, until it blocks at a barrier or a simd
 * function or returns; a pass that resumes no one is a deadlock.
 */
bool run_group(Worker& w, Job& j, std::uint32_t index) {
  if (!start_group(w, j, index)) {
    j.fail(format("kernel %s, threadgroup %u: no memory for %u fiber stacks", j.kernel->entry.c_str(), index, j.threads));
    return false;
  }
  Group& g = w.group;
  const unsigned simdgroups = j.threads / kSimdWidth;
  Rng rng(j.seed, index);
  unsigned sg_order[kMaxSimdgroups];
  unsigned lane_order[kSimdWidth];
  const bool shuffle = j.order == Order::Shuffle;
  fill_order(sg_order, simdgroups, j.order, rng);
  fill_order(lane_order, kSimdWidth, j.order, rng);
  while (g.returned < g.threads) {
    bool progress = false;
    if (shuffle) fill_order(sg_order, simdgroups, j.order, rng);
    for (unsigned k = 0; k < simdgroups; k++) {
      const unsigned s = sg_order[k];
      if (shuffle) fill_order(lane_order, kSimdWidth, j.order, rng);
      for (unsigned l = 0; l < kSimdWidth; l++) {
        Fiber& f = w.fibers[s * kSimdWidth + lane_order[l]];
        if (!runnable(g, f)) continue;
        progress = true;
        f.wait = Wait::Ready;
        w.current = &f;
        context_switch(w.scheduler, f.context);
        w.current = nullptr;
        if (g.aborted) return false;
      }
    }
    if (!progress) {
      j.fail(deadlock_message(w, j));
      return false;
    }
  }
  return true;
}

// ------------------------------------------------------------------ barrier-free groups

void run_threads(Worker& w, Job& j, std::uint32_t begin, std::uint32_t end) {
  const Kernel& k = *j.kernel;
  if (k.range && !j.debug) {
    k.range(j.buffers, begin, end, j.threads, j.groups);
    return;
  }
  // Debug: one group at a time, to poison the arena before each and to name the group (and,
  // through the per-thread trampoline, the thread) a fault happened in.
  for (std::uint32_t g = begin; g < end; g++) {
    if (j.failed.load(std::memory_order_relaxed)) return;
    w.at_group = g;
    w.at_group_end = g + 1;
    if (j.debug) std::memset(w.arena, 0xFF, sizeof w.arena);
    if (k.range) {
      k.range(j.buffers, g, g + 1, j.threads, j.groups);
      continue;
    }
    w.thread_known = true;
    for (std::uint32_t i = 0; i < j.threads; i++) {
      const smelt_thread t = thread_ids(j, g, i);
      w.at_thread = i;
      k.thread(j.buffers, &t);
    }
    w.thread_known = false;
  }
}

std::string fault_message(const Worker& w, const Job& j) {
  const std::uintptr_t addr = w.trap.address;
  const std::string at = where(w);
  const char* entry = j.kernel->entry.c_str();
  for (unsigned i = 0; i < j.guarded_count; i++) {
    const GuardedSlot& s = j.guarded[i];
    if (addr >= s.guard && addr < s.guard + page_bytes()) {
      return format("kernel %s accessed past the end of buffer slot %u (%zu bytes past a %zu-byte buffer) in %s", entry,
                    s.slot, static_cast<std::size_t>(addr - (s.begin + s.bytes)), s.bytes, at.c_str());
    }
  }
  if (w.stacks.on_guard(addr)) {
    return format("kernel %s overflowed its %zu KiB fiber stack in %s", entry, StackCache::kStackBytes / 1024, at.c_str());
  }
  return format("kernel %s faulted (%s at address %#zx) in %s", entry, w.trap.signal == SIGBUS ? "SIGBUS" : "SIGSEGV",
                static_cast<std::size_t>(addr), at.c_str());
}

/** Groups [begin, end): the point a failing kernel (or a fault, in debug dispatches) comes back to. */
void run_chunk(Worker& w, Job& j, std::uint32_t begin, std::uint32_t end) {
  w.current = nullptr;
  w.at_group = begin;
  w.at_group_end = end;
  w.thread_known = false;
  w.trap.recover = &w.recover;
  if (sigsetjmp(w.recover, j.debug ? 1 : 0) != 0) {
    w.trap.armed = 0;
    if (w.trap.signal) {
      j.fail(fault_message(w, j));
      w.trap.signal = 0;
    }
    w.current = nullptr;
    w.thread_known = false;
    return;
  }
  w.trap.armed = j.debug ? 1 : 0;
  if (j.cooperative) {
    for (std::uint32_t g = begin; g < end; g++) {
      if (j.failed.load(std::memory_order_relaxed) || !run_group(w, j, g)) break;
    }
  } else {
    run_threads(w, j, begin, end);
  }
  w.trap.armed = 0;
}

std::string check(const DispatchRequest& r) {
  const char* entry = r.kernel->entry.c_str();
  if (!r.kernel->library->handle) return format("kernel %s: its library was unloaded", entry);
  if (r.threads == 0 || r.threads > kMaxThreads) {
    return format("kernel %s: %u threads per threadgroup (Metal allows 1 to %u)", entry, r.threads, kMaxThreads);
  }
  if (r.cooperative && r.threads % kSimdWidth) {
    return format("kernel %s: a cooperative dispatch runs whole simdgroups, and %u threads per threadgroup is not a "
                  "multiple of %u",
                  entry, r.threads, kSimdWidth);
  }
  if (std::uint64_t{r.groups} * r.threads > (std::uint64_t{1} << 32)) {
    return format("kernel %s: %u groups of %u threads exceed the 2^32 thread positions of a grid", entry, r.groups,
                  r.threads);
  }
  return "";
}

void plan_chunks(Job& j, unsigned pool_threads, unsigned requested) {
  const unsigned want = requested ? std::min(requested, pool_threads) : pool_threads;
  j.participants = static_cast<unsigned>(std::min<std::uint64_t>(want, j.groups));
  // Several chunks per thread, taken in turn, even out groups of uneven cost.
  const std::uint64_t target = j.participants == 1 ? 1 : std::min<std::uint64_t>(j.groups, j.participants * 8ull);
  j.chunk = static_cast<std::uint32_t>((j.groups + target - 1) / target);
  j.chunks = static_cast<std::uint32_t>((j.groups + j.chunk - 1) / j.chunk);
}

}  // namespace

void bind_worker(Worker* w) { tls_worker = w; }

std::mutex& dispatch_lock() {
  static std::mutex* lock = new std::mutex();  // never destroyed, like the pool
  return *lock;
}

void work(Worker& w, Job& j) {
  w.job = &j;
  for (;;) {
    if (j.failed.load(std::memory_order_relaxed)) break;
    const std::uint32_t c = j.next_chunk.fetch_add(1);
    if (c >= j.chunks) break;
    const std::uint32_t begin = c * j.chunk;
    const auto end = static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{begin} + j.chunk, j.groups));
    run_chunk(w, j, begin, end);
  }
  w.job = nullptr;
}

const smelt_runtime& runtime_table() { return kTable; }

std::string dispatch(const DispatchRequest& r) {
  const std::string bad = check(r);
  if (!bad.empty()) return bad;
  if (r.groups == 0) return "";
  std::lock_guard<std::mutex> lock(dispatch_lock());
  Pool& pool = Pool::get();
  Job j;
  j.kernel = r.kernel;
  j.buffers = r.buffers;
  j.groups = r.groups;
  j.threads = r.threads;
  j.cooperative = r.cooperative;
  j.debug = r.debug;
  j.order = r.order;
  j.seed = r.seed;
  plan_chunks(j, pool.size(), r.workers);
  if (r.debug) {
    for (unsigned i = 0; i < r.buffer_count; i++) {
      const std::uintptr_t guard = guard_after(r.buffers[i], r.buffer_bytes[i]);
      if (guard) j.guarded[j.guarded_count++] = {i, reinterpret_cast<std::uintptr_t>(r.buffers[i]), r.buffer_bytes[i], guard};
    }
    install_fault_handler();
  }
  Worker& caller = pool.caller();
  bind_worker(&caller);
  set_thread_trap(&caller.trap);
  {
    std::unique_ptr<AltStack> alt;
    if (r.debug) alt = std::make_unique<AltStack>();
    pool.run(j);
  }
  set_thread_trap(nullptr);
  return j.error();
}

unsigned pool_size() { return Pool::get().size(); }

}  // namespace smelt
