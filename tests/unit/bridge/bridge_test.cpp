// The bridge at run time (RFC 7247, RFC 8048, RFC 7572; docs/bridge.md): the
// rules as seen through its ports. Stanzas come in as gloox Tags; what it
// sends, originates, arms and reports is recorded by fake ports; SIP MESSAGEs
// come through a real SipStack (recording transport) so the answers are real
// server transactions.
#include "parley/bridge/bridge.hpp"

#include <gloox/tag.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "parley/sip/parser.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "parley/xmpp/stanza.hpp"
#include "sip_test_support.hpp"

namespace parley::bridge {
namespace {
using namespace std::chrono_literals;
using messaging::MessageRouter;
using presence::ExternalPresence;
using sip::HeaderId;
using xmpp::attr;
using Authorization = ExternalPresence::Authorization;
using Watch = ExternalPresence::Watch;

constexpr std::string_view kAlice = "sip:alice@sip.localhost";
constexpr std::string_view kCarol = "sip:carol@sip.localhost";
constexpr std::string_view kBobAor = "sip:bob@localhost";
const sip::Peer kPhone{sip::Transport::Udp, "192.0.2.7", 5070, 0, 0};

// One tuple, open or closed, with an optional <show> and note.
pidf::PresenceDocument document(std::string_view entity, bool open, std::string show = {}, pidf::Note note = {}) {
  pidf::PresenceDocument d;
  d.entity = std::string(entity);
  pidf::Tuple t;
  t.id = "t1";
  t.basic = open ? pidf::Basic::Open : pidf::Basic::Closed;
  if (!show.empty()) t.show = std::move(show);
  if (!note.text.empty()) t.notes.push_back(std::move(note));
  d.tuples.push_back(std::move(t));
  return d;
}

std::unique_ptr<gloox::Tag> presence(std::string_view from, std::string_view to, std::string_view type = {}) {
  return xmpp::makeStanza("presence", from, to, type);
}

std::unique_ptr<gloox::Tag> chat(std::string_view from, std::string_view to, std::string_view body,
                                 std::string_view type = "chat", std::string_view id = "m1") {
  auto t = xmpp::makeStanza("message", from, to, type);
  t->addAttribute("id", std::string(id));
  if (!body.empty()) new gloox::Tag(t.get(), "body", std::string(body));
  return t;
}

// The defined condition of an error stanza ("" when none).
std::string errorCondition(const gloox::Tag& t) {
  const gloox::Tag* e = t.findChild("error");
  if (e == nullptr) return "";
  for (const gloox::Tag* c : e->children())
    if (c->name() != "text" && c->xmlns() == xmpp::kStanzasNs) return c->name();
  return "";
}

std::string childText(const gloox::Tag& t, const std::string& name) {
  const gloox::Tag* c = t.findChild(name);
  return c != nullptr ? c->cdata() : std::string("<none>");
}

std::string header(const sip::Message& m, HeaderId id) { return std::string(m.header(id).value_or("")); }

// Hands the stack's MESSAGEs to the bridge, as the MessageRouter's foreign handler does.
class ToBridge final : public simple::RequestHandler {
 public:
  std::function<void(simple::ServerTransaction, sip::Message&&)> next;
  void handle(simple::ServerTransaction txn, sip::Message&& req) override { next(std::move(txn), std::move(req)); }
};

class BridgeTest : public ::testing::Test {
 protected:
  struct SentStanza {
    std::string xml;
    std::unique_ptr<gloox::Tag> tag;
  };
  struct Originated {
    MessageRouter::Outgoing msg;
    MessageRouter::OriginateDone done;
  };
  struct FakeTimer {
    std::chrono::milliseconds delay;
    std::function<void()> fire;
    bool cancelled = false, fired = false;
  };

  BridgeTest() : stack_(stackOptions(), sink_) {
    toBridge_.next = [this](simple::ServerTransaction txn, sip::Message&& req) {
      bridge().onSipMessage(std::move(txn), std::move(req));
    };
    stack_.registerMethod({sip::Method::Message, &toBridge_, {"text/plain"}, {}});
    options_.wallClock = [this] { return wall_; };
  }

  simple::StackOptions stackOptions() {
    simple::StackOptions o;
    o.domains = {"sip.localhost", "localhost"};  // the core lets the XMPP domain through for the bridge
    o.clock = [this] { return now_; };
    return o;
  }

