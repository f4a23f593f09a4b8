// smelt_metal: the Metal device's native half (macOS only). It owns the default MTLDevice and
// one command queue, compiles MSL libraries with safe math, caches compute pipelines by kernel
// function name, hands out shared-storage buffers to JavaScript as external ArrayBuffers over
// their contents (zero copy both ways), and runs a list of dispatches in one command buffer.
// Everything that can be decided without Metal (which buffer goes in which slot, where the
// barriers go, buffer reuse) is decided in TypeScript (runtime/metal.ts); this file only does
// what needs Metal. Its JavaScript surface is the MetalAddon interface in runtime/metal.ts.
//
// Threading: every function here runs on the JavaScript thread, except the completed handler
// of runAsync, which runs on a Metal thread and reaches JavaScript only through a thread-safe
// function. The buffer registry is touched only on the JavaScript thread.
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <napi.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

// Tags that make a handle of one kind unusable as another (napi_type_tag_object).
const napi_type_tag kLibraryTag = {0x736d656c746d6574ULL, 0x6c6962726172790aULL};
const napi_type_tag kPipelineTag = {0x736d656c746d6574ULL, 0x706970656c696e65ULL};

struct LibraryRef {
  id<MTLLibrary> library;
};

struct PipelineRef {
  id<MTLComputePipelineState> state;
};

// A Metal buffer JavaScript can name, by the address of its first byte.
struct Entry {
  id<MTLBuffer> buffer;
  // Set for wrapped memory (JavaScript's, not Metal's): kept alive while registered.
  Napi::Reference<Napi::ArrayBuffer> keep;
};

struct Registry {
  std::unordered_map<const void*, Entry> entries;

  // Forgets `data` only if it still names `buffer` (the address may have been freed and reused).
  void Forget(const void* data, id<MTLBuffer> buffer) {
    auto it = entries.find(data);
    if (it != entries.end() && it->second.buffer == buffer) entries.erase(it);
  }
};

// What an external ArrayBuffer over a Metal buffer's contents holds: the buffer stays alive as
// long as JavaScript can reach its memory.
struct Owner {
  id<MTLBuffer> buffer;
  std::shared_ptr<Registry> registry;
};

// One dispatch, resolved to Metal objects before anything is encoded, so that a bad argument
// never leaves a half-encoded command buffer behind.
struct Slot {
  enum Kind { kNone, kBuffer, kBytes } kind = kNone;
  id<MTLBuffer> buffer = nil;
  NSUInteger offset = 0;
  std::vector<uint8_t> bytes;
};

struct Step {
  id<MTLComputePipelineState> pipeline = nil;
  NSUInteger groups = 0;
  NSUInteger threads = 0;
  bool barrier = false;
  std::vector<Slot> slots;
};

// A runAsync call waiting for its command buffer.
struct Pending {
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction done;
  std::string error;
};

size_t PageSize() {
  return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

std::string Describe(NSError* error, const char* otherwise) {
  if (error == nil) return otherwise;
  const char* text = error.localizedDescription.UTF8String;
  return text != nullptr ? text : otherwise;
}

// Why a finished command buffer did not complete, or "" when it did.
std::string FailureOf(id<MTLCommandBuffer> cb) {
  MTLCommandBufferStatus status = cb.status;
  if (status == MTLCommandBufferStatusCompleted) return "";
  if (status == MTLCommandBufferStatusError) {
    return "the GPU could not run the command buffer: " + Describe(cb.error, "no error description");
  }
  return "the command buffer ended with status " + std::to_string(static_cast<unsigned long>(status));
}

bool IsCount(const Napi::Value& v) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  return d >= 0 && d <= 9007199254740991.0 && d == static_cast<double>(static_cast<uint64_t>(d));
}

NSUInteger CountOf(const Napi::Value& v) {
  return static_cast<NSUInteger>(v.As<Napi::Number>().DoubleValue());
}

