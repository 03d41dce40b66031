// PUBLISH (RFC 3903) for Event: presence (PIDF, RFC 3863) and Event: dialog
// (dialog-info from PBXs, RFC 4235): the event state compositor's intake.
// Processing follows RFC 3903 §6 in order, after the UAS core's checks:
//   1. Request-URI: a user of a served domain (no user part → 404)
//   2. Event: presence | dialog, else 489 + Allow-Events
//   3. SIP-If-Match: more than one → 400
//   4. Expires: absent → default; 0 < e < min → 423 + Min-Expires; > max → max
//   5. body: wrong Content-Type → 415 + Accept; over max_body_bytes → 413;
//      not a valid document → 400 naming the defect; neither body nor
//      SIP-If-Match → 400; Expires 0 without SIP-If-Match → 400
//   store, atomically per presentity and event: unknown or expired ETag → 412;
//      Expires 0 removes; a body modifies; no body refreshes; a new publication
//      past max_publications_per_presentity → 403
//   6. 200 with Expires and a fresh SIP-ETag never used before (a removal
//      answers Expires: 0 and the removed tag)
// After every success the listener (the Notifier) hears of it: the live
// publications and whether the state changed (initial, modify, remove — a
// refresh changes only the expiry).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/simple/expiry.hpp"
#include "parley/simple/sip_stack.hpp"
#include "parley/storage/publication_store.hpp"

namespace parley::presence {

struct PublishOptions {
  simple::ExpiryBounds expiry;
  std::size_t maxBodyBytes = 65536;
  std::size_t maxPublicationsPerPresentity = 16;
  /// Hosts whose users may publish (lower-case); empty = any host the core
  /// accepted. The core also accepts the bridge's XMPP domains, whose
  /// presence comes from XMPP, never from PUBLISH: those get 403.
  std::vector<std::string> domains;
  std::function<storage::WallTime()> wallClock = [] { return storage::WallClock::now(); };
};

/// The event packages Parley publishes and notifies for, with their body type.
struct EventPackage {
  std::string_view name;         ///< "presence" | "dialog"
  std::string_view contentType;  ///< "application/pidf+xml" | "application/dialog-info+xml"
};
[[nodiscard]] const EventPackage* findPackage(std::string_view name);

/// What the listener hears after a successful PUBLISH.
struct PublicationChange {
  std::string_view event;                 ///< "presence" | "dialog"
  std::string_view aor;                   ///< the presentity
  const storage::Publications& live;      ///< its publications for `event` now
  bool stateChanged;                      ///< false for a refresh (only the expiry moved)
};

class Publisher final : public simple::RequestHandler {
 public:
  using Listener = std::function<void(const PublicationChange&)>;

  Publisher(PublishOptions options, storage::PublicationStore& store);

  [[nodiscard]] simple::MethodRegistration registration();

  // simple::RequestHandler
  void handle(simple::ServerTransaction txn, sip::Message&& req) override;

  /// The storage key of a presentity's publications for one event package.
  [[nodiscard]] static std::string key(std::string_view event, std::string_view aor);
  /// The live publications of `aor` for `event`, newest modification first.
  void lookup(std::string_view event, std::string_view aor, storage::PublicationStore::Done done);
  /// Publishes for a source that is not a SIP UA (the HTTP API): the
  /// publication of `aor` for `event` whose entity-tag is `tag` (chosen by
  /// the source, one per source) gets `body` (already validated) and lapses in
  /// `expires`; 0 removes it. Composed with the SIP devices' publications like
  /// another device; the listener hears it as a state change. `done` gets the
  /// live publications, or the store's error.
  void publishAs(std::string_view event, std::string aor, std::string tag, std::string body,
                 std::chrono::seconds expires, storage::PublicationStore::Done done);
  /// One listener (the Notifier); called after the 200 is sent.
  void setListener(Listener listener) { listener_ = std::move(listener); }

  /// Publications accepted (PUBLISH and publishAs): new or modified state,
  /// refreshes (only the expiry moved), removals.
  struct Stats {
    std::uint64_t changed = 0, refreshed = 0, removed = 0;
  };
  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  PublishOptions options_;
  storage::PublicationStore& store_;
  Listener listener_;
  Stats stats_;
};

}  // namespace parley::presence
