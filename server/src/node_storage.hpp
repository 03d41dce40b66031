// Where a node keeps its state (docs/storage.md): the stores chosen by
// [storage] backend, and with Redis the two connections and the change bus.
//
// memory: the stores live in this process; sweep() reclaims what lapsed.
// redis:  the stores are Redis-backed and wrapped so that every answer re-arms
//         the SIP timer (loop_aware_stores.hpp). A state change this node makes
//         is PUBLISHed on "<prefix>changed" as "<node> <event> <aor>"; the
//         other nodes hear it and notify their own watchers. The link state is
//         logged: storage.ready (first time up), storage.degraded (lost),
//         storage.restored (back).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "parley/config/config.hpp"
#include "parley/storage/list_store.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "parley/storage/memory_subscription_store.hpp"
#include "parley/storage/publication_store.hpp"
#include "parley/storage/registration_store.hpp"
#include "parley/storage/roster_store.hpp"
#include "parley/storage/subscription_store.hpp"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace parley::redis {
class RedisClient;
class RedisSubscriber;
}  // namespace parley::redis

namespace parley::server {

class NodeStorage {
 public:
  struct Hooks {
    std::function<void()> afterAnswer;  ///< a Redis-backed store answered (re-arm the SIP timer)
    /// Another node changed `aor`'s state for `event`.
    std::function<void(std::string_view event, std::string_view aor)> remoteChange;
    /// Redis is up for the first time since start: resume this node's subscriptions.
    std::function<void()> ready;
    /// Redis is back after an outage: resynchronise (the changes of the gap went unheard).
    std::function<void()> restored;
  };

  NodeStorage(const config::Config& cfg, boost::asio::io_context& io);
  ~NodeStorage();
  NodeStorage(const NodeStorage&) = delete;
  NodeStorage& operator=(const NodeStorage&) = delete;

  [[nodiscard]] storage::ListStore<storage::Binding>& registrations() { return *registrations_; }
  [[nodiscard]] storage::ListStore<storage::Publication>& publications() { return *publications_; }
  [[nodiscard]] storage::SubscriptionStore& subscriptions() { return *subscriptions_; }
  [[nodiscard]] storage::ListStore<storage::RosterItem>& roster() { return *roster_; }
  [[nodiscard]] storage::ListStore<storage::ContactResource>& contactPresence() { return *contactPresence_; }

  [[nodiscard]] bool redis() const { return client_ != nullptr; }
  /// Memory: always. Redis: both links up (commands and the change bus).
  [[nodiscard]] bool up() const { return !redis() || up_; }
  /// Redis: the latest command round trip in ms (0 with memory).
  [[nodiscard]] double latencyMs() const;
  /// Connects (Redis) or calls hooks.ready at once (memory).
  void start(Hooks hooks);
  void stop();
  /// Tells the other nodes that `aor`'s `event` state changed (Redis only).
  void publishChange(std::string_view event, std::string_view aor);
  /// Reclaims lapsed records (memory only; Redis expires keys itself).
  void sweep(storage::WallTime now, std::chrono::seconds subscriptionGrace);

 private:
  void onLink();
  void onMessage(std::string_view message);

  const config::Config& cfg_;
  std::shared_ptr<spdlog::logger> log_;
  Hooks hooks_;
  std::function<void()> afterAnswer_;  // what the decorators call; forwards to hooks_.afterAnswer
  std::unique_ptr<redis::RedisClient> client_;
  std::unique_ptr<redis::RedisSubscriber> bus_;
  std::string channel_;
  bool up_ = false, everUp_ = false;
  // memory backend, typed for sweep()
  storage::MemoryListStore<storage::Binding>* memRegistrations_ = nullptr;
  storage::MemoryListStore<storage::Publication>* memPublications_ = nullptr;
  storage::MemorySubscriptionStore* memSubscriptions_ = nullptr;
  std::unique_ptr<storage::ListStore<storage::Binding>> registrations_;
  std::unique_ptr<storage::ListStore<storage::Publication>> publications_;
  std::unique_ptr<storage::SubscriptionStore> subscriptions_;
  std::unique_ptr<storage::ListStore<storage::RosterItem>> roster_;
  std::unique_ptr<storage::ListStore<storage::ContactResource>> contactPresence_;
};

}  // namespace parley::server
