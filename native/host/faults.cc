#include "faults.h"

#include <pthread.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace smelt {

namespace {

pthread_key_t trap_key;
struct sigaction previous_segv;
struct sigaction previous_bus;

/** Hands a fault that is not ours to whoever handled it before. */
void chain(int sig, siginfo_t* info, void* context) {
  const struct sigaction& prev = sig == SIGSEGV ? previous_segv : previous_bus;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) {
      prev.sa_sigaction(sig, info, context);
      return;
    }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Default action: returning re-executes the faulting instruction, which now terminates the
  // process as it would have without this handler. (Ignoring a fault would loop forever.)
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
}

void on_fault(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  // pthread_getspecific reads thread-local slots without allocating (unlike the first access to
  // a dlopen'd library's thread_local), which is what a signal handler can afford.
  auto* trap = static_cast<FaultTrap*>(pthread_getspecific(trap_key));
  if (trap && trap->armed) {
    trap->armed = 0;
    trap->signal = sig;
    trap->address = reinterpret_cast<std::uintptr_t>(info->si_addr);
    siglongjmp(*trap->recover, 1);
  }
  errno = saved_errno;
  chain(sig, info, context);
}

std::once_flag key_once;
void make_key() {
  std::call_once(key_once, [] { pthread_key_create(&trap_key, nullptr); });
}

}  // namespace

void install_fault_handler() {
  static std::once_flag once;
  make_key();
  std::call_once(once, [] {
    struct sigaction act;
    std::memset(&act, 0, sizeof act);
    act.sa_sigaction = on_fault;
    act.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&act.sa_mask);
    sigaction(SIGSEGV, &act, &previous_segv);
    sigaction(SIGBUS, &act, &previous_bus);
  });
}

void set_thread_trap(FaultTrap* trap) {
  make_key();
  pthread_setspecific(trap_key, trap);
}

AltStack::AltStack() {
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  bytes_ = 64 * 1024;
  memory_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory_ == MAP_FAILED) {
    memory_ = nullptr;
    return;
  }
  stack_t ours;
  ours.ss_sp = memory_;
  ours.ss_size = bytes_;
  ours.ss_flags = 0;
  if (sigaltstack(&ours, nullptr) != 0) {
    munmap(memory_, bytes_);
    memory_ = nullptr;
  }
}

AltStack::~AltStack() {
  if (!memory_) return;
  stack_t off;
  std::memset(&off, 0, sizeof off);
  off.ss_flags = SS_DISABLE;
  sigaltstack(&off, nullptr);
  munmap(memory_, bytes_);
}

}  // namespace smelt
