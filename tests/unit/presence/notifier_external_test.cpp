// The Notifier serving presentities of another world (RFC 8048 §5.3 through
// presence::ExternalPresence): the SIP dialog is the Notifier's, the state and
// the watcher's authorization are the source's (a fake here).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "notifier_fixture.hpp"

namespace parley::presence {
namespace {
using namespace std::chrono_literals;
using sip::HeaderId;
using Authorization = ExternalPresence::Authorization;
using Watch = ExternalPresence::Watch;
using fixture::Dialog;
using fixture::header;
using fixture::kWatcher;
using fixture::parse;

constexpr std::string_view kBob = "sip:bob@localhost";  // an XMPP contact
constexpr std::string_view kDave = "sip:dave@localhost";
constexpr std::string_view kAlice = "sip:alice@sip.localhost";  // a SIP user of ours
constexpr std::string_view kCarol = "sip:carol@sip.localhost";  // the watcher
constexpr std::string_view kPidf =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@localhost\">"
    "<tuple id=\"ID-phone\"><status><basic>open</basic></status></tuple></presence>";

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

class NotifierExternalTest : public fixture::NotifierFixture {
 protected:
  // The core lets the XMPP domain through.
  NotifierExternalTest()
      : NotifierFixture({"sip.localhost", "localhost"}, 1000,
                        [](const sip::Peer&) { return std::string("198.51.100.1:5060"); }) {
    notifier_.setExternal(&external_);
  }

  // A SUBSCRIBE from carol; returns the response. `rows`: extra header rows ("\n"-separated).
  sip::Message subscribe(Dialog& d, std::string_view rows, std::string_view ruri = kBob) {
    return subscribeAs(d, rows, ruri, ruri, kCarol, "<sip:carol@192.0.2.7:5070>", kWatcher);
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

  FakeExternal external_;
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

// After a restart (Redis), a resumed subscription to another world's AOR is
// reported again, so the bridge knows whom to re-probe, and gets that world's state.
TEST_F(NotifierExternalTest, AResumedSubscriptionIsReportedToTheOtherWorldAgain) {
  watch();
  setState(kBob, Authorization::Active, kPidf);
  parley::test::RecordingSink sink2;
  simple::SipStack stack2(stackOptions({"sip.localhost", "localhost"}), sink2);
  Publisher publisher2(publishOptions(), publications_);
  Notifier notifier2(notifyOptions(1000, [](const sip::Peer&) { return std::string("198.51.100.1:5060"); }), stack2,
                     subscriptions_, publisher2);
  notifier2.setExternal(&external_);
  external_.calls.clear();
  notifier2.resume([](auto) {});
  EXPECT_EQ(external_.calls, (std::vector<FakeExternal::Call>{{std::string(kCarol), std::string(kBob), Watch::Refresh}}));
  ASSERT_EQ(sink2.sent.size(), 1u);
  const auto n = fixture::parse(sink2.sent[0].bytes);
  EXPECT_EQ(header(n, HeaderId::SubscriptionState).rfind("active;expires=", 0), 0u);
  EXPECT_EQ(n.body(), kPidf);
}

}  // namespace
}  // namespace parley::presence
