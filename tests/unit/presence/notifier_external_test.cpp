// The Notifier serving presentities of another world (RFC 8048 §5.3 through
// presence::ExternalPresence): the SIP dialog is the Notifier's, the state and
// the watcher's authorization are the source's (a fake here).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "parley/presence/notifier.hpp"
#include "parley/sip/parser.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "parley/storage/memory_subscription_store.hpp"
#include "sip_test_support.hpp"

namespace parley::presence {
namespace {
using namespace std::chrono_literals;
using sip::HeaderId;
using Authorization = ExternalPresence::Authorization;
using Watch = ExternalPresence::Watch;

constexpr std::string_view kBob = "sip:bob@localhost";  // an XMPP contact
constexpr std::string_view kDave = "sip:dave@localhost";
constexpr std::string_view kAlice = "sip:alice@sip.localhost";  // a SIP user of ours
constexpr std::string_view kCarol = "sip:carol@sip.localhost";  // the watcher
constexpr std::string_view kPidf =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@localhost\">"
    "<tuple id=\"ID-phone\"><status><basic>open</basic></status></tuple></presence>";

const sip::Peer kWatcher{sip::Transport::Udp, "192.0.2.7", 5070, 0, 0};

sip::Message parse(std::string_view bytes) {
  auto m = sip::Parser{}.parseDatagram(bytes);
  EXPECT_TRUE(m) << bytes;
  return m ? std::move(*m) : sip::Message{};
}

std::string header(const sip::Message& m, HeaderId id) { return std::string(m.header(id).value_or("")); }

// The other world: owns a fixed set of AORs and says for each (watcher, AOR)
// what the test set; records what the Notifier reports.
class FakeExternal final : public ExternalPresence {
 public:
  struct Call {
    std::string watcher, aor;
    Watch what;
    bool operator==(const Call&) const = default;
  };

  [[nodiscard]] bool owns(std::string_view aor) const override { return owned.contains(std::string(aor)); }
  void watching(std::string_view watcher, std::string_view aor, Watch what) override {
    calls.push_back({std::string(watcher), std::string(aor), what});
  }
  void state(std::string_view watcher, std::string_view aor, std::function<void(State)> done) override {
    asked.emplace_back(std::string(watcher), std::string(aor));
    auto it = states.find(std::string(aor));
    done(it != states.end() ? it->second : State{});
  }

  std::set<std::string, std::less<>> owned{std::string(kBob), std::string(kDave)};
  std::map<std::string, State> states;  // by AOR; absent: pending
  std::vector<Call> calls;
  std::vector<std::pair<std::string, std::string>> asked;
};

struct Dialog {
  std::string callId, fromTag, toTag;
  std::uint32_t cseq = 1;
};

class NotifierExternalTest : public ::testing::Test {
 protected:
  NotifierExternalTest()
      : stack_(stackOptions(), sink_),
        publisher_(publishOptions(), publications_),
        notifier_(notifyOptions(), stack_, subscriptions_, publisher_) {
    stack_.registerMethod(publisher_.registration());
    stack_.registerMethod(notifier_.registration());
    publisher_.setListener([this](const PublicationChange& c) { notifier_.onPublication(c); });
    notifier_.setExternal(&external_);
  }
  simple::StackOptions stackOptions() {
    simple::StackOptions o;
    o.domains = {"sip.localhost", "localhost"};  // the core lets the XMPP domain through
    o.clock = [this] { return now_; };
    return o;
  }
  PublishOptions publishOptions() {
    PublishOptions o;
    o.expiry = {60s, 3600s, 3600s};
    o.wallClock = [this] { return wall_; };
    return o;
  }
  NotifyOptions notifyOptions() {
    NotifyOptions o;
    o.expiry = {60s, 3600s, 3600s};
    o.wallClock = [this] { return wall_; };
    o.sentBy = [](const sip::Peer&) { return std::string("198.51.100.1:5060"); };
    return o;
  }

  void advance(std::chrono::milliseconds d) {
    now_ += d;
    wall_ += d;
    stack_.advance(now_);
  }

  // A SUBSCRIBE from carol; returns the response. `rows`: extra header rows ("\n"-separated).
  sip::Message subscribe(Dialog& d, std::string_view rows, std::string_view ruri = kBob) {
    const std::string n = std::to_string(++n_);
    if (d.callId.empty()) {
      d.callId = "sub-" + n;
      d.fromTag = "w" + n;
    }
    std::string text = "SUBSCRIBE " + std::string(ruri) +
                       " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK-s" + n +
                       "\r\nMax-Forwards: 70\r\nTo: <" + std::string(ruri) + ">" +
                       (d.toTag.empty() ? "" : ";tag=" + d.toTag) + "\r\nFrom: <" + std::string(kCarol) +
                       ">;tag=" + d.fromTag + "\r\nCall-ID: " + d.callId + "\r\nCSeq: " +
                       std::to_string(d.cseq++) + " SUBSCRIBE\r\nContact: <sip:carol@192.0.2.7:5070>\r\n";
    test::appendRows(text, rows);
    text += "Content-Length: 0\r\n\r\n";
    const std::size_t before = sink_.sent.size();
    stack_.onDatagram(text, kWatcher, now_);
    for (std::size_t i = before; i < sink_.sent.size(); ++i) {
      if (sink_.sent[i].bytes.starts_with("SIP/2.0")) {
        auto r = parse(sink_.sent[i].bytes);
        if (r.statusCode() < 300 && d.toTag.empty()) d.toTag = std::string(r.to().tag());
        return r;
      }
    }
    ADD_FAILURE() << "no response";
    return {};
  }