  BridgePorts ports() {
    BridgePorts p;
    p.composePresence = [this](const std::string& aor, std::function<void(pidf::PresenceDocument)> done) {
      ++composed_;
      auto it = docs_.find(aor);
      done(it != docs_.end() ? it->second : pidf::neutral(aor));
    };
    p.externalChanged = [this](std::string_view aor) { changed_.emplace_back(aor); };
    p.originate = [this](MessageRouter::Outgoing msg, MessageRouter::OriginateDone done) {
      originated_.push_back({std::move(msg), std::move(done)});
    };
    p.messageSize = [](const MessageRouter::Outgoing& msg) { return MessageRouter::estimatedSize(msg); };
    p.send = [this](std::unique_ptr<gloox::Tag> tag) {
      if (!sendAccepts_) return false;
      sent_.push_back({tag->xml(), std::move(tag)});
      return true;
    };
    p.setTimer = [this](std::chrono::milliseconds delay, std::function<void()> fire) {
      timers_.emplace(nextTimer_, FakeTimer{delay, std::move(fire)});
      return nextTimer_++;
    };
    p.cancelTimer = [this](std::uint64_t id) {
      if (auto it = timers_.find(id); it != timers_.end()) it->second.cancelled = true;
    };
    return p;
  }

  // Made on first use, so a test may change options_ before.
  Bridge& bridge() {
    if (!bridge_)
      bridge_.emplace(options_, ports(), roster_, contacts_,
                      std::make_shared<spdlog::logger>("bridge-test", spdlog::sinks_init_list{}));
    return *bridge_;
  }

  void receive(const std::unique_ptr<gloox::Tag>& stanza) { bridge().onStanza(*stanza); }

  // Fires every timer that is armed and not cancelled.
  void fireTimers() {
    for (auto& [id, t] : timers_) {
      if (t.cancelled || t.fired) continue;
      t.fired = true;
      t.fire();
    }
  }

  std::optional<storage::RosterItem> rosterItem(std::string_view user, std::string_view contact) {
    std::optional<storage::RosterItem> found;
    roster_.lookup(std::string(user), wall_, [&](auto items) {
      if (!items) return;
      for (const auto& i : *items)
        if (i.jid == contact) found = i;
    });
    return found;
  }

  ExternalPresence::State stateOf(std::string_view watcher, std::string_view aor) {
    std::optional<ExternalPresence::State> s;
    bridge().state(watcher, aor, [&](ExternalPresence::State st) { s = std::move(st); });
    EXPECT_TRUE(s) << "state() answers at once with in-memory stores";
    return s.value_or(ExternalPresence::State{});
  }

  // `user` (a SIP AOR) has approved `contact`'s subscription: a 'subscribe' answered.
  void subscribedBy(std::string_view contact, std::string_view userJid) {
    receive(presence(contact, userJid, "subscribe"));
    sent_.clear();
  }

  // A SIP MESSAGE from a phone of ours; `rows` are header rows ("\n"-separated).
  void sipMessage(std::string_view ruri, std::string_view body, std::string_view rows = "Content-Type: text/plain",
                  std::string_view from = kAlice) {
    const std::string n = std::to_string(++n_);
    std::string text = "MESSAGE " + std::string(ruri) + " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK-m" +
                       n + "\r\nMax-Forwards: 70\r\nTo: <" + std::string(ruri) + ">\r\nFrom: <" + std::string(from) +
                       ">;tag=f" + n + "\r\nCall-ID: msg-" + n + "\r\nCSeq: 1 MESSAGE\r\n";
    test::appendRows(text, rows);
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    stack_.onDatagram(text, kPhone, now_);
  }

  // SIP responses sent since the last call.
  std::vector<sip::Message> responses() {
    std::vector<sip::Message> out;
    for (; seen_ < sink_.sent.size(); ++seen_) {
      if (!sink_.sent[seen_].bytes.starts_with("SIP/2.0")) continue;
      auto m = sip::Parser{}.parseDatagram(sink_.sent[seen_].bytes);
      EXPECT_TRUE(m) << sink_.sent[seen_].bytes;
      if (m) out.push_back(std::move(*m));
    }
    return out;
  }
  // The one response since the last call; 0 when there is none (or several).
  int answeredWith() {
    auto r = responses();
    EXPECT_EQ(r.size(), 1u);
    return r.size() == 1 ? r[0].statusCode() : 0;
  }

  txn::TimePoint now_ = txn::TimePoint{} + 1000s;
  storage::WallTime wall_ = storage::WallTime{} + std::chrono::hours(24 * 365 * 50);
  test::RecordingSink sink_;
  simple::SipStack stack_;
  ToBridge toBridge_;
  storage::MemoryListStore<storage::RosterItem> roster_;
  storage::MemoryListStore<storage::ContactResource> contacts_;
  BridgeOptions options_;
  std::map<std::string, pidf::PresenceDocument> docs_;
  std::vector<SentStanza> sent_;
  std::vector<std::string> changed_;
  std::vector<Originated> originated_;
  std::map<std::uint64_t, FakeTimer> timers_;
  std::uint64_t nextTimer_ = 1;
  bool sendAccepts_ = true;
  int composed_ = 0;
  std::size_t seen_ = 0;
  int n_ = 0;
  std::optional<Bridge> bridge_;  // last: destroyed first, while the ports' state lives
};

// --- XMPP users watching SIP users ----------------------------------------------------------

TEST_F(BridgeTest, SubscribeIsApprovedFromTheBareJidThenAnsweredWithTheComposedPresence) {
  docs_[std::string(kAlice)] = document(kAlice, true, "away", {"Lunch", "en"});
  receive(presence("bob@localhost", "alice@sip.localhost", "subscribe"));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].xml, "<presence from='alice@sip.localhost' to='bob@localhost' type='subscribed'/>");
  const gloox::Tag& p = *sent_[1].tag;
  EXPECT_EQ(p.name(), "presence");
  EXPECT_EQ(attr(p, "from"), "alice@sip.localhost");
  EXPECT_EQ(attr(p, "to"), "bob@localhost");
  EXPECT_FALSE(p.hasAttribute("type")) << sent_[1].xml;
  EXPECT_EQ(childText(p, "show"), "away");
  EXPECT_EQ(childText(p, "status"), "Lunch");
  EXPECT_EQ(attr(*p.findChild("status"), "xml:lang"), "en");
  EXPECT_EQ(childText(p, "priority"), "0");
  auto item = rosterItem(kAlice, "bob@localhost");
  ASSERT_TRUE(item);
  EXPECT_TRUE(item->from);
  EXPECT_FALSE(item->to);
}

