// What one dispatch shares between its OS threads (Job), and what each OS thread owns while it
// runs threadgroups (Worker): its threadgroup arena, its fibers and their stacks, and where to
// recover to when the running kernel fails.
#ifndef SMELT_HOST_WORKER_H
#define SMELT_HOST_WORKER_H

#include <atomic>
#include <csetjmp>
#include <cstdint>
#include <mutex>
#include <string>

#include "abi.h"
#include "faults.h"
#include "fiber.h"
#include "runtime.h"

namespace smelt {

/** A buffer slot bound to guarded memory: a fault on its guard page is a write past its end. */
struct GuardedSlot {
  unsigned slot = 0;
  std::uintptr_t begin = 0;
  std::size_t bytes = 0;
  std::uintptr_t guard = 0;  // first byte of the guard page
};

struct Job {
  const Kernel* kernel = nullptr;
  void* const* buffers = nullptr;
  std::uint32_t groups = 0;
  std::uint32_t threads = 0;
  bool cooperative = false;
  bool debug = false;
  Order order = Order::Forward;
  std::uint32_t seed = 0;
  unsigned participants = 1;
  std::uint32_t chunk = 1;   // groups per chunk
  std::uint32_t chunks = 0;
  std::atomic<std::uint32_t> next_chunk{0};
  std::atomic<bool> failed{false};
  GuardedSlot guarded[kMaxBuffers];
  unsigned guarded_count = 0;

  /** Keeps the first error; the other threads stop taking chunks. */
  void fail(const std::string& message) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (error_.empty()) error_ = message;
    failed = true;
  }
  std::string error() {
    std::lock_guard<std::mutex> lock(error_mutex_);
    return error_;
  }

 private:
  std::mutex error_mutex_;
  std::string error_;
};

enum class Wait : std::uint8_t { Ready, Barrier, Simd, Done };

struct Fiber {
  Context context;
  smelt_thread t;
  Wait wait = Wait::Ready;
  unsigned generation = 0;  // of the barrier or simd meeting it waits for
  unsigned site = 0;        // the barrier's line
};

enum class SimdOp : std::uint8_t { SumF32, SumI32, SumU32, ShuffleXor, Allgather };

/** One simdgroup's simd function in progress: each lane leaves its operands, the last computes. */
struct SimdMeeting {
  unsigned arrived = 0;
  unsigned generation = 0;
  unsigned returned = 0;     // lanes of this simdgroup that returned
  unsigned first_returned = 0;
  SimdOp op = SimdOp::SumF32;
  unsigned first_lane = 0;   // the lane that opened this meeting
  std::uint32_t in[kSimdWidth];
  std::uint32_t arg[kSimdWidth];
  std::uint32_t out[kSimdWidth];
  float all[2 * kSimdWidth];
};

struct Barrier {
  unsigned arrived = 0;
  unsigned generation = 0;
  unsigned site = 0;
  unsigned first = 0;  // the thread that opened this round
};

struct Group {
  std::uint32_t index = 0;
  std::uint32_t threads = 0;
  unsigned returned = 0;
  unsigned first_returned = 0;
  bool aborted = false;
  Barrier barrier;
  SimdMeeting simd[kMaxSimdgroups];
};

struct Worker {
  alignas(64) unsigned char arena[kArenaBytes];
  Job* job = nullptr;
  Context scheduler;
  Fiber* current = nullptr;  // the fiber running, or null on the thread's own stack
  Group group;
  Fiber fibers[kMaxThreads];
  StackCache stacks;
  sigjmp_buf recover;
  FaultTrap trap;
  // Where the thread is, outside fibers, for messages.
  std::uint32_t at_group = 0;
  std::uint32_t at_group_end = 0;
  std::uint32_t at_thread = 0;
  bool thread_known = false;
};

/** Makes `w` the calling thread's worker (the runtime table's functions find it there). */
void bind_worker(Worker* w);

/** Held by a dispatch from start to end (one runs at a time), and by whatever must not overlap one. */
std::mutex& dispatch_lock();

/** The table stored into every library's smelt_host_runtime. */
const smelt_runtime& runtime_table();

/** Runs chunks of `job` on the calling thread until none is left or the job failed. */
void work(Worker& w, Job& job);

}  // namespace smelt

#endif  // SMELT_HOST_WORKER_H
