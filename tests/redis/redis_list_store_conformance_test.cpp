// RedisListStore against the ListStore conformance suite (every record type),
// on a real redis-server per test.
#include "list_store_conformance.hpp"

#include "parley/redis/redis_list_store.hpp"
#include "redis_live_support.hpp"

namespace parley::storage::conformance {
namespace {

template <class T>
class RedisBackend {
 public:
  std::string setUp() {
    if (auto why = live_.startServer(); !why.empty()) return why;
    RedisClient* client = live_.connect();
    if (client == nullptr) return "no connection to redis-server";
    store_ = std::make_unique<redis::RedisListStore<T>>(*client, "parley:test:", "list");
    return "";
  }
  ListStore<T>& store() { return *store_; }
  bool runUntil(const std::function<bool()>& done) { return live_.runUntil(done); }

 private:
  using RedisClient = redis::RedisClient;
  redis::test_support::LiveRedis live_;
  std::unique_ptr<redis::RedisListStore<T>> store_;  // destroyed before the client
};

using RedisCases = ::testing::Types<ListStoreCase<RedisBackend, Binding>, ListStoreCase<RedisBackend, Publication>,
                                    ListStoreCase<RedisBackend, RosterItem>,
                                    ListStoreCase<RedisBackend, ContactResource>>;
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, ListStoreConformance, RedisCases);

}  // namespace
}  // namespace parley::storage::conformance
