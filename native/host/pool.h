// Persistent OS threads that run dispatches with the calling thread.
#ifndef SMELT_HOST_POOL_H
#define SMELT_HOST_POOL_H

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "worker.h"

namespace smelt {

class Pool {
 public:
  /** The process's pool (created on first use, never destroyed: threads outlive static destructors). */
  static Pool& get();
  /** Threads including the caller. */
  unsigned size() const { return size_; }
  /** The worker of the calling thread for one dispatch (one dispatch runs at a time). */
  Worker& caller() { return *workers_[0]; }
  /** Runs `job` on its participants (the caller is participant 0); returns when all finished. */
  void run(Job& job);

 private:
  Pool();
  void start_threads();
  void thread_main(unsigned index);

  unsigned size_ = 1;
  std::vector<Worker*> workers_;
  bool started_ = false;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  std::uint64_t generation_ = 0;
  Job* job_ = nullptr;
  unsigned pending_ = 0;
};

}  // namespace smelt

#endif  // SMELT_HOST_POOL_H
