// Memory for transactions, kept apart from the rest of the process.
//
// A UDP server transaction lingers 64·T1 (32 s) after its final response, and
// the records made while serving it (a publication, a subscription, a binding)
// live on. From one heap the two share slabs: when the transactions end, a slab
// that also holds one long-lived record stays resident, so the memory a burst
// of transactions used is not given back (measured: 833–902 B of RSS per
// published presentity against 379 B allocated, docs/performance.md).
//
// When parleyd runs on jemalloc, transaction memory comes from an arena of its
// own (through an explicit tcache per thread, as fast as malloc's); whole slabs
// of it come free when the transactions end. Without jemalloc (sanitizer
// builds, the unit tests) it is the general heap.
#pragma once

#include <cstddef>
#include <string>

namespace parley::txn {

namespace detail {
[[nodiscard]] void* transactionAllocate(std::size_t bytes);
void transactionDeallocate(void* p, std::size_t bytes) noexcept;
}  // namespace detail

/// The jemalloc arena transaction memory comes from, or -1 (the general heap).
[[nodiscard]] long transactionArena();

template <class T>
struct TransactionAllocator {
  using value_type = T;
  TransactionAllocator() noexcept = default;
  template <class U>
  TransactionAllocator(const TransactionAllocator<U>&) noexcept {}  // NOLINT: rebinding
  [[nodiscard]] T* allocate(std::size_t n) {
    return static_cast<T*>(detail::transactionAllocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { detail::transactionDeallocate(p, n * sizeof(T)); }
  template <class U>
  friend bool operator==(const TransactionAllocator&, const TransactionAllocator<U>&) noexcept {
    return true;
  }
};

using TransactionString = std::basic_string<char, std::char_traits<char>, TransactionAllocator<char>>;

}  // namespace parley::txn
