// Kernel libraries: shared objects built from one program's MSL with smelt_msl_host.h.
#include <dlfcn.h>

#include <mutex>

#include "runtime.h"
#include "worker.h"

namespace smelt {

namespace {

std::string last_dl_error() {
  const char* e = dlerror();
  return e ? e : "unknown error";
}

}  // namespace

Library::~Library() {
  if (handle) dlclose(handle);
}

std::shared_ptr<Library> load_library(const std::string& path, std::string& error) {
  // RTLD_LOCAL: two libraries may define the same kernel names. dlopen returns the library
  // already loaded from the same file, so a rebuilt library needs a new path.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    error = "cannot load kernel library " + path + ": " + last_dl_error();
    return nullptr;
  }
  auto library = std::make_shared<Library>();
  library->handle = handle;
  library->path = path;
  const auto* version = static_cast<const unsigned*>(dlsym(handle, "smelt_host_abi_version"));
  auto** table = static_cast<const smelt_runtime**>(dlsym(handle, "smelt_host_runtime"));
  if (!version || !table) {
    error = "kernel library " + path + " defines no smelt_host_abi_version or smelt_host_runtime: it was not built " +
            "with smelt_msl_host.h";
    return nullptr;
  }
  if (*version != kAbi) {
    error = "kernel library " + path + " was built for host ABI " + std::to_string(*version) +
            "; this runtime implements ABI " + std::to_string(kAbi);
    return nullptr;
  }
  *table = &runtime_table();
  return library;
}

void unload_library(Library& library) {
  // Not while a dispatch (of another JavaScript thread) may be running its code.
  std::lock_guard<std::mutex> lock(dispatch_lock());
  if (!library.handle) return;
  dlclose(library.handle);
  library.handle = nullptr;
}

bool find_kernel(const std::shared_ptr<Library>& library, const std::string& entry, Kernel& out, std::string& error) {
  if (!library->handle) {
    error = "kernel " + entry + ": library " + library->path + " was unloaded";
    return false;
  }
  void* thread = dlsym(library->handle, ("smelt_host_" + entry).c_str());
  if (!thread) {
    error = "kernel library " + library->path + " has no kernel " + entry + " (no symbol smelt_host_" + entry + ")";
    return false;
  }
  out.library = library;
  out.entry = entry;
  out.thread = reinterpret_cast<ThreadEntry>(thread);
  out.range = reinterpret_cast<RangeEntry>(dlsym(library->handle, ("smelt_host_range_" + entry).c_str()));
  return true;
}

}  // namespace smelt