TEST_F(BridgeTest, SubscribeToAClosedPresentityIsAnsweredUnavailable) {
  docs_[std::string(kAlice)] = document(kAlice, false, "away");
  receive(presence("bob@localhost", "alice@sip.localhost", "subscribe"));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].xml, "<presence from='alice@sip.localhost' to='bob@localhost' type='unavailable'/>")
      << "no show, no priority for an unavailable presence";
}

TEST_F(BridgeTest, ProbeIsAnsweredToTheProbersFullJidAndRemembersItAsSubscriber) {
  docs_[std::string(kAlice)] = document(kAlice, true);
  receive(presence("bob@localhost/phone", "alice@sip.localhost", "probe"));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(attr(*sent_[0].tag, "to"), "bob@localhost/phone");
  EXPECT_FALSE(sent_[0].tag->hasAttribute("type"));
  ASSERT_TRUE(rosterItem(kAlice, "bob@localhost"));
  EXPECT_TRUE(rosterItem(kAlice, "bob@localhost")->from);
  sent_.clear();
  docs_[std::string(kAlice)] = document(kAlice, true, "dnd");
  bridge().onSipPresenceChanged(kAlice);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(attr(*sent_[0].tag, "to"), "bob@localhost");
  EXPECT_EQ(childText(*sent_[0].tag, "show"), "dnd");
}

TEST_F(BridgeTest, UnsubscribeIsAnsweredUnavailableAndEndsThePushes) {
  docs_[std::string(kAlice)] = document(kAlice, true);
  subscribedBy("bob@localhost", "alice@sip.localhost");
  receive(presence("bob@localhost", "alice@sip.localhost", "unsubscribe"));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].xml, "<presence from='alice@sip.localhost' to='bob@localhost' type='unavailable'/>");
  EXPECT_FALSE(rosterItem(kAlice, "bob@localhost")->from);
  sent_.clear();
  docs_[std::string(kAlice)] = document(kAlice, true, "chat");
  bridge().onSipPresenceChanged(kAlice);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, SipPresenceChangeReachesEverySubscriberOnceAndNeverRepeatsAState) {
  subscribedBy("bob@localhost", "alice@sip.localhost");
  subscribedBy("dave@localhost", "alice@sip.localhost");
  // A contact alice watches but who does not watch her: no push.
  bridge().watching(kAlice, "sip:erin@localhost", Watch::Subscribe);
  receive(presence("erin@localhost", "alice@sip.localhost", "subscribed"));
  sent_.clear();

  docs_[std::string(kAlice)] = document(kAlice, true, "away", {"Lunch", "en"});
  bridge().onSipPresenceChanged(kAlice);
  ASSERT_EQ(sent_.size(), 2u);
  std::set<std::string> to;
  for (const auto& s : sent_) {
    to.insert(attr(*s.tag, "to"));
    EXPECT_EQ(attr(*s.tag, "from"), "alice@sip.localhost");
    EXPECT_EQ(childText(*s.tag, "show"), "away");
  }
  EXPECT_EQ(to, (std::set<std::string>{"bob@localhost", "dave@localhost"}));
  sent_.clear();
  bridge().onSipPresenceChanged(kAlice);
  EXPECT_TRUE(sent_.empty()) << "an unchanged state is not repeated";
  docs_[std::string(kAlice)] = document(kAlice, false);
  bridge().onSipPresenceChanged(kAlice);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(attr(*sent_[0].tag, "type"), "unavailable");
  EXPECT_EQ(bridge().stats().presenceOut, 2u + 2u + 2u);
}

TEST_F(BridgeTest, PresenceOfAUserWithoutSubscribersIsNotEvenComposed) {
  bridge().onSipPresenceChanged(kAlice);
  bridge().onSipPresenceChanged("sip:alice@elsewhere.example");  // not a served SIP domain
  EXPECT_EQ(composed_, 0);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, SubscribeToAnEscapedLocalpartReachesTheDecodedSipUser) {
  receive(presence("bob@localhost", "o\\27malley@sip.localhost", "subscribe"));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(attr(*sent_[0].tag, "from"), "o\\27malley@sip.localhost");
  EXPECT_TRUE(rosterItem("sip:o'malley@sip.localhost", "bob@localhost"));
}

