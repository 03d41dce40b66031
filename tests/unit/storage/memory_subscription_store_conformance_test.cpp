// MemorySubscriptionStore against the SubscriptionStore conformance suite.
#include "subscription_store_conformance.hpp"

#include "parley/storage/memory_subscription_store.hpp"

namespace parley::storage::conformance {
namespace {

// The memory store answers before returning: there is no loop to drive.
class MemoryBackend {
 public:
  std::string setUp() { return ""; }
  SubscriptionStore& store() { return store_; }
  bool runUntil(const std::function<bool()>& done) { return done(); }

 private:
  MemorySubscriptionStore store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, SubscriptionStoreConformance, ::testing::Types<MemoryBackend>);

}  // namespace
}  // namespace parley::storage::conformance
