// Subscriptions (RFC 6665): one record per subscription dialog, with what a
// notifier needs to send NOTIFYs in that dialog after a restart or from another
// node: the dialog identifiers, route set, remote target, both CSeqs and the
// expiry. Records are found by id (an in-dialog SUBSCRIBE, a NOTIFY to send)
// and listed by resource (fan-out when the presentity's state changes).
//
// Asynchronous by contract, like ListStore: the memory backend completes before
// returning, a networked backend (Redis) later from the event loop. Updates are
// read-modify-write by a pure closure, which a Redis backend runs under
// WATCH/MULTI and may run again.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "parley/storage/list_store.hpp"

namespace parley::storage {

struct Subscription {
  std::string resource;      ///< "<event> <presentity AOR>": what it watches (fan-out key)
  std::string watcher;       ///< the subscriber's AOR (From): per-watcher limits
  std::string eventId;       ///< the Event header's id parameter (RFC 6665 §8.2.3), often empty
  std::string callId;        ///< dialog id, with the tags (RFC 3261 §12)
  std::string localTag;      ///< ours: the To tag of our 2xx
  std::string remoteTag;     ///< theirs: the From tag of the SUBSCRIBE
  std::string localUri;      ///< our From for NOTIFY: the SUBSCRIBE's To, without tag
  std::string remoteUri;     ///< their From header value, as sent (tag included): NOTIFY's To
  std::string remoteTarget;  ///< their Contact URI: NOTIFY's Request-URI (refreshed by re-SUBSCRIBE)
  std::vector<std::string> routeSet;  ///< Record-Route values in order (RFC 3261 §12.1.1)
  std::string source;        ///< where the SUBSCRIBE came from ("udp:192.0.2.1:5060"): next hop without routes
  /// CSeq of the last NOTIFY we sent, 0 before the first. NOTIFY CSeqs start at
  /// 1 and go up by one, so localCSeq − 1 is also that NOTIFY's dialog-info
  /// version (RFC 4235 §4.1: 0 first, +1 per document).
  std::uint32_t localCSeq = 0;
  std::uint32_t remoteCSeq = 0;  ///< highest CSeq of their requests (RFC 3261 §12.2.2)
  WallTime expires;              ///< when it lapses unless refreshed

  friend bool operator==(const Subscription&, const Subscription&) = default;
};

/// The key of a subscription: its dialog id. We serve one subscription per
/// dialog (RFC 6665 §4.5.2 discourages reusing a dialog for another one).
[[nodiscard]] inline std::string subscriptionId(std::string_view callId, std::string_view localTag,
                                                std::string_view remoteTag) {
  std::string id;
  id.reserve(callId.size() + localTag.size() + remoteTag.size() + 2);
  id.append(callId).push_back(' ');
  id.append(localTag).push_back(' ');
  id.append(remoteTag);
  return id;
}

class SubscriptionStore {
 public:
  using Found = std::function<void(tl::expected<Subscription, StoreError>)>;
  /// Given the stored record (nullptr if none; possibly already expired: the
  /// closure decides what that means), returns the record to store, or a
  /// refusal. A returned record whose `expires` is not after `now` is removed,
  /// and `done` still receives it (the terminating NOTIFY needs it). The
  /// record is the closure's own copy: it may move from it (a NOTIFY's CSeq
  /// bump takes the record instead of copying its strings).
  using Change = std::function<tl::expected<Subscription, StoreError>(Subscription* current)>;
  using Ids = std::function<void(tl::expected<std::vector<std::string>, StoreError>)>;
  using Count = std::function<void(tl::expected<std::size_t, StoreError>)>;
  using Maybe = std::function<void(tl::expected<std::optional<Subscription>, StoreError>)>;

  virtual ~SubscriptionStore() = default;
  /// A record's `resource` and `watcher` never change once created (they
  /// belong to the dialog); the Redis store indexes them at creation.
  virtual void update(const std::string& id, WallTime now, Change change, Found done) = 0;
  /// The record `id` while it is live (not lapsed at `now`); nullopt otherwise.
  virtual void get(const std::string& id, WallTime now, Maybe done) = 0;
  /// Ids of the live subscriptions to `resource`.
  virtual void watchers(const std::string& resource, WallTime now, Ids done) = 0;
  /// Number of subscriptions whose `watcher` is `aor`: every live one, and
  /// maybe lapsed ones not removed yet (the memory store counts those until
  /// the notifier removes them at expiry; Redis does not). A limit, so it may
  /// err on the high side for that moment.
  virtual void countByWatcher(const std::string& aor, WallTime now, Count done) = 0;
  /// Ids of the live subscriptions this node owns: the ones it created or
  /// last updated, whose NOTIFYs it sends. A restarted node resumes them. A
  /// store private to one node owns all of its subscriptions.
  virtual void owned(WallTime now, Ids done) = 0;
};

}  // namespace parley::storage
