// The Redis backend of storage::ListStore (docs/storage.md, "Redis stores: key
// schema and atomicity").
//
// One Redis string per list, at "<prefix>{<key>}:<kind>", holding
// Codec<T>::encode(list). The braces are a Redis Cluster hash tag: only
// "<key>" is hashed, so every list of one presentity/AOR (its bindings, its
// publications, ...) lands in one slot whatever its kind. Neither the prefix
// nor the kind may contain '{' or '}' (the first {...} is the tag).
//
// update() is an optimistic compare-and-set, because the pipelined connection
// is shared and WATCH/MULTI cannot be used on it: GET the value, run the
// closures, then a Lua script writes the new value only if the key still holds
// the old one byte for byte (absent counts as a value). On a conflict the
// script answers with the current value and the closures run again on it, at
// most kMaxRetries times, so `change` may run several times (as
// list_store.hpp allows). Updates of one key issued through
// one store are queued while one is in flight and then applied together, in
// order, in one compare-and-set: a busy key costs one round trip per batch, not
// one conflict per update, and no update of this store can starve another.
//
// The key's TTL is the latest expiry of its records (PX, rounded up, at least
// 1 ms); a list holding a record that never expires (WallTime::max()) has none,
// and an empty list is deleted. Expired records are dropped when read.
//
// Redis unreachable, timed out, overloaded, an error reply, or a value that
// does not decode: StoreError{Unavailable, 503} (callers answer 503 with
// Retry-After). Runs on the RedisClient's loop thread only. Destroying the store
// drops the callbacks of its operations still in flight, as RedisClient does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "parley/redis/codecs.hpp"
#include "parley/redis/redis_client.hpp"
#include "parley/redis/redis_script.hpp"
#include "parley/storage/list_store.hpp"

namespace parley::redis {

/// How a RedisListStore keeps its records (the defaults suit every ListStore).
struct RedisListOptions {
  /// How long a lapsed record is still handed to update() closures (and kept
  /// in Redis) before it is dropped: RedisSubscriptionStore's grace.
  std::chrono::milliseconds keepExpired{0};
  /// Remember the value of each key this store last wrote, and start the next
  /// update of that key from it instead of a GET; a key it has not written is
  /// first taken to be absent. One round trip instead of two when this node is
  /// the key's usual writer (its own subscriptions, a new registration or
  /// presentity). The compare-and-set still checks the guess, so a wrong one
  /// only costs a retry on the value the script returns; an update that would
  /// write nothing on a guess (its closures refuse, or leave an absent key
  /// empty) is run again on a fresh GET, so no answer rests on a guess alone.
  bool rememberWrites = false;
  std::size_t maxRemembered = std::size_t{1} << 20;  ///< past this, forget everything and start over
};

namespace detail {

/// The compare-and-set script: KEYS[1]; ARGV = old-exists ("0"/"1"), old
/// value, new value ("" = delete), PX ms ("0" = no TTL). Returns 1 if written;
/// else the key's current value as a one-element array (nil: absent).
extern const char* const kCompareAndSetScript;

[[nodiscard]] std::string listKey(std::string_view prefix, std::string_view key, std::string_view kind);
/// PX for a list whose latest expiry is `latest`: 0 (no TTL) for
/// WallTime::max(), else (latest - now) in ms rounded up, at least 1.
[[nodiscard]] std::int64_t ttlMillis(storage::WallTime latest, storage::WallTime now);
[[nodiscard]] storage::StoreError unavailable(std::string message);
[[nodiscard]] storage::StoreError unavailable(RedisError e);
/// An error reply, or a reply of a type the command does not return.
[[nodiscard]] storage::StoreError unexpectedReply(const RedisReply& r);

struct CasOutcome {
  bool written = false;
  std::optional<std::string> current;  ///< when not written: the key's value now (nullopt: absent)
};
using CasDone = std::function<void(tl::expected<CasOutcome, storage::StoreError>)>;
/// Runs kCompareAndSetScript; `done` gets what happened, or why it did not.
void compareAndSet(RedisClient& client, const RedisScript& script, const std::string& key,
                   const std::optional<std::string>& old, std::string next, std::int64_t pxMillis, CasDone done);

}  // namespace detail

template <class T>
class RedisListStore final : public storage::ListStore<T> {
 public:
  using typename storage::ListStore<T>::List;
  using typename storage::ListStore<T>::Done;
  using typename storage::ListStore<T>::Change;

  /// Conflicts retried before an update fails with {Unavailable, 503, "contention"}.
  static constexpr int kMaxRetries = 8;