// --- anti-spoofing and what has no service ----------------------------------------------------

TEST_F(BridgeTest, MessageFromANonBridgedDomainIsRefusedNotAllowed) {
  for (std::string_view from : {"x@evil.example/r", "x@sip.localhost/r"}) {
    sent_.clear();
    receive(chat(from, "alice@sip.localhost", "hi"));
    ASSERT_EQ(sent_.size(), 1u) << from;
    const gloox::Tag& e = *sent_[0].tag;
    EXPECT_EQ(attr(e, "type"), "error");
    EXPECT_EQ(attr(e, "id"), "m1");
    EXPECT_EQ(attr(e, "from"), "alice@sip.localhost");
    EXPECT_EQ(attr(e, "to"), from);
    EXPECT_EQ(errorCondition(e), "not-allowed");
    EXPECT_EQ(attr(*e.findChild("error"), "type"), "cancel");
  }
  EXPECT_TRUE(originated_.empty());
  EXPECT_EQ(bridge().stats().refused, 2u);
}

TEST_F(BridgeTest, PresenceFromANonBridgedDomainIsIgnored) {
  receive(presence("x@evil.example/r", "alice@sip.localhost"));
  receive(presence("x@evil.example/r", "alice@sip.localhost", "unavailable"));
  receive(presence("x@evil.example", "alice@sip.localhost", "subscribed"));
  receive(presence("x@sip.localhost/r", "alice@sip.localhost"));
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(changed_.empty());
  EXPECT_EQ(contacts_.keys(), 0u);
  EXPECT_FALSE(rosterItem(kAlice, "x@evil.example"));
  EXPECT_FALSE(rosterItem(kAlice, "x@sip.localhost"));
}

TEST_F(BridgeTest, SubscribeFromANonBridgedDomainIsNeverApproved) {
  receive(presence("x@evil.example", "alice@sip.localhost", "subscribe"));
  for (const auto& s : sent_) EXPECT_NE(attr(*s.tag, "type"), "subscribed") << s.xml;
  EXPECT_FALSE(rosterItem(kAlice, "x@evil.example"));
}

TEST_F(BridgeTest, StanzaToAnotherDomainIsIgnored) {
  // An answer would have to come from that domain: the server closes the whole
  // component stream for a 'from' outside the component's domain.
  receive(chat("bob@localhost/phone", "alice@elsewhere.example", "hi"));
  receive(chat("x@evil.example/r", "alice@elsewhere.example", "hi"));
  receive(presence("bob@localhost", "alice@elsewhere.example", "subscribe"));
  receive(presence("bob@localhost", "alice@elsewhere.example", "probe"));
  receive(chat("bob@localhost/phone", "not a jid@", "hi"));
  EXPECT_TRUE(sent_.empty()) << (sent_.empty() ? "" : sent_[0].xml);
  EXPECT_TRUE(originated_.empty());
  EXPECT_FALSE(rosterItem("sip:alice@sip.localhost", "bob@localhost"));
}

TEST_F(BridgeTest, MessageToTheBareComponentIsServiceUnavailable) {
  receive(chat("bob@localhost/phone", "sip.localhost", "hi"));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(errorCondition(*sent_[0].tag), "service-unavailable");
  EXPECT_EQ(attr(*sent_[0].tag, "from"), "sip.localhost");
  sent_.clear();
  receive(presence("bob@localhost/phone", "sip.localhost"));
  EXPECT_TRUE(sent_.empty()) << "directed presence to the gateway is noted by nobody";
  EXPECT_TRUE(originated_.empty());
}

TEST_F(BridgeTest, GroupchatIsServiceUnavailable) {
  receive(chat("room@localhost/nick", "alice@sip.localhost", "hi all", "groupchat"));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(errorCondition(*sent_[0].tag), "service-unavailable");
  EXPECT_EQ(attr(*sent_[0].tag, "id"), "m1");
  EXPECT_TRUE(originated_.empty());
}

TEST_F(BridgeTest, ChatStateWithoutBodyOriginatesNothing) {
  auto composing = chat("bob@localhost/phone", "alice@sip.localhost", "");
  new gloox::Tag(composing.get(), "composing", "xmlns", "http://jabber.org/protocol/chatstates");
  receive(composing);
  EXPECT_TRUE(originated_.empty());
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, AnErrorFromANonBridgedDomainIsNotAnswered) {
  receive(chat("x@evil.example/r", "alice@sip.localhost", "", "error"));
  EXPECT_TRUE(sent_.empty());
}

// --- XMPP message → SIP MESSAGE -------------------------------------------------------------------