  // NOTIFYs sent since the last call.
  std::vector<sip::Message> newNotifies() {
    std::vector<sip::Message> out;
    for (; seen_ < sink_.sent.size(); ++seen_)
      if (sink_.sent[seen_].bytes.starts_with("NOTIFY ")) out.push_back(parse(sink_.sent[seen_].bytes));
    return out;
  }

  // The watcher's answer to a NOTIFY.
  void answer(const sip::Message& notify, int code) {
    std::string text = "SIP/2.0 " + std::to_string(code) + " Whatever\r\n";
    for (const auto& h : notify.headers())
      if (h.id == HeaderId::Via || h.id == HeaderId::From || h.id == HeaderId::CallId || h.id == HeaderId::CSeq)
        text += std::string(sip::headerName(h.id)) + ": " + std::string(h.value) + "\r\n";
    text += "To: " + header(notify, HeaderId::To) + "\r\nContent-Length: 0\r\n\r\n";
    stack_.onDatagram(text, kWatcher, now_);
  }

  // Subscribes carol to `aor`, answers the first NOTIFY; returns the dialog.
  Dialog watch(std::string_view aor = kBob) {
    Dialog d;
    EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600", aor).statusCode(), 200);
    auto n = newNotifies();
    EXPECT_EQ(n.size(), 1u);
    if (!n.empty()) answer(n[0], 200);
    return d;
  }

  void setState(std::string_view aor, Authorization a, std::string_view pidf = {}) {
    external_.states[std::string(aor)] = ExternalPresence::State{a, std::string(pidf)};
  }

  txn::TimePoint now_ = txn::TimePoint{} + 1000s;
  storage::WallTime wall_ = storage::WallTime{} + std::chrono::hours(24 * 365 * 50);
  test::RecordingSink sink_;
  simple::SipStack stack_;
  storage::MemoryListStore<storage::Publication> publications_;
  storage::MemorySubscriptionStore subscriptions_;
  Publisher publisher_;
  Notifier notifier_;
  FakeExternal external_;
  std::size_t seen_ = 0;
  int n_ = 0;
};

TEST_F(NotifierExternalTest, SubscribeToAnOwnedAorGets200ThenAPendingNotifyWithoutBody) {
  Dialog d;
  auto r = subscribe(d, "Event: presence\nExpires: 600");
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(header(r, HeaderId::Expires), "600");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "pending;expires=600");
  EXPECT_EQ(n[0].count(HeaderId::ContentType), 0u);
  EXPECT_TRUE(n[0].body().empty());
  EXPECT_EQ(header(n[0], HeaderId::Event), "presence");
  EXPECT_EQ(n[0].callId(), d.callId);
  EXPECT_EQ(external_.calls, (std::vector<FakeExternal::Call>{{std::string(kCarol), std::string(kBob), Watch::Subscribe}}));
  ASSERT_EQ(external_.asked.size(), 1u);
  EXPECT_EQ(external_.asked[0], std::make_pair(std::string(kCarol), std::string(kBob)));
}

TEST_F(NotifierExternalTest, ApprovalIsNotifiedActiveWithThePidf) {
  watch();
  setState(kBob, Authorization::Active, kPidf);
  advance(100s);
  notifier_.onExternalChange(kBob);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "active;expires=500");
  EXPECT_EQ(header(n[0], HeaderId::ContentType), "application/pidf+xml");
  EXPECT_EQ(n[0].body(), kPidf);
  EXPECT_EQ(header(n[0], HeaderId::CSeq), "2 NOTIFY");
}

TEST_F(NotifierExternalTest, ActiveWithNothingKnownIsNotifiedWithoutBody) {
  watch();
  setState(kBob, Authorization::Active);
  notifier_.onExternalChange(kBob);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "active;expires=600");
  EXPECT_EQ(n[0].count(HeaderId::ContentType), 0u);
  EXPECT_TRUE(n[0].body().empty());
}

