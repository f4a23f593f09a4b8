// Catching a kernel's memory faults in debug dispatches. A SIGSEGV or SIGBUS on a thread whose
// trap is armed jumps back to the trap's recovery point (siglongjmp from the alternate signal
// stack, so a fault on a fiber's stack guard is caught too); every other fault goes to the
// handler installed before ours (Node and V8 rely on theirs, e.g. for WebAssembly bounds).
#ifndef SMELT_HOST_FAULTS_H
#define SMELT_HOST_FAULTS_H

#include <csetjmp>
#include <csignal>
#include <cstddef>
#include <cstdint>

namespace smelt {

struct FaultTrap {
  sigjmp_buf* recover = nullptr;
  volatile sig_atomic_t armed = 0;
  volatile int signal = 0;
  volatile std::uintptr_t address = 0;
};

/** Installs the handler (once per process). */
void install_fault_handler();

/** The trap the handler consults on this thread (nullptr: none). */
void set_thread_trap(FaultTrap* trap);

/** An alternate signal stack for the calling thread while this lives, unless it has one already. */
class AltStack {
 public:
  AltStack();
  ~AltStack();
  AltStack(const AltStack&) = delete;
  AltStack& operator=(const AltStack&) = delete;

 private:
  void* memory_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace smelt

#endif  // SMELT_HOST_FAULTS_H
