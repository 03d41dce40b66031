#include "node_storage.hpp"

#include <spdlog/spdlog.h>

#include "loop_aware_stores.hpp"
#include "parley/redis/redis_client.hpp"
#include "parley/redis/redis_list_store.hpp"
#include "parley/redis/redis_subscription_store.hpp"
#include "parley/server/logging.hpp"

namespace parley::server {

namespace {

template <class T>
std::unique_ptr<storage::ListStore<T>> memory(storage::MemoryListStore<T>*& typed) {
  auto store = std::make_unique<storage::MemoryListStore<T>>();
  typed = store.get();
  return store;
}

}  // namespace

NodeStorage::NodeStorage(const config::Config& cfg, boost::asio::io_context& io)
    : cfg_(cfg), log_(logger("storage")), afterAnswer_([this] {
        if (hooks_.afterAnswer) hooks_.afterAnswer();
      }) {
  const auto& s = cfg.storage;
  if (s.backend == config::StorageConfig::Backend::Memory) {
    registrations_ = memory(memRegistrations_);
    publications_ = memory(memPublications_);
    auto subs = std::make_unique<storage::MemorySubscriptionStore>();
    memSubscriptions_ = subs.get();
    subscriptions_ = std::move(subs);
    roster_ = std::make_unique<storage::MemoryListStore<storage::RosterItem>>();
    contactPresence_ = std::make_unique<storage::MemoryListStore<storage::ContactResource>>();
    return;
  }
  redis::RedisOptions o;
  o.endpoint = {s.redisHost, s.redisPort, s.redisPassword, s.redisDb};
  o.connectTimeout = s.connectTimeout;
  o.commandTimeout = s.commandTimeout;
  o.reconnectMin = s.reconnectMin;
  o.reconnectMax = s.reconnectMax;
  client_ = std::make_unique<redis::RedisClient>(io, o, logger("redis"));
  bus_ = std::make_unique<redis::RedisSubscriber>(io, o, logger("redis"));
  channel_ = s.keyPrefix + "changed";
  auto wrap = [this]<class T>(const char* kind, std::type_identity<T>, redis::RedisListOptions options = {})
      -> std::unique_ptr<storage::ListStore<T>> {
    return std::make_unique<LoopAwareListStore<T>>(
        std::make_unique<redis::RedisListStore<T>>(*client_, cfg_.storage.keyPrefix, kind, options), afterAnswer_);
  };
  // Registrations and publications are mostly refreshed by the node that took them, and a new
  // one is a key nobody wrote: remembering what this node wrote saves the GET of both cases
  // (docs/storage.md). Bounded: a publication list holds its documents.
  registrations_ = wrap("reg", std::type_identity<storage::Binding>{},
                        {.rememberWrites = true, .maxRemembered = std::size_t{1} << 20});
  publications_ = wrap("pub", std::type_identity<storage::Publication>{},
                       {.rememberWrites = true, .maxRemembered = std::size_t{1} << 17});
  roster_ = wrap("roster", std::type_identity<storage::RosterItem>{});
  contactPresence_ = wrap("contact", std::type_identity<storage::ContactResource>{});
  subscriptions_ = std::make_unique<LoopAwareSubscriptionStore>(
      std::make_unique<redis::RedisSubscriptionStore>(*client_, s.keyPrefix, cfg.node.id), afterAnswer_);
}

NodeStorage::~NodeStorage() { stop(); }

void NodeStorage::start(Hooks hooks) {
  hooks_ = std::move(hooks);
  if (!redis()) {
    log_->info("storage.ready backend=memory resumed=0");
    return;
  }
  client_->onStateChange([this](bool) { onLink(); });
  bus_->onStateChange([this](bool) { onLink(); });
  bus_->subscribe(channel_, [this](std::string_view, std::string_view message) { onMessage(message); });
  log_->info("storage.connecting backend=redis url={} prefix={}", redis::redactedUrl({cfg_.storage.redisHost,
             cfg_.storage.redisPort, cfg_.storage.redisPassword, cfg_.storage.redisDb}), cfg_.storage.keyPrefix);
  client_->start();
  bus_->start();
}

void NodeStorage::stop() {
  if (!redis()) return;
  bus_->stop();
  client_->stop();
}

// Up means both links: commands answer and other nodes' changes arrive.
void NodeStorage::onLink() {
  const bool up = client_->connected() && bus_->connected();
  if (up == up_) return;
  up_ = up;
  if (!up) {
    log_->warn("storage.degraded backend=redis reason=\"redis link lost\"");
    return;
  }
  const bool first = !everUp_;
  everUp_ = true;
  if (first) {
    if (hooks_.ready) hooks_.ready();
  } else if (hooks_.restored) {
    hooks_.restored();
  }
  afterAnswer_();
}

double NodeStorage::latencyMs() const { return redis() ? client_->stats().lastLatencyMs : 0.0; }

void NodeStorage::publishChange(std::string_view event, std::string_view aor) {
  if (!redis()) return;
  std::string message;
  message.reserve(cfg_.node.id.size() + event.size() + aor.size() + 2);
  message.append(cfg_.node.id).append(" ").append(event).append(" ").append(aor);
  client_->command({"PUBLISH", channel_, std::move(message)}, [](auto) {});  // lost with the link: see docs
}

void NodeStorage::onMessage(std::string_view message) {
  // "<node> <event> <aor>"; node ids and package names hold no spaces.
  const auto a = message.find(' ');
  const auto b = a == std::string_view::npos ? a : message.find(' ', a + 1);
  if (b == std::string_view::npos || b + 1 >= message.size()) {
    log_->debug("storage.bad_change message_bytes={}", message.size());
    return;
  }
  if (message.substr(0, a) == cfg_.node.id) return;  // our own, already handled
  if (hooks_.remoteChange) hooks_.remoteChange(message.substr(a + 1, b - a - 1), message.substr(b + 1));
  afterAnswer_();
}

void NodeStorage::sweep(storage::WallTime now, std::chrono::seconds subscriptionGrace) {
  if (redis()) return;
  if (const auto n = memRegistrations_->sweep(now); n > 0)
    log_->debug("registrar.swept bindings={} aors={}", n, memRegistrations_->keys());
  if (const auto n = memPublications_->sweep(now); n > 0)
    log_->debug("presence.swept publications={} keys={}", n, memPublications_->keys());
  // Orphans only: a subscription ends at its expiry by the notifier's timer, which
  // sends the terminating NOTIFY; the grace keeps the sweep from racing it.
  if (const auto n = memSubscriptions_->sweep(now - subscriptionGrace); n > 0)
    log_->debug("presence.swept subscriptions={} left={}", n, memSubscriptions_->size());
}

}  // namespace parley::server
