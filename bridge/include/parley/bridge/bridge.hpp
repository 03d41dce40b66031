// The SIP <-> XMPP bridge at run time (RFC 7247 architecture, RFC 8048
// presence, RFC 7572 messages). docs/bridge.md has the flows and tables.
//
// XMPP side (stanzas from the component, addressed to SIP users' JIDs
// user@<component domain>):
//   subscribe    → authorized (policy "allow"), answered subscribed, then the
//                  SIP user's composed presence (hook state included);
//   probe        → the current presence (and the prober is remembered as a subscriber);
//   unsubscribe  → forgotten, answered unavailable (RFC 6121 §3.3.3);
//   subscribed / unsubscribed → the answer to a SIP user's request: its SIP
//                  watchers get NOTIFY active / terminated;reason=rejected;
//   presence / unavailable → the contact's presence, cached per resource;
//                  the SIP watchers of the contact get a NOTIFY;
//   message      → a SIP MESSAGE to the SIP user's registered contacts.
// SIP side:
//   the composed presence of a SIP user changed → a presence stanza to each
//                  XMPP subscriber (unchanged states are not repeated);
//   a SIP watcher subscribes to an XMPP contact → XMPP subscribe from the SIP
//                  user's bare JID (skipped when already authorized);
//   a MESSAGE to an XMPP domain → a message stanza, answered 202.
// Anti-spoofing and loops: stanzas must come from the configured XMPP domains,
// SIP requests from a served SIP domain; neither side can make the bridge
// speak for the other side's users, so nothing can bounce between the worlds.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "parley/bridge/address.hpp"
#include "parley/bridge/presence_map.hpp"
#include "parley/messaging/message_router.hpp"
#include "parley/pidf/presence.hpp"
#include "parley/presence/external_presence.hpp"
#include "parley/simple/sip_stack.hpp"
#include "parley/storage/roster_store.hpp"
#include "parley/xmpp/component.hpp"

namespace spdlog {
class logger;
}

namespace parley::bridge {

struct BridgeOptions {
  std::string componentDomain = "sip.localhost";  ///< JIDs of SIP users: user@componentDomain
  std::string sipDomain = "sip.localhost";        ///< the SIP domain of those users
  std::vector<std::string> xmppDomains{"localhost"};
  std::string messageType = "chat";   ///< type of message stanzas made from SIP MESSAGE
  std::size_t maxMessageBytes = 1300; ///< SIP MESSAGE made from XMPP: larger → policy-violation (RFC 7572 §6)
  /// How long a SIP MESSAGE into XMPP waits for a bounce (then the mapped SIP
  /// error, RFC 7247 §7.1) before it is answered 202; 0 = 202 at once.
  std::chrono::milliseconds messageWait{300};
  std::function<storage::WallTime()> wallClock = [] { return storage::WallClock::now(); };
};

/// What the bridge drives on either side (the Notifier, the MessageRouter and
/// the Component in parleyd; recorders in unit tests).
struct BridgePorts {
  /// The composed presence of a served SIP AOR ("sip:alice@sip.localhost").
  std::function<void(const std::string& aor, std::function<void(pidf::PresenceDocument)>)> composePresence;
  /// An XMPP contact's state changed for its SIP watchers (Notifier::onExternalChange).
  std::function<void(std::string_view aor)> externalChanged;
  /// Sends a MESSAGE to a served user's contacts (MessageRouter::originate).
  std::function<void(messaging::MessageRouter::Outgoing, messaging::MessageRouter::OriginateDone)> originate;
  /// The RFC 3428 §8 size of such a MESSAGE (MessageRouter::estimatedSize).
  std::function<std::size_t(const messaging::MessageRouter::Outgoing&)> messageSize;
  /// Sends a stanza to the XMPP server (Component::send): false when refused.
  std::function<bool(std::unique_ptr<gloox::Tag>)> send;
  /// One-shot timers on the loop (SipStack::setTimer / cancelTimer).
  std::function<std::uint64_t(std::chrono::milliseconds, std::function<void()>)> setTimer;
  std::function<void(std::uint64_t)> cancelTimer;
};

class Bridge final : public xmpp::StanzaSink, public presence::ExternalPresence {
 public:
  struct Stats {
    std::uint64_t presenceOut = 0, presenceIn = 0;   ///< presence stanzas sent / contact presences taken
    std::uint64_t messagesToXmpp = 0, messagesToSip = 0;
    std::uint64_t messageErrors = 0;                  ///< XMPP error stanzas for failed SIP deliveries
    std::uint64_t refused = 0;                        ///< spoofed, malformed or unmappable input
  };

  Bridge(BridgeOptions options, BridgePorts ports, storage::RosterStore& roster,
         storage::ContactPresenceStore& contacts, std::shared_ptr<spdlog::logger> log);

