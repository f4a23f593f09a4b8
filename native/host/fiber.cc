#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#if SMELT_FIBER_ASM
// smelt_context_switch(void** save_sp, void* next_sp) pushes the callee-saved registers, stores
// the stack pointer in *save_sp, loads next_sp and pops the registers it finds there.
// smelt_context_start is where a prepared stack first "returns" to: it calls fn(arg) from two
// callee-saved registers that context_prepare placed in the initial frame. On x86-64 the switch
// leaves by an indirect jump, not `ret`: the return predictor expects the caller of this switch,
// never the context resumed, while the jump's target (the scheduler, or the point a fiber
// blocked at) repeats and is predicted; measured 2.5 times faster per fiber. The control bits of
// MXCSR / x87 / FPCR are callee-saved too, but every fiber of a dispatch runs with the modes of
// the thread that runs it, so they are not switched.
#if defined(__APPLE__)
#define SMELT_SYM(name) "_" #name
#define SMELT_FUNCTION(name) ".globl _" #name "\n.private_extern _" #name "\n.p2align 4\n_" #name ":\n"
#define SMELT_END(name) ""
#else
#define SMELT_SYM(name) #name
#if defined(__x86_64__)
#define SMELT_TYPE "@function"
#else
#define SMELT_TYPE "%function"
#endif
#define SMELT_FUNCTION(name) \
  ".globl " #name "\n.hidden " #name "\n.type " #name ", " SMELT_TYPE "\n.p2align 4\n" #name ":\n"
#define SMELT_END(name) ".size " #name ", .-" #name "\n"
#endif

extern "C" void smelt_context_switch(void** save_sp, void* next_sp);
extern "C" void smelt_context_start();

#if defined(__x86_64__)
asm(".text\n" SMELT_FUNCTION(smelt_context_switch)
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  popq %rax\n"
    "  jmpq *%rax\n" SMELT_END(smelt_context_switch)
    SMELT_FUNCTION(smelt_context_start)
    "  movq %r12, %rdi\n"
    "  callq *%r13\n"
    "  ud2\n" SMELT_END(smelt_context_start));
#else
asm(".text\n" SMELT_FUNCTION(smelt_context_switch)
    "  sub sp, sp, #160\n"
    "  stp x19, x20, [sp, #0]\n"
    "  stp x21, x22, [sp, #16]\n"
    "  stp x23, x24, [sp, #32]\n"
    "  stp x25, x26, [sp, #48]\n"
    "  stp x27, x28, [sp, #64]\n"
    "  stp x29, x30, [sp, #80]\n"
    "  stp d8, d9, [sp, #96]\n"
    "  stp d10, d11, [sp, #112]\n"
    "  stp d12, d13, [sp, #128]\n"
    "  stp d14, d15, [sp, #144]\n"
    "  mov x9, sp\n"
    "  str x9, [x0]\n"
    "  mov sp, x1\n"
    "  ldp x19, x20, [sp, #0]\n"
    "  ldp x21, x22, [sp, #16]\n"
    "  ldp x23, x24, [sp, #32]\n"
    "  ldp x25, x26, [sp, #48]\n"
    "  ldp x27, x28, [sp, #64]\n"
    "  ldp x29, x30, [sp, #80]\n"
    "  ldp d8, d9, [sp, #96]\n"
    "  ldp d10, d11, [sp, #112]\n"
    "  ldp d12, d13, [sp, #128]\n"
    "  ldp d14, d15, [sp, #144]\n"
    "  add sp, sp, #160\n"
    "  ret\n" SMELT_END(smelt_context_switch)
    SMELT_FUNCTION(smelt_context_start)
    "  mov x0, x19\n"
    "  blr x20\n"
    "  brk #0\n" SMELT_END(smelt_context_start));
#endif
#endif  // SMELT_FIBER_ASM

namespace smelt {

std::size_t page_bytes() {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

#if SMELT_FIBER_ASM

void context_prepare(Context& c, char* base, std::size_t bytes, FiberEntry entry, void* arg) {
  auto top = reinterpret_cast<std::uintptr_t>(base + bytes) & ~std::uintptr_t{15};
#if defined(__x86_64__)
  // After the switch pops six registers and `ret`s into smelt_context_start, rsp is 16-byte
  // aligned at its call, as the System V ABI wants.
  auto* frame = reinterpret_cast<void**>(top - 16 - 7 * sizeof(void*));
  frame[0] = nullptr;                                             // r15
  frame[1] = nullptr;                                             // r14
  frame[2] = reinterpret_cast<void*>(entry);                      // r13
  frame[3] = arg;                                                 // r12
  frame[4] = nullptr;                                             // rbx
  frame[5] = nullptr;                                             // rbp
  frame[6] = reinterpret_cast<void*>(&smelt_context_start);       // return address
#else
  auto* frame = reinterpret_cast<void**>(top - 160);
  for (int i = 0; i < 20; i++) frame[i] = nullptr;
  frame[0] = arg;                                                 // x19
  frame[1] = reinterpret_cast<void*>(entry);                      // x20
  frame[11] = reinterpret_cast<void*>(&smelt_context_start);      // x30
#endif
  c.sp = frame;
}

void context_switch(Context& from, Context& to) { smelt_context_switch(&from.sp, to.sp); }

#else

namespace {
// makecontext passes int arguments only: the pointers travel as two halves.
void start_ucontext(unsigned entry_hi, unsigned entry_lo, unsigned arg_hi, unsigned arg_lo) {
  auto join = [](unsigned hi, unsigned lo) { return (static_cast<std::uintptr_t>(hi) << 32) | lo; };
  auto entry = reinterpret_cast<FiberEntry>(join(entry_hi, entry_lo));
  entry(reinterpret_cast<void*>(join(arg_hi, arg_lo)));
  std::abort();
}
}  // namespace

void context_prepare(Context& c, char* base, std::size_t bytes, FiberEntry entry, void* arg) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = base;
  c.uc.uc_stack.ss_size = bytes;
  c.uc.uc_link = nullptr;
  auto e = reinterpret_cast<std::uintptr_t>(entry);
  auto a = reinterpret_cast<std::uintptr_t>(arg);
  makecontext(&c.uc, reinterpret_cast<void (*)()>(start_ucontext), 4, unsigned(e >> 32), unsigned(e), unsigned(a >> 32),
              unsigned(a));
}

void context_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }

#endif

StackCache::~StackCache() {
  for (char* m : mappings_) munmap(m, page_bytes() + kStackBytes);
}

bool StackCache::reserve(std::size_t count) {
  while (mappings_.size() < count) {
    const std::size_t page = page_bytes();
    void* m = mmap(nullptr, page + kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    if (mprotect(m, page, PROT_NONE) != 0) {
      munmap(m, page + kStackBytes);
      return false;
    }
    mappings_.push_back(static_cast<char*>(m));
  }
  return true;
}

bool StackCache::on_guard(std::uintptr_t addr) const {
  for (char* m : mappings_) {
    auto lo = reinterpret_cast<std::uintptr_t>(m);
    if (addr >= lo && addr < lo + page_bytes()) return true;
  }
  return false;
}

}  // namespace smelt