TEST_F(BridgeTest, MessageIsOriginatedFromTheSendersGruuToTheSipUser) {
  auto m = chat("bob@localhost/phone", "alice@sip.localhost", "hello alice");
  m->addAttribute("xml:lang", "en");
  new gloox::Tag(m.get(), "subject", "Greetings");
  receive(m);
  ASSERT_EQ(originated_.size(), 1u);
  const auto& out = originated_[0].msg;
  EXPECT_EQ(out.from, "sip:bob@localhost;gr=phone");
  EXPECT_EQ(out.to, "sip:alice@sip.localhost");
  EXPECT_EQ(out.body, "hello alice");
  EXPECT_EQ(out.contentType, "text/plain;charset=UTF-8");
  using Row = std::pair<HeaderId, std::string>;
  EXPECT_EQ(out.headers, (std::vector<Row>{{HeaderId::Subject, "Greetings"}, {HeaderId::ContentLanguage, "en"}}));
  EXPECT_EQ(bridge().stats().messagesToSip, 1u);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, FailedDeliveryBouncesWithTheMappedConditionAndTheOriginalId) {
  receive(chat("bob@localhost/phone", "alice@sip.localhost", "hello", "chat", "abc-7"));
  ASSERT_EQ(originated_.size(), 1u);
  EXPECT_TRUE(sent_.empty()) << "held until the SIP final response";
  originated_[0].done(480, "Temporarily Unavailable");
  ASSERT_EQ(sent_.size(), 1u);
  const gloox::Tag& e = *sent_[0].tag;
  EXPECT_EQ(e.name(), "message");
  EXPECT_EQ(attr(e, "type"), "error");
  EXPECT_EQ(attr(e, "id"), "abc-7");
  EXPECT_EQ(attr(e, "from"), "alice@sip.localhost");
  EXPECT_EQ(attr(e, "to"), "bob@localhost/phone");
  EXPECT_EQ(errorCondition(e), "recipient-unavailable");
  EXPECT_EQ(attr(*e.findChild("error"), "type"), "wait");
  EXPECT_EQ(bridge().stats().messageErrors, 1u);
}

TEST_F(BridgeTest, SuccessfulDeliveryIsNotAnswered) {
  receive(chat("bob@localhost/phone", "alice@sip.localhost", "hello"));
  ASSERT_EQ(originated_.size(), 1u);
  originated_[0].done(200, "OK");
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(bridge().stats().messageErrors, 0u);
}

TEST_F(BridgeTest, MessageTooLargeForSipIsAPolicyViolation) {
  receive(chat("bob@localhost/phone", "alice@sip.localhost", std::string(1300, 'x')));
  EXPECT_TRUE(originated_.empty());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(errorCondition(*sent_[0].tag), "policy-violation");
  EXPECT_EQ(attr(*sent_[0].tag->findChild("error"), "type"), "modify");
  sent_.clear();
  receive(chat("bob@localhost/phone", "alice@sip.localhost", std::string(900, 'x')));
  EXPECT_EQ(originated_.size(), 1u) << "under the limit: sent";
  EXPECT_TRUE(sent_.empty());
}

// --- SIP MESSAGE → XMPP ---------------------------------------------------------------------------

TEST_F(BridgeTest, PlainTextBecomesAMessageStanzaAnsweredWith202AfterTheWait) {
  sipMessage("sip:bob@localhost", "hi bob", "Content-Type: text/plain;charset=UTF-8\nSubject: Lunch?\nContent-Language: en");
  ASSERT_EQ(sent_.size(), 1u);
  const gloox::Tag& m = *sent_[0].tag;
  EXPECT_EQ(m.name(), "message");
  EXPECT_EQ(attr(m, "from"), "alice@sip.localhost");
  EXPECT_EQ(attr(m, "to"), "bob@localhost");
  EXPECT_EQ(attr(m, "type"), "chat");
  EXPECT_EQ(attr(m, "xml:lang"), "en");
  EXPECT_FALSE(attr(m, "id").empty());
  EXPECT_EQ(childText(m, "subject"), "Lunch?");
  EXPECT_EQ(childText(m, "body"), "hi bob");
  EXPECT_TRUE(responses().empty()) << "held for a bounce";
  ASSERT_EQ(timers_.size(), 1u);
  EXPECT_EQ(timers_.begin()->second.delay, 300ms);
  fireTimers();
  EXPECT_EQ(answeredWith(), 202);
  EXPECT_EQ(bridge().stats().messagesToXmpp, 1u);
}

TEST_F(BridgeTest, MessageTypeComesFromTheOptions) {
  options_.messageType = "normal";
  sipMessage("sip:bob@localhost", "hi");
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(attr(*sent_[0].tag, "type"), "normal");
}

