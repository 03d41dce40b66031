// SUBSCRIBE/NOTIFY (RFC 6665) for Event: presence (RFC 3856, PIDF) and
// Event: dialog (RFC 4235, dialog-info: BLF lamps): the notifier side of the
// presence agent. docs/presence.md has the rules and the design.
//
// SUBSCRIBE, after the UAS core's checks:
//   Event presence|dialog else 489 + Allow-Events; Accept must allow the
//   package's type else 406 + Accept; Expires by ExpiryBounds (423 +
//   Min-Expires); a new subscription needs a Contact (400) and a user in the
//   Request-URI (404), and is refused past max_subscriptions_per_watcher (403);
//   in-dialog: unknown or expired dialog → 481, CSeq not above the last → 500.
//   Success is 200 (never 202: policy is "allow") with Expires and Contact, and
//   is followed at once by a NOTIFY with the full state — after every 2xx,
//   refresh and Expires: 0 included (terminated;reason=timeout then).
// NOTIFY: every state change of the presentity (a PUBLISH that changes it, a
// publication expiring) is composed once and fanned out. Each watcher has at
// most one NOTIFY transaction outstanding; changes meanwhile collapse into one
// later NOTIFY with the newest state, so a slow watcher costs one flag. A NOTIFY
// that times out or gets one of the RFC 6665 §4.2.2 codes ends the subscription.
// A subscription that is not refreshed ends with terminated;reason=timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "parley/pidf/presence.hpp"
#include "parley/presence/external_presence.hpp"
#include "parley/presence/publisher.hpp"
#include "parley/presence/watch_table.hpp"
#include "parley/simple/expiry.hpp"
#include "parley/simple/sip_stack.hpp"
#include "parley/storage/subscription_store.hpp"

namespace parley::presence {

struct NotifyOptions {
  simple::ExpiryBounds expiry;
  std::size_t maxSubscriptionsPerWatcher = 1000;
  std::function<storage::WallTime()> wallClock = [] { return storage::WallClock::now(); };
  /// Our "host:port" as `peer` must see it (Via sent-by, Contact): the listener
  /// the peer's request came in on, else one of its transport and address family.
  std::function<std::string(const sip::Peer& peer)> sentBy = [](const sip::Peer&) { return std::string("127.0.0.1"); };
};

/// A composed document ready to send: `text`, and for dialog-info the offset of
/// the version number (written 0) that each subscription replaces with its own.
struct NotifyBody {
  std::string_view contentType;
  std::string text;
  std::size_t versionAt = std::string::npos;  ///< offset of the '0' in version="0"
};

class Notifier final : public simple::RequestHandler {
 public:
  struct Stats {
    std::uint64_t created = 0, refreshed = 0, unsubscribed = 0, expired = 0, ended = 0;
    std::uint64_t notifies = 0, notifyFailures = 0, coalesced = 0;
    std::uint64_t resumed = 0;  ///< subscriptions taken over from the store after a restart
  };

  Notifier(NotifyOptions options, simple::SipStack& stack, storage::SubscriptionStore& store,
           Publisher& publisher);
  ~Notifier() override;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  [[nodiscard]] simple::MethodRegistration registration();
  // simple::RequestHandler
  void handle(simple::ServerTransaction txn, sip::Message&& req) override;

  /// The Publisher's listener: when the state changed, notifies the watchers;
  /// on a refresh, moves the publication expiry timer of a watched presentity.
  void onPublication(const PublicationChange& change);

  /// Composes the document watchers of `resource` ("<event> <aor>") get now.
  /// Arms the expiry timers of the publications it read (someone watches them).
  void compose(const std::string& resource, std::function<void(std::shared_ptr<const NotifyBody>)> done);
  /// The composed presence of a served `aor` (publications plus hook state),
  /// as compose() builds it for watchers; arms the same expiry timers.
  void composePresence(const std::string& aor, std::function<void(pidf::PresenceDocument)> done);

  /// composePresence with what else the same reads tell (the HTTP API).
  struct PresenceView {
    pidf::PresenceDocument document;
    std::optional<storage::WallTime> changed;  ///< the newest live publication's last change, either package
    bool complete = true;                      ///< false: the store failed a read (the document lacks it)
  };
  void composePresenceView(const std::string& aor, std::function<void(PresenceView)> done);

  /// Someone besides SIP watchers follows presence (the XMPP bridge, the
  /// HTTP API's live stream): it hears `aor` whenever its composed presence
  /// may have changed (a publication of either package changed or expired,
  /// here or on another node).
  void addPresenceObserver(std::function<void(std::string_view aor)> observer) {
    observers_.push_back(std::move(observer));
  }
  /// Presentities of another world; SUBSCRIBEs to them are served with its state.
  void setExternal(ExternalPresence* external) { external_ = external; }
  /// The other world changed `aor`'s state (its presence, or a watcher's
  /// authorization): every SIP watcher of it gets a NOTIFY.
  void onExternalChange(std::string_view aor);

