#include "memory.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>

#include "fiber.h"

namespace smelt {

namespace {

/** Below this a heap block (zeroed by hand); above, fresh pages the kernel zeroes lazily. */
constexpr std::size_t kMapThreshold = 1 << 20;

std::mutex registry_mutex;
std::map<std::uintptr_t, Allocation*>& registry() {
  // Never destroyed: finalizers may run while the process exits.
  static auto* live = new std::map<std::uintptr_t, Allocation*>();
  return *live;
}
std::atomic<std::size_t> live_total{0};

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

bool map_guarded(Allocation& a) {
  const std::size_t page = page_bytes();
  const std::size_t body = round_up(a.bytes, page);
  void* m = mmap(nullptr, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return false;
  auto* guard = static_cast<unsigned char*>(m) + body;
  if (mprotect(guard, page, PROT_NONE) != 0) {
    munmap(m, body + page);
    return false;
  }
  a.mapping = m;
  a.mapping_bytes = body + page;
  a.data = guard - a.bytes;
  return true;
}

bool map_plain(Allocation& a) {
  if (a.bytes >= kMapThreshold) {
    const std::size_t bytes = round_up(a.bytes, page_bytes());
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    a.mapping = m;
    a.mapping_bytes = bytes;
    a.data = static_cast<unsigned char*>(m);
    return true;
  }
  const std::size_t bytes = round_up(a.bytes, 64);
  void* p = nullptr;
  if (posix_memalign(&p, 64, bytes) != 0) return false;
  std::memset(p, 0, bytes);
  a.data = static_cast<unsigned char*>(p);
  return true;
}

}  // namespace

Allocation* allocate(std::size_t bytes, bool guard) {
  auto* a = new Allocation();
  a->bytes = bytes;
  a->guard = guard;
  if (!(guard ? map_guarded(*a) : map_plain(*a))) {
    delete a;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry()[reinterpret_cast<std::uintptr_t>(a->data)] = a;
  live_total += bytes;
  return a;
}

namespace {
void release_locked(Allocation* a) {
  if (a->released) return;
  a->released = true;
  registry().erase(reinterpret_cast<std::uintptr_t>(a->data));
  live_total -= a->bytes;
  if (a->mapping) munmap(a->mapping, a->mapping_bytes);
  else std::free(a->data);
}
}  // namespace

void release(Allocation* a) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  release_locked(a);
}

void forget(Allocation* a) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  release_locked(a);
  if (a->pinned) a->finalized = true;
  else delete a;
}

void pin(Allocation* a) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  a->pinned = true;
}

void unpin(Allocation* a) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  a->pinned = false;
}

void release_pinned(Allocation* a) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  release_locked(a);
  a->pinned = false;
  if (a->finalized) delete a;
}

Allocation* find_live(const void* data) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(reinterpret_cast<std::uintptr_t>(data));
  return it == registry().end() ? nullptr : it->second;
}

std::uintptr_t guard_after(const void* p, std::size_t bytes) {
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& live = registry();
  auto it = live.upper_bound(begin);  // first allocation starting after p
  if (it == live.begin()) return 0;
  const Allocation* a = std::prev(it)->second;
  const auto data = reinterpret_cast<std::uintptr_t>(a->data);
  if (!a->guard || begin + bytes > data + a->bytes) return 0;
  return data + a->bytes;
}

std::size_t live_bytes() { return live_total.load(); }

}  // namespace smelt