  /// `kind` names the record type in the key ("reg", "pub", ...); `client`
  /// must outlive the store.
  RedisListStore(RedisClient& client, std::string keyPrefix, std::string kind, RedisListOptions options = {})
      : core_(std::make_shared<Core>(client, std::move(keyPrefix), std::move(kind), options)) {}

  /// Keys whose last written value is remembered (RedisListOptions::rememberWrites).
  [[nodiscard]] std::size_t remembered() const { return core_->known.size(); }
  /// The list this store last wrote at `key` (rememberWrites), decoded; nullopt
  /// if none is remembered. What Redis holds unless another writer came since.
  [[nodiscard]] std::optional<List> rememberedList(const std::string& key) const {
    const auto it = core_->known.find(key);
    if (it == core_->known.end()) return std::nullopt;
    auto list = decodeValue(it->second);
    if (!list) return std::nullopt;
    return std::move(*list);
  }
  /// True while an update of `key` is in flight.
  [[nodiscard]] bool busy(const std::string& key) const { return core_->queued.contains(key); }

  /// The Redis key holding the list of `key`.
  [[nodiscard]] std::string redisKey(const std::string& key) const {
    return detail::listKey(core_->prefix, key, core_->kind);
  }

  // ListStore
  void lookup(const std::string& key, storage::WallTime now, Done done) override {
    std::weak_ptr<Core> weak = core_;
    core_->client.command({"GET", redisKey(key)}, [weak, now, done = std::move(done)](auto reply) {
      auto self = weak.lock();
      if (!self) return;
      auto list = decodeReply(reply);
      if (!list) return done(tl::unexpected(std::move(list.error())));
      dropExpired(*list, now, self->options.keepExpired);
      done(std::move(*list));
    });
  }

  void update(const std::string& key, storage::WallTime now, Change change, Done done) override {
    auto [it, idle] = core_->queued.try_emplace(key);
    it->second.push_back(Pending{now, std::move(change), std::move(done)});
    if (idle) startBatch(core_, key);
  }

 private:
  struct Pending {
    storage::WallTime now;
    Change change;
    Done done;
  };
  using Batch = std::vector<Pending>;
  using Result = tl::expected<List, storage::StoreError>;

  struct Core {
    Core(RedisClient& c, std::string p, std::string k, RedisListOptions o)
        : client(c), prefix(std::move(p)), kind(std::move(k)), options(o) {}
    RedisClient& client;
    std::string prefix;
    std::string kind;
    RedisListOptions options;
    /// rememberWrites: key -> the value this store last wrote there.
    std::unordered_map<std::string, std::string> known;

    void remember(const std::string& key, const std::string& value) {
      if (!options.rememberWrites) return;
      if (value.empty()) {
        known.erase(key);
        return;
      }
      if (known.size() >= options.maxRemembered && !known.contains(key)) known.clear();
      known[key] = value;
    }
    RedisScript script{detail::kCompareAndSetScript};
    /// Keys with a batch in flight -> the updates waiting for the next one.
    std::unordered_map<std::string, Batch> queued;
  };

  static std::size_t dropExpired(List& list, storage::WallTime now, std::chrono::milliseconds grace) {
    return std::erase_if(list, [now, grace](const T& r) { return r.expires <= now - grace; });
  }

  /// Takes the updates queued for `key` (its entry in `queued` stays, marking it busy).
  static void startBatch(const std::shared_ptr<Core>& core, const std::string& key) {
    auto batch = std::make_shared<Batch>(std::exchange(core->queued[key], {}));
    if (auto it = core->known.find(key); it != core->known.end())
      return apply(core, key, batch, 0, it->second, true);
    if (core->options.rememberWrites) return apply(core, key, batch, 0, std::nullopt, true);  // a guess
    fetchAndApply(core, key, std::move(batch));
  }

  static void fetchAndApply(const std::shared_ptr<Core>& core, const std::string& key, std::shared_ptr<Batch> batch) {
    std::weak_ptr<Core> weak = core;
    core->client.command({"GET", detail::listKey(core->prefix, key, core->kind)},
                         [weak, key, batch](tl::expected<RedisReply, RedisError> reply) {
                           auto self = weak.lock();
                           if (!self) return;
                           if (!reply) return finish(self, key, *batch, {}, detail::unavailable(reply.error()));
                           if (reply->type == RedisReply::Type::Nil) return apply(self, key, batch, 0, std::nullopt);
                           if (reply->type == RedisReply::Type::String)
                             return apply(self, key, batch, 0, std::move(reply->str));
                           finish(self, key, *batch, {}, detail::unexpectedReply(*reply));
                         });
  }

