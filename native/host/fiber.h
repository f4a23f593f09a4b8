// Fibers: a stack and a saved context, switched by hand. On x86-64 (System V) and aarch64 the
// switch saves the callee-saved registers and the stack pointer and swaps (a few instructions,
// several times faster than swapcontext, which also saves the signal mask with a system call);
// other targets use ucontext.
#ifndef SMELT_HOST_FIBER_H
#define SMELT_HOST_FIBER_H

#if (defined(__x86_64__) || defined(__aarch64__)) && !defined(SMELT_FIBER_UCONTEXT)
#define SMELT_FIBER_ASM 1
#else
#define SMELT_FIBER_ASM 0
#if defined(__APPLE__) && !defined(_XOPEN_SOURCE)
// macOS declares the ucontext functions only for XSI (include this header first).
#define _XOPEN_SOURCE 700
#define _DARWIN_C_SOURCE 1
#endif
#include <ucontext.h>
#endif

#include <cstddef>
#include <cstdint>
#include <vector>

namespace smelt {

/** A suspended execution: where to resume it. */
struct Context {
#if SMELT_FIBER_ASM
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};

using FiberEntry = void (*)(void* arg);

/** Makes `c` start `entry(arg)` on the stack [base, base + bytes) when first switched to. `entry` must never return. */
void context_prepare(Context& c, char* base, std::size_t bytes, FiberEntry entry, void* arg);

/** Saves the running context in `from` and resumes `to`; returns when something switches back to `from`. */
void context_switch(Context& from, Context& to);

std::size_t page_bytes();

/** Fiber stacks of one OS thread: 64 KiB each above a PROT_NONE guard page, mapped on first use and reused. */
class StackCache {
 public:
  static constexpr std::size_t kStackBytes = 64 * 1024;
  StackCache() = default;
  StackCache(const StackCache&) = delete;
  StackCache& operator=(const StackCache&) = delete;
  ~StackCache();
  /** Maps stacks 0..count-1 if not yet; false when the system has no memory for them. */
  bool reserve(std::size_t count);
  /** The lowest usable address of stack `i` (kStackBytes long), once reserved. */
  char* get(std::size_t i) const { return mappings_[i] + guard_bytes_; }
  /** Whether `addr` is on the guard page of one of these stacks. */
  bool on_guard(std::uintptr_t addr) const;

 private:
  std::vector<char*> mappings_;  // each: guard page, then the stack
  std::size_t guard_bytes_ = page_bytes();
};

}  // namespace smelt

#endif  // SMELT_HOST_FIBER_H
