// The Redis backend of storage::SubscriptionStore (docs/storage.md,
// "Subscriptions in Redis").
//
// Each subscription is one Redis string at "<prefix>{<id>}:sub" (the dialog id
// is the hash tag), holding Codec<Subscription> of a one-record list, written by
// RedisListStore's compare-and-set. A lapsed record stays readable by update()
// for kGrace after its expiry, as the memory store keeps it until removed: the
// notifier's expiry timer reads it to send the terminating NOTIFY.
//
// Three sorted sets index the records, each member a subscription id scored
// with its expiry (ms since the epoch), each set in its own slot:
//   "<prefix>{<resource>}:watchers"   fan-out: who watches a presentity
//   "<prefix>{<watcher>}:watching"    the per-watcher limit
//   "<prefix>{node:<node>}:subs"      what this node resumes after a restart
// Reads take the members scored after `now`, so lapsed ones never show. Every
// write of an index also trims its lapsed members and sets the key to expire
// with its last member (kGrace later), so nothing is left behind.
//
// An update that creates, refreshes or removes a record writes the indexes
// after the record, then answers. The store remembers the records it wrote
// and starts from them (RedisListOptions::rememberWrites).
//
// NOTIFY CSeqs are leased: a write stores localCSeq kCSeqLease above the CSeq
// actually used, and an update that only moves the CSeq up within that
// ceiling (a NOTIFY) is answered from the remembered record without touching
// Redis. Redis thus always holds a CSeq at least as high as any sent, so a
// node resuming a subscription after a crash (or another node taking it over)
// goes on above every CSeq used, with a gap of at most kCSeqLease (RFC 3261
// §12.2.2: a UAS takes a higher CSeq as in order). One Redis write per
// kCSeqLease NOTIFYs instead of one per NOTIFY (docs/storage.md). The writes are not one transaction, which Redis Cluster would
// refuse across slots: if the link drops between them, `done` gets Unavailable
// and an index may lag the record until the subscriber's retry or refresh (an
// index entry without a record is harmless: the record's update answers 481).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "parley/redis/redis_client.hpp"
#include "parley/redis/redis_list_store.hpp"
#include "parley/redis/redis_script.hpp"
#include "parley/storage/subscription_store.hpp"

namespace parley::redis {

class RedisSubscriptionStore final : public storage::SubscriptionStore {
 public:
  /// How long a lapsed record (and index) is kept for the terminating NOTIFY.
  static constexpr std::chrono::milliseconds kGrace = std::chrono::minutes(5);
  /// How far above the CSeq in use the stored localCSeq is set.
  static constexpr std::uint32_t kCSeqLease = 100;

  /// `nodeId` names this node's set of owned subscriptions; no '{' or '}'.
  /// `client` must outlive the store.
  RedisSubscriptionStore(RedisClient& client, std::string keyPrefix, std::string nodeId);

  [[nodiscard]] std::string recordKey(const std::string& id) const { return records_.redisKey(id); }
  [[nodiscard]] std::string resourceKey(std::string_view resource) const;
  [[nodiscard]] std::string watcherKey(std::string_view aor) const;
  [[nodiscard]] std::string nodeKey() const;

  // storage::SubscriptionStore
  void update(const std::string& id, storage::WallTime now, Change change, Found done) override;
  void get(const std::string& id, storage::WallTime now, Maybe done) override;
  void watchers(const std::string& resource, storage::WallTime now, Ids done) override;
  void countByWatcher(const std::string& aor, storage::WallTime now, Count done) override;
  void owned(storage::WallTime now, Ids done) override;

 private:
  struct Core {
    Core(RedisClient& c, std::string p, std::string n);
    RedisClient& client;
    std::string prefix;
    std::string node;
    RedisScript indexScript;
    /// CSeq leases of the records this store last wrote: the CSeq in use and
    /// the ceiling Redis holds (the remembered record's localCSeq).
    struct Lease {
      std::uint32_t used = 0, ceiling = 0;
    };
    std::unordered_map<std::string, Lease> leases;
    /// The CSeq in use for a record whose stored localCSeq is `stored`, when
    /// that is this store's leased ceiling; nullopt otherwise.
    [[nodiscard]] std::optional<std::uint32_t> cseqInUse(const std::string& id, std::uint32_t stored) const {
      const auto lease = leases.find(id);
      if (lease == leases.end() || lease->second.ceiling != stored) return std::nullopt;
      return lease->second.used;
    }
  };
  /// A NOTIFY's update within the lease: true when answered without Redis.
  bool updateWithinLease(const std::string& id, storage::WallTime now, const Change& change, Found& done);
  void members(const std::string& key, storage::WallTime now, Ids done);
  /// Writes `sub`'s expiry into its three indexes (removes it when lapsed),
  /// then calls `done` with the first failure, if any.
  static void reindex(const std::shared_ptr<Core>& core, const std::string& id, const storage::Subscription& sub,
                      storage::WallTime now, std::function<void(std::optional<storage::StoreError>)> done);

  RedisListStore<storage::Subscription> records_;
  std::shared_ptr<Core> core_;
};

}  // namespace parley::redis
