// MemoryListStore against the ListStore conformance suite (every record type).
#include "list_store_conformance.hpp"

#include "parley/storage/memory_list_store.hpp"

namespace parley::storage::conformance {
namespace {

// The memory store answers before returning: there is no loop to drive.
template <class T>
class MemoryBackend {
 public:
  std::string setUp() { return ""; }
  ListStore<T>& store() { return store_; }
  bool runUntil(const std::function<bool()>& done) { return done(); }

 private:
  MemoryListStore<T> store_;
};

using MemoryCases = ::testing::Types<ListStoreCase<MemoryBackend, Binding>, ListStoreCase<MemoryBackend, Publication>,
                                     ListStoreCase<MemoryBackend, RosterItem>,
                                     ListStoreCase<MemoryBackend, ContactResource>>;
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, ListStoreConformance, MemoryCases);

}  // namespace
}  // namespace parley::storage::conformance
