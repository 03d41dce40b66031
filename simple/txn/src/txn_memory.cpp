// Transaction memory: a jemalloc arena of its own when jemalloc is linked
// (txn_memory.hpp says why). jemalloc is found through weak symbols, so this
// library does not depend on it: without it the pointers are null and the
// general heap serves.
#include "parley/txn/txn_memory.hpp"

#include <new>

extern "C" {
void* mallocx(std::size_t size, int flags) __attribute__((weak));
void sdallocx(void* ptr, std::size_t size, int flags) __attribute__((weak));
int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
            std::size_t newlen) __attribute__((weak));
}

namespace parley::txn {
namespace {

// jemalloc.h's MALLOCX_ARENA and MALLOCX_TCACHE (stable since jemalloc 4).
constexpr int arenaFlag(unsigned arena) { return static_cast<int>((arena + 1) << 20); }
constexpr int tcacheFlag(unsigned tcache) { return static_cast<int>((tcache + 2) << 8); }
constexpr int kNoTcache = static_cast<int>((-1 + 2) << 8);

bool jemallocLinked() { return mallocx != nullptr && sdallocx != nullptr && mallctl != nullptr; }

// The arena, created once per process; -1 without jemalloc.
long arenaIndex() {
  static const long index = [] {
    if (!jemallocLinked()) return -1L;
    unsigned arena = 0;
    std::size_t len = sizeof arena;
    return mallctl("arenas.create", &arena, &len, nullptr, 0) == 0 ? static_cast<long>(arena) : -1L;
  }();
  return index;
}

// The flags of this thread's allocations: the arena, through this thread's own
// explicit tcache (an explicit tcache must not be shared between threads). It
// is never destroyed: memory may still be freed through it at thread exit.
int threadFlags() {
  thread_local const int flags = [] {
    const long arena = arenaIndex();
    if (arena < 0) return 0;
    unsigned tcache = 0;
    std::size_t len = sizeof tcache;
    const int cache = mallctl("tcache.create", &tcache, &len, nullptr, 0) == 0 ? tcacheFlag(tcache) : kNoTcache;
    return arenaFlag(static_cast<unsigned>(arena)) | cache;
  }();
  return flags;
}

}  // namespace

long transactionArena() { return arenaIndex(); }

namespace detail {

void* transactionAllocate(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (const int flags = threadFlags(); flags != 0) {
    if (void* p = mallocx(bytes, flags)) return p;
    throw std::bad_alloc();
  }
  return ::operator new(bytes);
}

void transactionDeallocate(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes == 0) bytes = 1;
  if (const int flags = threadFlags(); flags != 0) return sdallocx(p, bytes, flags);
  ::operator delete(p, bytes);
}

}  // namespace detail
}  // namespace parley::txn