  /// Another node changed `aor`'s state for `event` (a PUBLISH it accepted):
  /// this node's watchers hear of it, as after a local change.
  void onRemoteChange(std::string_view event, std::string_view aor);

  /// After a restart: takes over the store's subscriptions that this node owns
  /// (SubscriptionStore::owned) and sends each a NOTIFY with the current state
  /// in its dialog, the CSeq going on from the stored one. `done` gets how many.
  void resume(std::function<void(tl::expected<std::size_t, storage::StoreError>)> done);
  /// Sends every subscription this node serves a NOTIFY with the current state
  /// (after a store outage, when changes may have gone unheard); returns how many.
  std::size_t renotifyAll();

  /// The live subscriptions to `aor`'s presence and dialog state, on every
  /// node sharing the store (the HTTP API's watcher list).
  struct WatcherInfo {
    std::string watcher;  ///< the subscriber's AOR
    std::string event;    ///< "presence" or "dialog"
    storage::WallTime expires;
  };
  using WatchersDone = std::function<void(tl::expected<std::vector<WatcherInfo>, storage::StoreError>)>;
  void watchersOf(const std::string& aor, WatchersDone done);

  [[nodiscard]] const Stats& stats() const { return stats_; }
  /// Subscriptions this node sends NOTIFYs for.
  [[nodiscard]] std::size_t watches() const { return watches_.size(); }
  /// This node's NOTIFY queue: transactions outstanding, watchers with a newer state waiting.
  [[nodiscard]] WatchTable::Queue notifyQueue() const { return watches_.queue(); }

 private:
  /// `event`: the package's name (static storage); `eventId`: the Event id parameter.
  void subscribeInDialog(simple::ServerTransaction txn, std::shared_ptr<sip::Message> req, std::string_view event,
                         std::string eventId, std::uint32_t expires);
  void subscribeNew(simple::ServerTransaction txn, std::shared_ptr<sip::Message> req, std::string_view event,
                    std::string eventId, std::uint32_t expires);
  void accepted(const simple::ServerTransaction& txn, const sip::Message& req, const std::string& id,
                const storage::Subscription& sub, std::uint32_t expires);
  void fanOut(std::string_view event, std::string_view aor);
  void notifyResource(const std::string& resource);
  /// Sends the current state to one subscription (body composed if null).
  void notify(const std::string& id, std::shared_ptr<const NotifyBody> body);
  /// Sends `sub`'s current state (active) in a NOTIFY: `body`, else composed or external.
  void sendState(const std::string& id, const storage::Subscription& sub, std::shared_ptr<const NotifyBody> body);
  void resumeOne(const std::string& id);
  void send(const std::string& id, const storage::Subscription& sub, const NotifyBody& body,
            std::string_view state);
  /// True when the subscription's presentity belongs to the external source.
  [[nodiscard]] bool isExternal(const storage::Subscription& sub) const;
  /// Sends the external source's state for one subscription; `terminal`: the
  /// subscription ends with this NOTIFY (unsubscribe, fetch, expiry).
  void sendExternal(const std::string& id, const storage::Subscription& sub, bool terminal);
  void onNotifyResult(const std::string& id, const sip::Message* resp);
  /// Ends a subscription without a NOTIFY (the watcher refused or vanished).
  void drop(const std::string& id);
  void armExpiry(const std::string& id, storage::WallTime expires);
  /// Keeps the one module timer at the earliest subscription expiry.
  void scheduleExpiries();
  void expire(const std::string& id);
  /// Arms (or moves) the timer for the earliest expiry of `live`, the
  /// publications of `aor` for `event`; none left → no timer.
  void armPublicationExpiry(std::string_view event, std::string_view aor, const storage::Publications& live);

  NotifyOptions options_;
  simple::SipStack& stack_;
  storage::SubscriptionStore& store_;
  Publisher& publisher_;
  WatchTable watches_;  // node-local, per subscription: what must not outlive the process
  simple::SipStack::TimerId expiryTimer_ = 0;
  txn::TimePoint expiryTimerAt_{};
  // Publication expiry, only for presentities someone watches (armed when composing).
  struct PublicationTimer {
    simple::SipStack::TimerId timer = 0;
    storage::WallTime due;
  };
  std::unordered_map<std::string, PublicationTimer> publicationTimers_;
  std::vector<std::function<void(std::string_view)>> observers_;
  ExternalPresence* external_ = nullptr;
  Stats stats_;
};

}  // namespace parley::presence
