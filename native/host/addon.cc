// The Node binding of the host runtime (runtime/native.ts declares what it exports).
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>

#include "memory.h"
#include "runtime.h"

namespace {

using smelt::Allocation;
using smelt::DispatchRequest;
using smelt::Kernel;
using smelt::Library;
using smelt::Order;
using LibraryRef = std::shared_ptr<Library>;

// Handles are type-tagged externals: another external (or a kernel for a library) is refused.
const napi_type_tag kLibraryTag = {0x5e1f7a11b2a4c301ULL, 0x9d3c6b0e4f21a7d5ULL};
const napi_type_tag kKernelTag = {0x5e1f7a11b2a4c302ULL, 0x2b8e1d4c7a96f0e3ULL};

template <class T>
T& handle(const Napi::Value& v, const napi_type_tag& tag, const char* what) {
  if (v.IsExternal()) {
    auto e = v.As<Napi::External<T>>();
    if (e.CheckTypeTag(&tag)) return *e.Data();
  }
  throw Napi::TypeError::New(v.Env(), std::string("expected a ") + what);
}

/** An integer in [0, max]. */
double count(const Napi::Value& v, const char* name, double max) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!(x >= 0 && x <= max && std::floor(x) == x)) {
    const auto top = std::to_string(static_cast<unsigned long long>(max));
    throw Napi::RangeError::New(v.Env(), std::string(name) + " must be an integer from 0 to " + top + ", not " +
                                             v.ToString().Utf8Value());
  }
  return x;
}

constexpr double kU32Max = 4294967295.0;

Napi::Value LoadLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "loadLibrary: the path must be a string");
  std::string error;
  LibraryRef library = smelt::load_library(info[0].As<Napi::String>().Utf8Value(), error);
  if (!library) throw Napi::Error::New(env, error);
  auto external = Napi::External<LibraryRef>::New(env, new LibraryRef(std::move(library)),
                                                  [](Napi::Env, LibraryRef* ref) { delete ref; });
  external.TypeTag(&kLibraryTag);
  return external;
}

void UnloadLibrary(const Napi::CallbackInfo& info) {
  smelt::unload_library(*handle<LibraryRef>(info[0], kLibraryTag, "LibraryHandle from loadLibrary()"));
}

Napi::Value GetKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LibraryRef& library = handle<LibraryRef>(info[0], kLibraryTag, "LibraryHandle from loadLibrary()");
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "kernel: the entry must be a string");
  auto kernel = std::make_unique<Kernel>();
  std::string error;
  if (!smelt::find_kernel(library, info[1].As<Napi::String>().Utf8Value(), *kernel, error)) {
    throw Napi::Error::New(env, error);
  }
  auto external = Napi::External<Kernel>::New(env, kernel.release(), [](Napi::Env, Kernel* k) { delete k; });
  external.TypeTag(&kKernelTag);
  return external;
}

/** The memory an ArrayBuffer or a view spans. */
void span_of(const Napi::Value& v, unsigned slot, void*& data, std::size_t& bytes) {
  Napi::Env env = v.Env();
  Napi::ArrayBuffer buffer;
  std::size_t offset = 0;
  if (v.IsArrayBuffer()) {
    buffer = v.As<Napi::ArrayBuffer>();
    bytes = buffer.ByteLength();
  } else if (v.IsTypedArray()) {
    auto view = v.As<Napi::TypedArray>();
    buffer = view.ArrayBuffer();
    offset = view.ByteOffset();
    bytes = view.ByteLength();
  } else if (v.IsDataView()) {
    auto view = v.As<Napi::DataView>();
    buffer = view.ArrayBuffer();
    offset = view.ByteOffset();
    bytes = view.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "dispatch: buffer slot " + std::to_string(slot) +
                                        " is not an ArrayBuffer or an ArrayBufferView");
  }
  if (buffer.IsDetached()) {
    throw Napi::Error::New(env, "dispatch: the ArrayBuffer at buffer slot " + std::to_string(slot) +
                                    " is detached (freed)");
  }
  data = static_cast<unsigned char*>(buffer.Data()) + offset;
}

Order order_of(const Napi::Value& v) {
  if (v.IsUndefined()) return Order::Forward;
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "forward") return Order::Forward;
  if (s == "reverse") return Order::Reverse;
  if (s == "shuffle") return Order::Shuffle;
  throw Napi::TypeError::New(v.Env(), "dispatch: order must be \"forward\", \"reverse\" or \"shuffle\"");
}