TEST_F(BridgeTest, BounceBeforeTheTimerIsAnsweredWithTheMappedCode) {
  sipMessage("sip:bob@localhost", "hi bob");
  ASSERT_EQ(sent_.size(), 1u);
  auto bounce = xmpp::errorReply(*sent_[0].tag, "service-unavailable", "cancel");
  receive(bounce);
  EXPECT_EQ(answeredWith(), 403) << "service-unavailable: never 503 (RFC 7247 §7.1)";
  ASSERT_EQ(timers_.size(), 1u);
  EXPECT_TRUE(timers_.begin()->second.cancelled);
  receive(bounce);  // a late duplicate
  fireTimers();
  EXPECT_TRUE(responses().empty());
}

TEST_F(BridgeTest, BounceOfAMessageToAGruuUsesTheFullJidCode) {
  sipMessage("sip:bob@localhost;gr=laptop", "hi");
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(attr(*sent_[0].tag, "to"), "bob@localhost/laptop");
  receive(xmpp::errorReply(*sent_[0].tag, "item-not-found", "cancel"));
  EXPECT_EQ(answeredWith(), 404);
  sipMessage("sip:bob@localhost", "hi");
  ASSERT_EQ(sent_.size(), 2u);
  receive(xmpp::errorReply(*sent_[1].tag, "item-not-found", "cancel"));
  EXPECT_EQ(answeredWith(), 604) << "bare JID";
}

TEST_F(BridgeTest, BounceFromTheServerItselfIsAnsweredToo) {
  sipMessage("sip:bob@localhost", "hi bob");
  ASSERT_EQ(sent_.size(), 1u);
  auto bounce = xmpp::errorReply(*sent_[0].tag, "remote-server-timeout", "wait");
  bounce->addAttribute("from", "localhost");
  receive(bounce);
  EXPECT_EQ(answeredWith(), 480) << "remote-server-timeout maps to 408, which a non-INVITE never gets (RFC 4320)";
}

TEST_F(BridgeTest, BounceAfterThe202IsOnlyLogged) {
  sipMessage("sip:bob@localhost", "hi");
  fireTimers();
  EXPECT_EQ(answeredWith(), 202);
  receive(xmpp::errorReply(*sent_[0].tag, "service-unavailable", "cancel"));
  EXPECT_TRUE(responses().empty());
  EXPECT_EQ(sent_.size(), 1u) << "an error is never answered";
}

TEST_F(BridgeTest, ZeroWaitAnswers202AtOnce) {
  options_.messageWait = 0ms;
  sipMessage("sip:bob@localhost", "hi");
  EXPECT_EQ(sent_.size(), 1u);
  EXPECT_EQ(answeredWith(), 202);
  EXPECT_TRUE(timers_.empty());
}

TEST_F(BridgeTest, CpimIsUnwrappedToItsText) {
  options_.messageWait = 0ms;
  sipMessage("sip:bob@localhost",
             "From: <sip:alice@sip.localhost>\r\nTo: <sip:bob@localhost>\r\nDateTime: 2024-01-01T00:00:00Z\r\n\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n\r\nhi from cpim",
             "Content-Type: message/cpim");
  EXPECT_EQ(answeredWith(), 202);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(childText(*sent_[0].tag, "body"), "hi from cpim");
}

TEST_F(BridgeTest, HtmlIsStrippedToText) {
  options_.messageWait = 0ms;
  sipMessage("sip:bob@localhost", "<p>Fish &amp; <b>chips</b>?</p>", "Content-Type: text/html");
  EXPECT_EQ(answeredWith(), 202);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(childText(*sent_[0].tag, "body"), "Fish & chips?");
}

TEST_F(BridgeTest, OtherContentTypeGets415WithAccept) {
  sipMessage("sip:bob@localhost", "{}", "Content-Type: application/json");
  auto r = responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].statusCode(), 415);
  EXPECT_EQ(header(r[0], HeaderId::Accept), "text/plain, message/cpim, text/html");
  sipMessage("sip:bob@localhost", "hi", "Content-Type: text/plain;charset=iso-8859-1");
  EXPECT_EQ(answeredWith(), 415) << "only UTF-8 text";
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, SenderOutsideTheSipDomainGets403) {
  sipMessage("sip:bob@localhost", "hi", "Content-Type: text/plain", "sip:mallory@evil.example");
  EXPECT_EQ(answeredWith(), 403);
  sipMessage("sip:bob@localhost", "hi", "Content-Type: text/plain", "sip:carol@localhost");
  EXPECT_EQ(answeredWith(), 403) << "an XMPP user cannot speak through the gateway";
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(bridge().stats().refused, 2u);
}

TEST_F(BridgeTest, SipsTargetGets480) {
  sipMessage("sips:bob@localhost", "hi");
  EXPECT_EQ(answeredWith(), 480);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, TargetOutsideTheXmppDomainsGets404) {
  sipMessage("sip:bob@sip.localhost", "hi");
  EXPECT_EQ(answeredWith(), 404);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, ControlCharactersAreDroppedFromTheBody) {
  options_.messageWait = 0ms;
  sipMessage("sip:bob@localhost", std::string("a\x01" "b\x1b[0m\tc\r\nd\0e", 14));
  EXPECT_EQ(answeredWith(), 202);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(childText(*sent_[0].tag, "body"), "ab[0m\tc\r\nde");
}

