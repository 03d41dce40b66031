// What the process's memory is, for /metrics and /api/v1/stats: the kernel's view
// (/proc/self/status) and, when parleyd runs on jemalloc (src/allocator.cpp), the allocator's.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace parley::server {

struct MemoryStats {
  std::string_view allocator = "libc";  ///< "jemalloc" when its statistics are available
  std::uint64_t rssAnon = 0;            ///< resident anonymous memory (heap, stacks): what state costs
  std::uint64_t rssFile = 0;            ///< resident file-backed pages (code, libraries), shared
  struct Allocator {
    std::uint64_t allocated = 0;  ///< bytes in live allocations
    std::uint64_t active = 0;     ///< bytes in pages holding them (allocated + fragmentation)
    std::uint64_t resident = 0;   ///< bytes the allocator holds resident, its metadata included
    std::uint64_t metadata = 0;   ///< the allocator's own bookkeeping
    /// of `allocated`, the bytes of SIP transactions (their own arena, parley/txn/txn_memory.hpp)
    std::uint64_t transactions = 0;
  };
  std::optional<Allocator> heap;  ///< jemalloc only
};

/// Reads both now (a /proc read and a few mallctl calls: for scrapes, not hot paths).
[[nodiscard]] MemoryStats memoryStats();

}  // namespace parley::server