  static tl::expected<List, storage::StoreError> decodeValue(const std::optional<std::string>& value) {
    if (!value) return List{};
    auto list = Codec<T>::decode(*value);
    if (!list) return tl::unexpected(detail::unavailable("undecodable value: " + std::string(toString(list.error()))));
    return std::move(*list);
  }

  static tl::expected<List, storage::StoreError> decodeReply(const tl::expected<RedisReply, RedisError>& reply) {
    if (!reply) return tl::unexpected(detail::unavailable(reply.error()));
    if (reply->type == RedisReply::Type::Nil) return List{};
    if (reply->type != RedisReply::Type::String) return tl::unexpected(detail::unexpectedReply(*reply));
    return decodeValue(reply->str);
  }

  /// Runs the batch's closures on `old` (the key's value, nullopt if absent)
  /// and writes the outcome if the key still holds `old`. A conflict answers
  /// with the value that won, so the retry needs no GET; that also puts the
  /// loser of a race a round trip ahead of the winner's next update, which
  /// keeps two busy writers from starving one another.
  /// `remembered`: `old` is what this store last wrote (nullopt: a key it never
  /// wrote, guessed absent), not confirmed by Redis.
  static void apply(const std::shared_ptr<Core>& core, std::string key, std::shared_ptr<Batch> batch, int retries,
                    std::optional<std::string> old, bool remembered = false) {
    auto base = decodeValue(old);
    if (!base) {
      if (remembered) return forgetAndFetch(core, key, std::move(batch));
      return finish(core, key, *batch, {}, std::move(base.error()));
    }

    // Every closure sees what the ones before it in the batch made, as if
    // they had run one after another.
    std::vector<Result> results;
    results.reserve(batch->size());
    List current = std::move(*base);
    bool changed = false;
    storage::WallTime latestNow = storage::WallTime::min();
    for (const Pending& p : *batch) {
      dropExpired(current, p.now, core->options.keepExpired);
      latestNow = std::max(latestNow, p.now);
      auto next = p.change(current);
      if (next) {
        current = *next;
        changed = true;
      }
      results.push_back(std::move(next));
    }
    // Nothing to write: an answer only Redis's own value may justify.
    if (remembered && (!changed || (!old && current.empty()))) return forgetAndFetch(core, key, std::move(batch));
    if (!changed || (!old && current.empty())) return finish(core, key, *batch, std::move(results), {});

    std::int64_t px = 0;
    std::string value;
    if (!current.empty()) {
      const auto latest = std::max_element(current.begin(), current.end(),
                                           [](const T& x, const T& y) { return x.expires < y.expires; });
      const auto keep = latest->expires == storage::WallTime::max() ? latest->expires : latest->expires + core->options.keepExpired;
      px = detail::ttlMillis(keep, latestNow);
      value = Codec<T>::encode(current);
    }
    auto written = core->options.rememberWrites ? std::make_shared<std::string>(value) : nullptr;
    std::weak_ptr<Core> weak = core;
    detail::compareAndSet(
        core->client, core->script, detail::listKey(core->prefix, key, core->kind), old, std::move(value), px,
        [weak, key, batch, retries, written, results = std::move(results)](
            tl::expected<detail::CasOutcome, storage::StoreError> r) mutable {
          auto self = weak.lock();
          if (!self) return;
          if (!r) {
            self->known.erase(key);  // written or not: unknown
            return finish(self, key, *batch, {}, std::move(r.error()));
          }
          if (r->written) {
            if (written) self->remember(key, *written);
            return finish(self, key, *batch, std::move(results), {});
          }
          self->known.erase(key);  // someone else wrote it: whatever this store remembered is stale
          if (retries >= kMaxRetries) return finish(self, key, *batch, {}, detail::unavailable("contention"));
          apply(self, std::move(key), std::move(batch), retries + 1, std::move(r->current));
        });
  }

  static void forgetAndFetch(const std::shared_ptr<Core>& core, const std::string& key, std::shared_ptr<Batch> batch) {
    core->known.erase(key);
    fetchAndApply(core, key, std::move(batch));
  }

  /// Answers every update of the batch (with `results`, or else all with
  /// `error`), then starts the next batch of `key` if updates queued meanwhile.
  static void finish(const std::shared_ptr<Core>& core, const std::string& key, Batch& batch,
                     std::vector<Result> results, std::optional<storage::StoreError> error) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (error) batch[i].done(tl::unexpected(*error));
      else batch[i].done(std::move(results[i]));
    }
    const auto it = core->queued.find(key);
    if (it == core->queued.end()) return;
    if (it->second.empty()) core->queued.erase(it);
    else startBatch(core, key);
  }

  std::shared_ptr<Core> core_;
};

}  // namespace parley::redis
