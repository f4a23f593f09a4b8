#include "pool.h"

#include <algorithm>
#include <thread>

#include "faults.h"

namespace smelt {

Pool& Pool::get() {
  static Pool* pool = new Pool();
  return *pool;
}

Pool::Pool() {
  size_ = std::max(1u, std::thread::hardware_concurrency());
  workers_.push_back(new Worker());
}

void Pool::start_threads() {
  if (started_) return;
  started_ = true;
  // Every worker exists before any thread reads workers_.
  for (unsigned i = 1; i < size_; i++) workers_.push_back(new Worker());
  for (unsigned i = 1; i < size_; i++) std::thread([this, i] { thread_main(i); }).detach();
}

void Pool::thread_main(unsigned index) {
  Worker& w = *workers_[index];
  // Kept for the thread's life: a fault on a fiber's stack guard needs another stack to run on.
  AltStack alt;
  bind_worker(&w);
  set_thread_trap(&w.trap);
  std::uint64_t seen = 0;
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      job = job_;
    }
    // A thread that wakes late sees the job in progress (which cannot finish without its
    // participants) or none.
    if (!job || index >= job->participants) continue;
    work(w, *job);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void Pool::run(Job& job) {
  const bool shared = job.participants > 1;
  if (shared) {
    std::lock_guard<std::mutex> lock(mutex_);
    start_threads();
    job_ = &job;
    pending_ = job.participants - 1;
    generation_++;
  }
  if (shared) start_.notify_all();
  work(*workers_[0], job);
  if (shared) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }
}

}  // namespace smelt