TEST_F(BridgeTest, BodyThatIsNotUtf8Gets400) {
  // Stray byte, truncated sequence, overlong NUL, UTF-16 surrogate, beyond U+10FFFF:
  // any of them in a stanza makes the server close the whole component stream.
  for (std::string_view bad : {"a\xff", "a\xc3", "a\xc0\x80", "a\xed\xa0\x80", "a\xf4\x90\x80\x80", "a\xf8\x88\x80\x80\x80"}) {
    sipMessage("sip:bob@localhost", bad);
    EXPECT_EQ(answeredWith(), 400) << testing::PrintToString(bad);
  }
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, CharactersXmlForbidsAreDroppedAndTheRestIsKept) {
  options_.messageWait = 0ms;
  sipMessage("sip:bob@localhost", "\xef\xbf\xbe" "f\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf");
  EXPECT_EQ(answeredWith(), 202);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(childText(*sent_[0].tag, "body"), "f\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80") << "U+FFFE and U+FFFF dropped";
}

TEST_F(BridgeTest, BodyOfOnlyControlCharactersGets400) {
  sipMessage("sip:bob@localhost", "\x01\x02");
  EXPECT_EQ(answeredWith(), 400);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, RefusedSendGets503) {
  sendAccepts_ = false;
  sipMessage("sip:bob@localhost", "hi");
  auto r = responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].statusCode(), 503);
  EXPECT_FALSE(header(r[0], HeaderId::RetryAfter).empty());
  EXPECT_TRUE(timers_.empty());
}

// --- SIP users watching XMPP contacts (ExternalPresence) ------------------------------------

TEST_F(BridgeTest, OwnsTheAorsOfTheXmppDomainsOnly) {
  EXPECT_TRUE(bridge().owns(kBobAor));
  EXPECT_FALSE(bridge().owns(kAlice));
  EXPECT_FALSE(bridge().owns("sip:bob@evil.example"));
  EXPECT_FALSE(bridge().owns("sips:bob@localhost"));
  EXPECT_FALSE(bridge().owns("sip:localhost"));
}

TEST_F(BridgeTest, SubscribeAsksTheContactOnceFromTheWatchersBareJid) {
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].xml, "<presence from='carol@sip.localhost' to='bob@localhost' type='subscribe'/>");
  EXPECT_EQ(stateOf(kCarol, kBobAor).authorization, Authorization::Pending);
  EXPECT_TRUE(stateOf(kCarol, kBobAor).pidf.empty());
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  bridge().watching(kCarol, kBobAor, Watch::Refresh);
  EXPECT_EQ(sent_.size(), 1u) << "one pending request per pair";
  EXPECT_TRUE(rosterItem(kCarol, "bob@localhost")->pendingOut);
}

TEST_F(BridgeTest, SubscribedMakesTheWatchActiveWithAClosedDocumentWhileNothingIsKnown) {
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  receive(presence("bob@localhost", "carol@sip.localhost", "subscribed"));
  EXPECT_EQ(changed_, (std::vector<std::string>{std::string(kBobAor)}));
  auto s = stateOf(kCarol, kBobAor);
  EXPECT_EQ(s.authorization, Authorization::Active);
  EXPECT_NE(s.pidf.find("<basic>closed</basic>"), std::string::npos) << s.pidf;
  EXPECT_NE(s.pidf.find("entity=\"sip:bob@localhost\""), std::string::npos) << s.pidf;
  auto item = rosterItem(kCarol, "bob@localhost");
  EXPECT_TRUE(item->to);
  EXPECT_FALSE(item->pendingOut);
}

TEST_F(BridgeTest, ContactPresenceIsCachedPerResourceAndAnnouncedOnce) {
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  receive(presence("bob@localhost", "carol@sip.localhost", "subscribed"));
  changed_.clear();
  auto away = presence("bob@localhost/phone", "carol@sip.localhost");
  new gloox::Tag(away.get(), "show", "away");
  new gloox::Tag(away.get(), "status", "Lunch");
  receive(away);
  EXPECT_EQ(changed_.size(), 1u);
  auto s = stateOf(kCarol, kBobAor);
  EXPECT_EQ(s.authorization, Authorization::Active);
  EXPECT_NE(s.pidf.find("<basic>open</basic>"), std::string::npos) << s.pidf;
  EXPECT_NE(s.pidf.find("ID-phone"), std::string::npos) << s.pidf;
  EXPECT_NE(s.pidf.find("Lunch"), std::string::npos) << s.pidf;

  // The same broadcast reaching another SIP user of ours is no news.
  auto copy = presence("bob@localhost/phone", "dave@sip.localhost");
  new gloox::Tag(copy.get(), "show", "away");
  new gloox::Tag(copy.get(), "status", "Lunch");
  receive(copy);
  EXPECT_EQ(changed_.size(), 1u);

  receive(presence("bob@localhost/laptop", "carol@sip.localhost"));
  EXPECT_EQ(changed_.size(), 2u);
  s = stateOf(kCarol, kBobAor);
  EXPECT_NE(s.pidf.find("ID-laptop"), std::string::npos) << s.pidf;
  EXPECT_NE(s.pidf.find("ID-phone"), std::string::npos) << s.pidf;

  receive(presence("bob@localhost/phone", "carol@sip.localhost", "unavailable"));
  receive(presence("bob@localhost/laptop", "carol@sip.localhost", "unavailable"));
  EXPECT_EQ(changed_.size(), 4u);
  receive(presence("bob@localhost/laptop", "dave@sip.localhost", "unavailable"));
  EXPECT_EQ(changed_.size(), 4u) << "already gone";
  s = stateOf(kCarol, kBobAor);
  EXPECT_NE(s.pidf.find("<basic>closed</basic>"), std::string::npos) << s.pidf;
  EXPECT_EQ(bridge().stats().presenceIn, 6u);
}

