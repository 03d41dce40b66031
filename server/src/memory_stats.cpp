#include "memory_stats.hpp"

#include <cstddef>
#include <fstream>
#include <limits>
#include <string>

#include "parley/txn/txn_memory.hpp"

// jemalloc's control interface, declared weak: parleyd links jemalloc (src/allocator.cpp) and
// gets the real one; a sanitized build or a test binary without it sees a null pointer.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen)
    __attribute__((weak));

namespace parley::server {
namespace {

std::optional<std::uint64_t> jemallocStat(const char* name) {
  std::size_t value = 0;
  std::size_t size = sizeof(value);
  if (mallctl(name, &value, &size, nullptr, 0) != 0) return std::nullopt;
  return value;
}

}  // namespace

MemoryStats memoryStats() {
  MemoryStats s;
  std::ifstream status("/proc/self/status");
  std::string key;
  std::uint64_t kb = 0;
  while (status >> key) {
    if (key == "RssAnon:" && status >> kb) s.rssAnon = kb * 1024;
    else if (key == "RssFile:" && status >> kb) s.rssFile = kb * 1024;
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');  // the rest of the line
  }
  if (mallctl != nullptr) {
    std::uint64_t epoch = 1;  // statistics are a snapshot taken when the epoch advances
    std::size_t size = sizeof(epoch);
    if (mallctl("epoch", &epoch, &size, &epoch, size) == 0) {
      auto allocated = jemallocStat("stats.allocated");
      auto active = jemallocStat("stats.active");
      auto resident = jemallocStat("stats.resident");
      auto metadata = jemallocStat("stats.metadata");
      if (allocated && active && resident && metadata) {
        s.allocator = "jemalloc";
        s.heap = MemoryStats::Allocator{*allocated, *active, *resident, *metadata, 0};
        if (const long arena = txn::transactionArena(); arena >= 0) {
          const std::string prefix = "stats.arenas." + std::to_string(arena);
          const auto small = jemallocStat((prefix + ".small.allocated").c_str());
          const auto large = jemallocStat((prefix + ".large.allocated").c_str());
          s.heap->transactions = small.value_or(0) + large.value_or(0);
        }
      }
    }
  }
  return s;
}

}  // namespace parley::server
