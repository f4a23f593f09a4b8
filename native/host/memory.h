// Native memory handed to JavaScript as external ArrayBuffers, and the registry that lets a
// dispatch find which of its buffers end at a guard page.
#ifndef SMELT_HOST_MEMORY_H
#define SMELT_HOST_MEMORY_H

#include <cstddef>
#include <cstdint>

namespace smelt {

struct Allocation {
  unsigned char* data = nullptr;
  std::size_t bytes = 0;
  /** The mmap'd region holding `data` (and its guard page), or nullptr for a heap block. */
  void* mapping = nullptr;
  std::size_t mapping_bytes = 0;
  bool guard = false;
  bool released = false;
  /** free() is detaching its ArrayBuffer: a finalizer running meanwhile leaves the record to free(). */
  bool pinned = false;
  bool finalized = false;
};

/**
 * Zeroed memory of `bytes` bytes (at least 1: an empty ArrayBuffer needs none). With `guard`,
 * the last byte is followed by a PROT_NONE page, so the start is aligned to the largest power of
 * two dividing `bytes` (up to the page size). nullptr when the system has no memory for it.
 */
Allocation* allocate(std::size_t bytes, bool guard);

/** Frees the memory now (once); the record stays valid until forget(). */
void release(Allocation* a);

/** The ArrayBuffer's finalizer: releases `a` if it is not yet, and deletes the record (unless pinned). */
void forget(Allocation* a);

/** Keeps the record of `a` alive across a detach, whatever the finalizer does meanwhile. */
void pin(Allocation* a);

/** Unpins a live allocation (its detach failed). */
void unpin(Allocation* a);

/** Releases a pinned allocation and unpins it (deleting the record if it was finalized meanwhile). */
void release_pinned(Allocation* a);

/** The unreleased allocation whose data starts at `data`, or nullptr. */
Allocation* find_live(const void* data);

/**
 * If [p, p + bytes) lies in an unreleased guarded allocation, the address of its guard page
 * (the first byte past the allocation); else 0.
 */
std::uintptr_t guard_after(const void* p, std::size_t bytes);

/** Bytes held by unreleased allocations. */
std::size_t live_bytes();

}  // namespace smelt

#endif  // SMELT_HOST_MEMORY_H