TEST_F(BridgeTest, UnsubscribedRejectsTheWatch) {
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  receive(presence("bob@localhost", "carol@sip.localhost", "unsubscribed"));
  EXPECT_EQ(changed_, (std::vector<std::string>{std::string(kBobAor)}));
  EXPECT_EQ(stateOf(kCarol, kBobAor).authorization, Authorization::Rejected);
  sent_.clear();
  bridge().watching(kCarol, kBobAor, Watch::Refresh);
  EXPECT_TRUE(sent_.empty()) << "a refused refresh does not ask again";
}

TEST_F(BridgeTest, SubscribedNobodyAskedForIsIgnored) {
  receive(presence("bob@localhost", "carol@sip.localhost", "subscribed"));
  EXPECT_FALSE(rosterItem(kCarol, "bob@localhost").value_or(storage::RosterItem{}).to);
  EXPECT_EQ(stateOf(kCarol, kBobAor).authorization, Authorization::Pending) << "not asked yet";
}

TEST_F(BridgeTest, PresenceErrorFromTheContactRejectsTheWatch) {
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  receive(presence("bob@localhost", "carol@sip.localhost", "error"));
  EXPECT_EQ(stateOf(kCarol, kBobAor).authorization, Authorization::Rejected);
}

TEST_F(BridgeTest, UnsubscribeSendsDirectedUnavailableAndKeepsTheAuthorization) {
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  receive(presence("bob@localhost", "carol@sip.localhost", "subscribed"));
  sent_.clear();
  bridge().watching(kCarol, kBobAor, Watch::Unsubscribe);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].xml, "<presence from='carol@sip.localhost' to='bob@localhost' type='unavailable'/>");
  EXPECT_TRUE(rosterItem(kCarol, "bob@localhost")->to);
}

TEST_F(BridgeTest, AuthorizedRefreshProbesOnlyWhenNothingIsCached) {
  bridge().watching(kCarol, kBobAor, Watch::Subscribe);
  receive(presence("bob@localhost", "carol@sip.localhost", "subscribed"));
  sent_.clear();
  bridge().watching(kCarol, kBobAor, Watch::Refresh);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].xml, "<presence from='carol@sip.localhost' to='bob@localhost' type='probe'/>");
  receive(presence("bob@localhost/phone", "carol@sip.localhost"));
  sent_.clear();
  bridge().watching(kCarol, kBobAor, Watch::Refresh);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, WatcherOrContactThatDoesNotMapIsRejected) {
  EXPECT_EQ(stateOf("sip:mallory@evil.example", kBobAor).authorization, Authorization::Rejected);
  EXPECT_EQ(stateOf(kCarol, "sip:localhost").authorization, Authorization::Rejected);
  bridge().watching("sip:mallory@evil.example", kBobAor, Watch::Subscribe);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BridgeTest, LinkUpReannouncesToSubscribersAndProbesFollowedContacts) {
  docs_[std::string(kAlice)] = document(kAlice, true);
  subscribedBy("bob@localhost", "alice@sip.localhost");
  bridge().onSipPresenceChanged(kAlice);
  bridge().watching(kCarol, "sip:dave@localhost", Watch::Subscribe);
  bridge().watching(kCarol, "sip:erin@localhost", Watch::Subscribe);
  bridge().watching(kCarol, "sip:erin@localhost", Watch::Unsubscribe);
  bridge().watching(kAlice, "sip:frank@localhost", Watch::Fetch);
  sent_.clear();
  bridge().onLinkDown();
  bridge().onLinkUp();
  std::vector<std::string> xml;
  for (const auto& s : sent_) xml.push_back(s.xml);
  EXPECT_EQ(xml, (std::vector<std::string>{
                     "<presence from='alice@sip.localhost' to='bob@localhost'><priority>0</priority></presence>",
                     "<presence from='carol@sip.localhost' to='dave@localhost' type='probe'/>",
                 }))
      << "the last state again (the server forgot it), and no probe for a fetch or an ended watch";
}

}  // namespace
}  // namespace parley::bridge