bool flag(const Napi::Object& opts, const char* name, bool fallback) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(opts.Env(), std::string("dispatch: ") + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

void Dispatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DispatchRequest r;
  r.kernel = &handle<Kernel>(info[0], kKernelTag, "KernelHandle from kernel()");
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "dispatch: buffers must be an array");
  auto buffers = info[1].As<Napi::Array>();
  if (buffers.Length() > smelt::kMaxBuffers) {
    throw Napi::RangeError::New(env, "dispatch: " + std::to_string(buffers.Length()) + " buffers (Metal has slots 0..30)");
  }
  r.buffer_count = buffers.Length();
  for (unsigned i = 0; i < r.buffer_count; i++) span_of(buffers.Get(i), i, r.buffers[i], r.buffer_bytes[i]);
  r.groups = static_cast<std::uint32_t>(count(info[2], "dispatch: groups", kU32Max));
  r.threads = static_cast<std::uint32_t>(count(info[3], "dispatch: threadsPerGroup", kU32Max));
  if (!info[4].IsObject()) throw Napi::TypeError::New(env, "dispatch: options must be an object");
  auto opts = info[4].As<Napi::Object>();
  Napi::Value cooperative = opts.Get("cooperative");
  if (!cooperative.IsBoolean()) throw Napi::TypeError::New(env, "dispatch: cooperative must be a boolean");
  r.cooperative = cooperative.As<Napi::Boolean>().Value();
  r.order = order_of(opts.Get("order"));
  Napi::Value seed = opts.Get("seed");
  if (!seed.IsUndefined()) r.seed = static_cast<std::uint32_t>(count(seed, "dispatch: seed", kU32Max));
  Napi::Value workers = opts.Get("workers");
  if (!workers.IsUndefined()) {
    r.workers = static_cast<unsigned>(count(workers, "dispatch: workers", kU32Max));
    if (r.workers == 0) throw Napi::RangeError::New(env, "dispatch: workers must be at least 1");
  }
  r.debug = flag(opts, "debug", false);
  const std::string error = smelt::dispatch(r);
  if (!error.empty()) throw Napi::Error::New(env, error);
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto bytes = static_cast<std::size_t>(count(info[0], "alloc: bytes", 9007199254740991.0));
  bool guard = false;
  if (info[1].IsObject()) {
    Napi::Value g = info[1].As<Napi::Object>().Get("guard");
    if (!g.IsUndefined() && !g.IsBoolean()) throw Napi::TypeError::New(env, "alloc: guard must be a boolean");
    guard = !g.IsUndefined() && g.As<Napi::Boolean>().Value();
  } else if (!info[1].IsUndefined()) {
    throw Napi::TypeError::New(env, "alloc: options must be an object");
  }
  // V8 keeps no data pointer for an empty buffer: zero bytes hold no native memory.
  if (bytes == 0) return Napi::ArrayBuffer::New(env, 0);
  Allocation* a = smelt::allocate(bytes, guard);
  if (!a) throw Napi::RangeError::New(env, "alloc: no memory for " + std::to_string(bytes) + " bytes");
  // The finalizer runs when V8 frees the buffer's memory (after GC, or after free() detached it).
  return Napi::ArrayBuffer::New(
      env, a->data, a->bytes, [](Napi::Env, void*, Allocation* allocation) { smelt::forget(allocation); }, a);
}

void Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "free: expected an ArrayBuffer from alloc()");
  auto buffer = info[0].As<Napi::ArrayBuffer>();
  if (!buffer.IsDetached() && buffer.ByteLength() == 0) {
    buffer.Detach();  // alloc(0) holds no native memory
    return;
  }
  Allocation* a = buffer.IsDetached() ? nullptr : smelt::find_live(buffer.Data());
  if (!a || a->bytes != buffer.ByteLength()) {
    throw Napi::Error::New(env, "free: the ArrayBuffer is not live memory from alloc() (freed already?)");
  }
  smelt::pin(a);
  try {
    buffer.Detach();
  } catch (...) {
    smelt::unpin(a);  // still attached and live: nothing changed
    throw;
  }
  smelt::release_pinned(a);
}

Napi::Value LiveBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(smelt::live_bytes()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abi", Napi::Number::New(env, smelt::kAbi));
  exports.Set("workers", Napi::Number::New(env, smelt::pool_size()));
  exports.Set("loadLibrary", Napi::Function::New(env, LoadLibrary, "loadLibrary"));
  exports.Set("unloadLibrary", Napi::Function::New(env, UnloadLibrary, "unloadLibrary"));
  exports.Set("kernel", Napi::Function::New(env, GetKernel, "kernel"));
  exports.Set("dispatch", Napi::Function::New(env, Dispatch, "dispatch"));
  exports.Set("alloc", Napi::Function::New(env, Alloc, "alloc"));
  exports.Set("free", Napi::Function::New(env, Free, "free"));
  exports.Set("liveBytes", Napi::Function::New(env, LiveBytes, "liveBytes"));
  return exports;
}

}  // namespace

NODE_API_MODULE(smelt_host, Init)