class SmeltMetal : public Napi::Addon<SmeltMetal> {
 public:
  SmeltMetal(Napi::Env env, Napi::Object exports) {
    (void)env;
    DefineAddon(exports, {
                             InstanceMethod("deviceInfo", &SmeltMetal::DeviceInfo),
                             InstanceMethod("compileLibrary", &SmeltMetal::CompileLibrary),
                             InstanceMethod("pipeline", &SmeltMetal::Pipeline),
                             InstanceMethod("alloc", &SmeltMetal::Alloc),
                             InstanceMethod("wrap", &SmeltMetal::Wrap),
                             InstanceMethod("free", &SmeltMetal::Free),
                             InstanceMethod("runSync", &SmeltMetal::RunSync),
                             InstanceMethod("runAsync", &SmeltMetal::RunAsync),
                         });
  }

  ~SmeltMetal() {
    // At environment teardown: references must not be deleted after the environment is gone,
    // and the registry may outlive this object (buffers' owners share it).
    for (auto& item : registry_->entries) item.second.keep.SuppressDestruct();
  }

 private:
  bool opened_ = false;
  id<MTLDevice> device_ = nil;
  id<MTLCommandQueue> queue_ = nil;
  // Kernel functions are named by a hash of their text, so one name is one pipeline for every
  // library that holds it.
  std::unordered_map<std::string, id<MTLComputePipelineState>> pipelines_;
  std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();

  // The device and its queue, made on first use: loading the addon must not touch the GPU.
  bool Open() {
    if (!opened_) {
      opened_ = true;
      @autoreleasepool {
        device_ = MTLCreateSystemDefaultDevice();
        if (device_ != nil) queue_ = [device_ newCommandQueue];
      }
    }
    return device_ != nil && queue_ != nil;
  }

  // With C++ exceptions off, a failure is a pending JavaScript exception and an undefined result.
  static Napi::Value Fail(Napi::Env env, const std::string& message) {
    Napi::Error::New(env, message).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  static Napi::Value FailType(Napi::Env env, const std::string& message) {
    Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value NoDevice(Napi::Env env) {
    return Fail(env, "no Metal device: MTLCreateSystemDefaultDevice returned nil");
  }

  // deviceInfo(): what smelt needs to know of the GPU, or null when there is none.
  Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open()) return env.Null();
    Napi::Object out = Napi::Object::New(env);
    @autoreleasepool {
      const char* name = device_.name.UTF8String;
      out.Set("name", Napi::String::New(env, name != nullptr ? name : "Metal device"));
      out.Set("hasUnifiedMemory", Napi::Boolean::New(env, device_.hasUnifiedMemory));
      // Apple7 is the M1 generation: simdgroup_matrix and the threadgroup sizes smelt emits.
      out.Set("appleSilicon", Napi::Boolean::New(env, [device_ supportsFamily:MTLGPUFamilyApple7]));
      out.Set("maxThreadsPerThreadgroup", Napi::Number::New(env, static_cast<double>(device_.maxThreadsPerThreadgroup.width)));
      out.Set("maxThreadgroupMemoryLength", Napi::Number::New(env, static_cast<double>(device_.maxThreadgroupMemoryLength)));
      out.Set("maxBufferLength", Napi::Number::New(env, static_cast<double>(device_.maxBufferLength)));
      out.Set("recommendedMaxWorkingSetSize",
              Napi::Number::New(env, static_cast<double>(device_.recommendedMaxWorkingSetSize)));
      out.Set("pageSize", Napi::Number::New(env, static_cast<double>(PageSize())));
    }
    return out;
  }