  ~Bridge() override;
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // xmpp::StanzaSink
  void onStanza(const gloox::Tag& stanza) override;
  void onLinkUp() override;
  void onLinkDown() override;

  // presence::ExternalPresence (SIP watchers of XMPP contacts)
  [[nodiscard]] bool owns(std::string_view aor) const override;
  void watching(std::string_view watcher, std::string_view aor, Watch what) override;
  void state(std::string_view watcher, std::string_view aor, std::function<void(State)> done) override;

  /// The Notifier's presence observer: a served user's composed presence may have changed.
  void onSipPresenceChanged(std::string_view aor);
  /// A MESSAGE whose Request-URI is in an XMPP domain (MessageRouter's foreign handler).
  void onSipMessage(simple::ServerTransaction txn, sip::Message&& req);

  [[nodiscard]] const Stats& stats() const { return stats_; }

  // --- the HTTP API's view of the XMPP side (docs/api.md) ---
  /// "xmpp:<bare JID>" for an address in a bridged XMPP domain, given as
  /// "xmpp:bob@example.org" or "bob@example.org"; nullopt otherwise.
  [[nodiscard]] std::optional<std::string> xmppAddress(std::string_view address) const;
  /// The same for a contact's SIP form ("sip:bob@example.org", as externalChanged reports it).
  [[nodiscard]] std::optional<std::string> xmppAddressOfAor(std::string_view aor) const;
  using DocumentDone = std::function<void(tl::expected<pidf::PresenceDocument, storage::StoreError>)>;
  /// What the bridge knows of an XMPP contact's presence (`xmppAddress` as
  /// above): its resources as last broadcast to us, as the PIDF its SIP
  /// watchers get. XMPP sends presence only to subscribers, so it is known
  /// while a SIP user is subscribed to the contact; else it reads offline.
  void contactPresence(const std::string& xmppAddress, DocumentDone done) const;
  using JidsDone = std::function<void(tl::expected<std::vector<std::string>, storage::StoreError>)>;
  /// The XMPP contacts subscribed to a SIP user's presence (bare JIDs).
  void subscribers(const std::string& aor, JidsDone done) const;

 private:
  void onPresence(const gloox::Tag& stanza, const Jid& from, const Jid& to, const std::string& userAor);
  void onMessage(const gloox::Tag& stanza, const Jid& from, const Jid& to, const std::string& userAor);
  /// A message error: answers the held SIP MESSAGE it bounces, if any.
  void answerHeld(const gloox::Tag& stanza);
  /// Updates the roster item of (userAor, contact); `change` edits it in place.
  void updateRoster(const std::string& userAor, const std::string& contact,
                    std::function<void(storage::RosterItem&)> change,
                    std::function<void(const storage::RosterItem&)> done = {});
  /// Sends the SIP user's current presence to one XMPP address.
  void sendPresence(const std::string& userAor, const std::string& to);
  void sendPresenceStanza(const std::string& from, const std::string& to, const XmppPresence& p);
  void sendSubscription(const std::string& from, const std::string& to, std::string_view type);
  /// The contact's cached presence changed for one resource; watchers hear of it.
  void updateContact(const Jid& from, const XmppPresence& p);
  /// The JID of a served SIP user ("sip:alice@sip.localhost" → alice@<component>), if it maps.
  [[nodiscard]] std::optional<Jid> userJid(std::string_view aor) const;
  /// The SIP AOR of an XMPP contact (bob@localhost → "sip:bob@localhost").
  [[nodiscard]] static std::string contactAor(const Jid& contact);
  [[nodiscard]] bool isXmppDomain(std::string_view domain) const;

  BridgeOptions options_;
  BridgePorts ports_;
  storage::RosterStore& roster_;
  storage::ContactPresenceStore& contacts_;
  std::shared_ptr<spdlog::logger> log_;
  /// Node-local: SIP users with XMPP subscribers (announced again after a
  /// reconnect), the last presence each was announced with (not repeated),
  /// and the (SIP user, contact) pairs SIP watchers follow (probed again after
  /// a reconnect).
  std::set<std::string> subscribed_;
  std::unordered_map<std::string, XmppPresence> announced_;
  std::set<std::pair<std::string, std::string>> followed_;
  /// SIP MESSAGEs relayed into XMPP and not answered yet, by stanza id: a
  /// bounce answers with the mapped error, the timer with 202.
  struct HeldMessage {
    simple::ServerTransaction txn;
    std::shared_ptr<const sip::Message> req;
    std::uint64_t timer = 0;
    bool toFullJid = false;
    std::string target;  ///< the bare JID it went to: only a bounce from there counts
  };
  std::unordered_map<std::string, HeldMessage> held_;
  Stats stats_;
};

}  // namespace parley::bridge
