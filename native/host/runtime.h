// The host runtime without JavaScript: kernel libraries, kernels and synchronous dispatches on
// a process-wide thread pool. addon.cc binds it to Node.
#ifndef SMELT_HOST_RUNTIME_H
#define SMELT_HOST_RUNTIME_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "abi.h"

namespace smelt {

/** A dlopen'd kernel library; closed by unload_library or when the last reference goes. */
struct Library {
  void* handle = nullptr;
  std::string path;
  Library() = default;
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  ~Library();
};

struct Kernel {
  std::shared_ptr<Library> library;
  std::string entry;
  ThreadEntry thread = nullptr;
  RangeEntry range = nullptr;  // null when the library has no range trampoline for it
};

/** Loads a library and binds the runtime table into it; nullptr and `error` on failure. */
std::shared_ptr<Library> load_library(const std::string& path, std::string& error);

/** Closes the library now; its kernels then refuse to run. */
void unload_library(Library& library);

/** The kernel `entry` of `library`; false and `error` when the library has no trampoline for it. */
bool find_kernel(const std::shared_ptr<Library>& library, const std::string& entry, Kernel& out, std::string& error);

enum class Order { Forward, Reverse, Shuffle };

struct DispatchRequest {
  const Kernel* kernel = nullptr;
  void* buffers[kMaxBuffers] = {};
  std::size_t buffer_bytes[kMaxBuffers] = {};
  unsigned buffer_count = 0;
  std::uint32_t groups = 0;
  std::uint32_t threads = 0;
  bool cooperative = false;
  Order order = Order::Forward;
  std::uint32_t seed = 0;
  /** OS threads to use; 0 = all the pool has. */
  unsigned workers = 0;
  bool debug = false;
};

/** Runs one dispatch to its end; returns the first error's message, or "" when it succeeded. */
std::string dispatch(const DispatchRequest& request);

/** OS threads a dispatch can use, the calling thread included. */
unsigned pool_size();

}  // namespace smelt

#endif  // SMELT_HOST_RUNTIME_H
