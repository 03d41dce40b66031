// RedisSubscriptionStore against the SubscriptionStore conformance suite, on a
// real redis-server per test.
#include "subscription_store_conformance.hpp"

#include "parley/redis/redis_subscription_store.hpp"
#include "redis_live_support.hpp"

namespace parley::storage::conformance {
namespace {

class RedisSubscriptionBackend {
 public:
  std::string setUp() {
    if (auto why = live_.startServer(); !why.empty()) return why;
    redis::RedisClient* client = live_.connect();
    if (client == nullptr) return "no connection to redis-server";
    store_ = std::make_unique<redis::RedisSubscriptionStore>(*client, "parley:test:", "node-1");
    return "";
  }
  SubscriptionStore& store() { return *store_; }
  bool runUntil(const std::function<bool()>& done) { return live_.runUntil(done); }

 private:
  redis::test_support::LiveRedis live_;
  std::unique_ptr<redis::RedisSubscriptionStore> store_;  // destroyed before the client
};

INSTANTIATE_TYPED_TEST_SUITE_P(Redis, SubscriptionStoreConformance, ::testing::Types<RedisSubscriptionBackend>);

}  // namespace
}  // namespace parley::storage::conformance