  // The MTLLanguageVersion for an MSL version string, if this macOS has it.
  static bool LanguageVersion(const std::string& v, MTLLanguageVersion* out, std::string* why) {
    if (v == "2.0") {
      *out = MTLLanguageVersion2_0;
    } else if (v == "2.3") {
      *out = MTLLanguageVersion2_3;
    } else if (v == "2.4") {
      *out = MTLLanguageVersion2_4;
    } else if (v == "3.0") {
      *out = MTLLanguageVersion3_0;
    } else if (v == "3.1") {
      if (@available(macOS 14.0, *)) {
        *out = MTLLanguageVersion3_1;
      } else {
        *why = "these kernels need MSL 3.1 (bfloat), which needs macOS 14 or later";
        return false;
      }
    } else if (v == "3.2") {
      if (@available(macOS 15.0, *)) {
        *out = MTLLanguageVersion3_2;
      } else {
        *why = "these kernels need MSL 3.2, which needs macOS 15 or later";
        return false;
      }
    } else {
      *why = "unknown MSL version " + v;
      return false;
    }
    return true;
  }

  // compileLibrary(source, mslVersion) -> { library } | { error }: the compiler's message is
  // returned, not thrown, so that the caller can map its lines back to kernels.
  Napi::Value CompileLibrary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
      return FailType(env, "compileLibrary(source: string, mslVersion: string)");
    }
    if (!Open()) return NoDevice(env);
    std::string source = info[0].As<Napi::String>().Utf8Value();
    std::string version = info[1].As<Napi::String>().Utf8Value();
    Napi::Object out = Napi::Object::New(env);
    MTLLanguageVersion language;
    std::string why;
    if (!LanguageVersion(version, &language, &why)) {
      out.Set("error", Napi::String::New(env, why));
      return out;
    }
    @autoreleasepool {
      MTLCompileOptions* options = [MTLCompileOptions new];
      options.languageVersion = language;
      // Safe math: NaN and infinity must survive (smelt's max/min propagate NaN by testing it).
      if (@available(macOS 15.0, *)) {
        options.mathMode = MTLMathModeSafe;
        options.mathFloatingPointFunctions = MTLMathFloatingPointFunctionsPrecise;
      } else {
        options.fastMathEnabled = NO;
      }
      NSString* text = [[NSString alloc] initWithBytes:source.data()
                                                length:source.size()
                                              encoding:NSUTF8StringEncoding];
      if (text == nil) return Fail(env, "compileLibrary: the source is not UTF-8");
      NSError* error = nil;
      id<MTLLibrary> library = [device_ newLibraryWithSource:text options:options error:&error];
      if (library == nil) {
        out.Set("error", Napi::String::New(env, Describe(error, "the Metal compiler failed without a message")));
        return out;
      }
      auto handle = Napi::External<LibraryRef>::New(env, new LibraryRef{library},
                                                    [](Napi::Env, LibraryRef* ref) { delete ref; });
      handle.TypeTag(&kLibraryTag);
      out.Set("library", handle);
    }
    return out;
  }

  // pipeline(library, entry) -> { handle, maxTotalThreadsPerThreadgroup, threadExecutionWidth,
  // staticThreadgroupMemoryLength }.
  Napi::Value Pipeline(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsString() ||
        !info[0].As<Napi::External<LibraryRef>>().CheckTypeTag(&kLibraryTag)) {
      return FailType(env, "pipeline(library: a compileLibrary handle, entry: string)");
    }
    if (!Open()) return NoDevice(env);
    std::string entry = info[1].As<Napi::String>().Utf8Value();
    id<MTLComputePipelineState> state = nil;
    auto cached = pipelines_.find(entry);
    if (cached != pipelines_.end()) {
      state = cached->second;
    } else {
      @autoreleasepool {
        LibraryRef* ref = info[0].As<Napi::External<LibraryRef>>().Data();
        NSString* name = [NSString stringWithUTF8String:entry.c_str()];
        id<MTLFunction> function = name != nil ? [ref->library newFunctionWithName:name] : nil;
        if (function == nil) return Fail(env, "the Metal library has no kernel function " + entry);
        NSError* error = nil;
        state = [device_ newComputePipelineStateWithFunction:function error:&error];
        if (state == nil) {
          return Fail(env, "Metal could not make a pipeline for " + entry + ": " +
                               Describe(error, "no error description"));
        }
      }
      pipelines_.emplace(entry, state);
    }
    auto handle = Napi::External<PipelineRef>::New(env, new PipelineRef{state},
                                                   [](Napi::Env, PipelineRef* ref) { delete ref; });
    handle.TypeTag(&kPipelineTag);
    Napi::Object out = Napi::Object::New(env);
    out.Set("handle", handle);
    out.Set("maxTotalThreadsPerThreadgroup", Napi::Number::New(env, static_cast<double>(state.maxTotalThreadsPerThreadgroup)));
    out.Set("threadExecutionWidth", Napi::Number::New(env, static_cast<double>(state.threadExecutionWidth)));
    out.Set("staticThreadgroupMemoryLength", Napi::Number::New(env, static_cast<double>(state.staticThreadgroupMemoryLength)));
    return out;
  }

  // alloc(bytes) -> an ArrayBuffer over a new shared-storage buffer's contents.
  Napi::Value Alloc(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !IsCount(info[0]) || CountOf(info[0]) == 0) {
      return FailType(env, "alloc(bytes: a positive integer)");
    }
    if (!Open()) return NoDevice(env);
    NSUInteger bytes = CountOf(info[0]);
    if (bytes > device_.maxBufferLength) {
      return Fail(env, "a " + std::to_string(bytes) + "-byte buffer is longer than this GPU's maxBufferLength (" +
                           std::to_string(device_.maxBufferLength) + " bytes)");
    }
    id<MTLBuffer> buffer = nil;
    @autoreleasepool {
      buffer = [device_ newBufferWithLength:bytes
                                    options:MTLResourceStorageModeShared | MTLResourceHazardTrackingModeTracked];
    }
    if (buffer == nil) return Fail(env, "Metal could not allocate " + std::to_string(bytes) + " bytes");
    void* data = [buffer contents];
    registry_->entries.emplace(data, Entry{buffer, Napi::Reference<Napi::ArrayBuffer>()});
    auto* owner = new Owner{buffer, registry_};
    return Napi::ArrayBuffer::New(
        env, data, bytes,
        [](Napi::Env, void* contents, Owner* o) {
          o->registry->Forget(contents, o->buffer);
          delete o;
        },
        owner);
  }

  // wrap(arrayBuffer) -> whether Metal can now use this memory in place: it must start on a
  // page (newBufferWithBytesNoCopy's rule); the buffer then spans whole pages.
  Napi::Value Wrap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArrayBuffer()) return FailType(env, "wrap(buffer: ArrayBuffer)");
    if (!Open()) return NoDevice(env);
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    void* data = ab.Data();
    size_t bytes = ab.ByteLength();
    size_t page = PageSize();
    if (bytes == 0 || reinterpret_cast<uintptr_t>(data) % page != 0) return Napi::Boolean::New(env, false);
    if (registry_->entries.count(data) != 0) return Napi::Boolean::New(env, true);
    size_t span = (bytes + page - 1) / page * page;
    id<MTLBuffer> buffer = nil;
    @autoreleasepool {
      buffer = [device_ newBufferWithBytesNoCopy:data length:span options:MTLResourceStorageModeShared deallocator:nil];
    }
    if (buffer == nil) return Napi::Boolean::New(env, false);
    registry_->entries.emplace(data, Entry{buffer, Napi::Persistent(ab)});
    return Napi::Boolean::New(env, true);
  }

  // free(arrayBuffer): Metal forgets the memory. A buffer from alloc is detached, so that no
  // JavaScript view can reach memory its owner is about to release; wrapped memory stays
  // JavaScript's.
  Napi::Value Free(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArrayBuffer()) return FailType(env, "free(buffer: ArrayBuffer)");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    auto it = registry_->entries.find(ab.Data());
    if (it == registry_->entries.end()) return Fail(env, "free: this ArrayBuffer is not Metal memory");
    bool wrapped = !it->second.keep.IsEmpty();
    registry_->entries.erase(it);
    if (!wrapped) ab.Detach();
    return env.Undefined();
  }

  // The dispatch list of a run, checked and resolved; "" or why it cannot run.
  std::string Resolve(const Napi::Value& value, std::vector<Step>* steps) {
    if (!value.IsArray()) return "run(commands: array)";
    Napi::Array commands = value.As<Napi::Array>();
    for (uint32_t i = 0; i < commands.Length(); i++) {
      std::string where = "command " + std::to_string(i) + ": ";
      Napi::Value item = commands.Get(i);
      if (!item.IsObject()) return where + "not an object";
      Napi::Object cmd = item.As<Napi::Object>();
      Napi::Value pipeline = cmd.Get("pipeline");
      if (!pipeline.IsExternal() || !pipeline.As<Napi::External<PipelineRef>>().CheckTypeTag(&kPipelineTag)) {
        return where + "pipeline is not a pipeline handle";
      }
      if (!IsCount(cmd.Get("groups")) || !IsCount(cmd.Get("threadsPerGroup"))) {
        return where + "groups and threadsPerGroup must be counts";
      }
      Napi::Value slots = cmd.Get("buffers");
      if (!slots.IsArray()) return where + "buffers is not an array";
      Step step;
      step.pipeline = pipeline.As<Napi::External<PipelineRef>>().Data()->state;
      step.groups = CountOf(cmd.Get("groups"));
      step.threads = CountOf(cmd.Get("threadsPerGroup"));
      step.barrier = cmd.Get("barrier").ToBoolean().Value();
      Napi::Array list = slots.As<Napi::Array>();
      for (uint32_t j = 0; j < list.Length(); j++) {
        Slot slot;
        std::string why = ResolveSlot(list.Get(j), &slot);
        if (!why.empty()) return where + "slot " + std::to_string(j) + ": " + why;
        step.slots.push_back(std::move(slot));
      }
      steps->push_back(std::move(step));
    }
    return "";
  }

  // A slot is empty (undefined), bytes to copy (a Uint8Array: setBytes), or { buffer, offset }.
  std::string ResolveSlot(const Napi::Value& v, Slot* slot) {
    if (v.IsUndefined() || v.IsNull()) return "";
    if (v.IsTypedArray()) {
      Napi::TypedArray t = v.As<Napi::TypedArray>();
      if (t.TypedArrayType() != napi_uint8_array) return "bytes must be a Uint8Array";
      Napi::Uint8Array u = t.As<Napi::Uint8Array>();
      slot->kind = Slot::kBytes;
      slot->bytes.assign(u.Data(), u.Data() + u.ElementLength());
      return "";
    }
    if (!v.IsObject()) return "not a binding";
    Napi::Object o = v.As<Napi::Object>();
    Napi::Value buffer = o.Get("buffer");
    if (!buffer.IsArrayBuffer() || !IsCount(o.Get("offset"))) return "expected { buffer: ArrayBuffer, offset }";
    auto it = registry_->entries.find(buffer.As<Napi::ArrayBuffer>().Data());
    if (it == registry_->entries.end()) return "the ArrayBuffer is not Metal memory (alloc or wrap it first)";
    NSUInteger offset = CountOf(o.Get("offset"));
    if (offset >= it->second.buffer.length) return "offset " + std::to_string(offset) + " is past the buffer's end";
    slot->kind = Slot::kBuffer;
    slot->buffer = it->second.buffer;
    slot->offset = offset;
    return "";
  }

  // All steps in one command buffer and one concurrent compute encoder: dispatches may overlap
  // unless a barrier separates them, and the TypeScript side puts one exactly where a dispatch
  // touches what an earlier one wrote (or writes what an earlier one read).
  id<MTLCommandBuffer> Encode(const std::vector<Step>& steps, std::string* why) {
    id<MTLCommandBuffer> cb = [queue_ commandBuffer];
    if (cb == nil) {
      *why = "Metal could not make a command buffer";
      return nil;
    }
    id<MTLComputeCommandEncoder> encoder = [cb computeCommandEncoderWithDispatchType:MTLDispatchTypeConcurrent];
    if (encoder == nil) {
      *why = "Metal could not make a compute encoder";
      return nil;
    }
    for (const Step& s : steps) {
      // Kept even before an empty dispatch: later steps rely on the ordering it gives.
      if (s.barrier) [encoder memoryBarrierWithScope:MTLBarrierScopeBuffers];
      if (s.groups == 0 || s.threads == 0) continue;
      [encoder setComputePipelineState:s.pipeline];
      for (NSUInteger j = 0; j < s.slots.size(); j++) {
        const Slot& slot = s.slots[j];
        if (slot.kind == Slot::kBuffer) {
          [encoder setBuffer:slot.buffer offset:slot.offset atIndex:j];
        } else if (slot.kind == Slot::kBytes && !slot.bytes.empty()) {
          [encoder setBytes:slot.bytes.data() length:slot.bytes.size() atIndex:j];
        }
      }
      [encoder dispatchThreadgroups:MTLSizeMake(s.groups, 1, 1) threadsPerThreadgroup:MTLSizeMake(s.threads, 1, 1)];
    }
    [encoder endEncoding];
    return cb;
  }

  // runSync(commands): commits and waits; throws the GPU's error.
  Napi::Value RunSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open()) return NoDevice(env);
    std::vector<Step> steps;
    std::string why = Resolve(info[0], &steps);
    if (!why.empty()) return FailType(env, "runSync: " + why);
    @autoreleasepool {
      id<MTLCommandBuffer> cb = Encode(steps, &why);
      if (cb == nil) return Fail(env, why);
      [cb commit];
      [cb waitUntilCompleted];
      why = FailureOf(cb);
    }
    if (!why.empty()) return Fail(env, why);
    return env.Undefined();
  }

  // runAsync(commands) -> a promise settled from the command buffer's completed handler, so the
  // event loop never waits on the GPU.
  Napi::Value RunAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    std::vector<Step> steps;
    std::string why = Open() ? Resolve(info[0], &steps) : "no Metal device: MTLCreateSystemDefaultDevice returned nil";
    if (!why.empty()) {
      deferred.Reject(Napi::Error::New(env, "runAsync: " + why).Value());
      return deferred.Promise();
    }
    @autoreleasepool {
      id<MTLCommandBuffer> cb = Encode(steps, &why);
      if (cb == nil) {
        deferred.Reject(Napi::Error::New(env, why).Value());
        return deferred.Promise();
      }
      auto noop = Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
      auto* pending = new Pending{deferred, Napi::ThreadSafeFunction::New(env, noop, "smelt_metal_run", 0, 1), ""};
      [cb addCompletedHandler:^(id<MTLCommandBuffer> finished) {
        pending->error = FailureOf(finished);
        // A copy: `pending` belongs to the JavaScript thread once the call is queued.
        Napi::ThreadSafeFunction done = pending->done;
        done.BlockingCall(pending, [](Napi::Env jsEnv, Napi::Function, Pending* p) {
          if (p->error.empty()) {
            p->deferred.Resolve(jsEnv.Undefined());
          } else {
            p->deferred.Reject(Napi::Error::New(jsEnv, p->error).Value());
          }
          delete p;
        });
        done.Release();
      }];
      [cb commit];
    }
    return deferred.Promise();
  }
};

}  // namespace

NODE_API_NAMED_ADDON(smelt_metal, SmeltMetal)