TEST_F(NotifierExternalTest, RejectionTerminatesTheSubscriptionAndARefreshGets481) {
  Dialog d = watch();
  setState(kBob, Authorization::Rejected);
  notifier_.onExternalChange(kBob);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=rejected");
  EXPECT_EQ(n[0].count(HeaderId::ContentType), 0u);
  EXPECT_TRUE(n[0].body().empty());
  answer(n[0], 200);
  EXPECT_EQ(notifier_.watches(), 0u);
  EXPECT_EQ(notifier_.stats().ended, 1u);
  notifier_.onExternalChange(kBob);
  EXPECT_TRUE(newNotifies().empty()) << "the subscription is gone";
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 481);
}

TEST_F(NotifierExternalTest, AlreadyRejectedWatcherGets200AndATerminatingNotify) {
  setState(kBob, Authorization::Rejected);
  Dialog d;
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 200);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=rejected");
  EXPECT_EQ(notifier_.watches(), 0u);
}

TEST_F(NotifierExternalTest, DialogPackageToAnOwnedAorGets489AllowingPresenceOnly) {
  Dialog d;
  auto r = subscribe(d, "Event: dialog\nExpires: 600");
  EXPECT_EQ(r.statusCode(), 489);
  EXPECT_EQ(header(r, HeaderId::AllowEvents), "presence");
  EXPECT_TRUE(newNotifies().empty());
  EXPECT_TRUE(external_.calls.empty());
}

TEST_F(NotifierExternalTest, UnsubscribeIsReportedAndGetsATerminatedNotifyWithTheState) {
  Dialog d = watch();
  setState(kBob, Authorization::Active, kPidf);
  auto r = subscribe(d, "Event: presence\nExpires: 0");
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(external_.calls.back(), (FakeExternal::Call{std::string(kCarol), std::string(kBob), Watch::Unsubscribe}));
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  EXPECT_EQ(n[0].body(), kPidf);
  EXPECT_EQ(notifier_.watches(), 0u);
  EXPECT_EQ(subscriptions_.size(), 0u);
}

TEST_F(NotifierExternalTest, UnsubscribeWhilePendingGetsATerminatedNotifyWithoutBody) {
  Dialog d = watch();
  subscribe(d, "Event: presence\nExpires: 0");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  EXPECT_TRUE(n[0].body().empty());
  EXPECT_EQ(n[0].count(HeaderId::ContentType), 0u);
}

TEST_F(NotifierExternalTest, WatchKindsAreReportedAsSubscribeRefreshUnsubscribeAndFetch) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 200);
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 200);
  subscribe(d, "Event: presence\nExpires: 0");
  newNotifies();
  Dialog poll;
  EXPECT_EQ(subscribe(poll, "Event: presence\nExpires: 0", kDave).statusCode(), 200);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  const std::string carol(kCarol), bob(kBob), dave(kDave);
  EXPECT_EQ(external_.calls, (std::vector<FakeExternal::Call>{{carol, bob, Watch::Subscribe},
                                                               {carol, bob, Watch::Refresh},
                                                               {carol, bob, Watch::Unsubscribe},
                                                               {carol, dave, Watch::Fetch}}));
}

TEST_F(NotifierExternalTest, ChangesDuringAnOutstandingNotifyCollapseIntoOne) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  auto first = newNotifies();  // not answered yet
  ASSERT_EQ(first.size(), 1u);
  setState(kBob, Authorization::Active);
  notifier_.onExternalChange(kBob);
  setState(kBob, Authorization::Active, kPidf);
  notifier_.onExternalChange(kBob);
  EXPECT_TRUE(newNotifies().empty()) << "one NOTIFY outstanding per watcher";
  answer(first[0], 200);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "active;expires=600");
  EXPECT_EQ(n[0].body(), kPidf) << "the newest state";
}

TEST_F(NotifierExternalTest, OnlyTheWatchersOfTheChangedAorAreNotified) {
  watch(kBob);
  watch(kDave);
  setState(kBob, Authorization::Active, kPidf);
  external_.asked.clear();
  notifier_.onExternalChange(kBob);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].body(), kPidf);
  EXPECT_EQ(external_.asked, (std::vector<std::pair<std::string, std::string>>{{std::string(kCarol), std::string(kBob)}}));
}

TEST_F(NotifierExternalTest, ExpiryEndsWithATerminatedNotify) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 60");
  answer(newNotifies().at(0), 200);
  setState(kBob, Authorization::Active, kPidf);
  advance(60s);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  EXPECT_EQ(n[0].body(), kPidf);
  EXPECT_EQ(notifier_.stats().expired, 1u);
}

TEST_F(NotifierExternalTest, AorsTheSourceDoesNotOwnAreServedFromPublications) {
  Dialog d;
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600", kAlice).statusCode(), 200);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "active;expires=600");
  EXPECT_NE(n[0].body().find("<basic>closed</basic>"), std::string_view::npos) << "the neutral document";
  EXPECT_TRUE(external_.calls.empty());
  EXPECT_TRUE(external_.asked.empty());
  Dialog e;
  EXPECT_EQ(subscribe(e, "Event: dialog\nExpires: 600", kAlice).statusCode(), 200);
}

}  // namespace
}  // namespace parley::presence
