// What the Notifier does for a node that shares its stores with others (the
// Redis backend, docs/storage.md "Several nodes on one Redis"): it notifies
// its own watchers of another node's change, takes over its subscriptions
// after a restart in the same dialogs, and resynchronises after an outage.
// The memory stores stand in for the shared ones: a second Notifier on a
// second stack over the same stores is the restarted node.
#include "notifier_fixture.hpp"

namespace parley::presence {
namespace {
using namespace std::chrono_literals;
using sip::HeaderId;
using fixture::Dialog;
using fixture::header;
using fixture::kWatcher;

constexpr std::string_view kAlice = "sip:alice@sip.localhost";
constexpr std::string_view kOpen =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@sip.localhost\">"
    "<tuple id=\"t1\"><status><basic>open</basic></status><note>from another node</note></tuple></presence>";

// The node started again: a new stack and notifier on the same stores.
struct Restarted {
  Restarted(storage::ListStore<storage::Publication>& publications,
            storage::SubscriptionStore& subscriptions, simple::StackOptions stackOptions, PublishOptions publish,
            NotifyOptions notify)
      : stack(std::move(stackOptions), sink),
        publisher(std::move(publish), publications),
        notifier(std::move(notify), stack, subscriptions, publisher) {}
  parley::test::RecordingSink sink;
  simple::SipStack stack;
  Publisher publisher;
  Notifier notifier;
};

class NotifierClusterTest : public fixture::NotifierFixture {
 protected:
  NotifierClusterTest() : NotifierFixture({"sip.localhost"}, 10, [](const sip::Peer&) { return std::string("198.51.100.1:5060"); }) {}

  sip::Message subscribe(Dialog& d, std::string_view rows = "Event: presence\nExpires: 600") {
    return subscribeAs(d, rows, kAlice, kAlice, "sip:bob@sip.localhost", "<sip:bob@192.0.2.7:5070>", kWatcher);
  }

  // Another node accepted a PUBLISH: the shared store has it; this node was only told.
  void publishElsewhere(std::string_view body) {
    storage::Publication p{"etag-remote", std::string(body), wall_ + 600s, wall_};
    publications_.update(Publisher::key("presence", kAlice), wall_,
                         [p](const storage::Publications&) { return storage::Publications{p}; }, [](auto) {});
  }

  static std::uint32_t cseqOf(const sip::Message& m) { return m.cseq().number; }

  std::unique_ptr<Restarted> restart() {
    return std::make_unique<Restarted>(publications_, subscriptions_, stackOptions({"sip.localhost"}),
                                       publishOptions(), notifyOptions(10, [](const sip::Peer&) {
                                         return std::string("198.51.100.1:5060");
                                       }));
  }
};

TEST_F(NotifierClusterTest, AnotherNodesChangeReachesThisNodesWatchersOnce) {
  Dialog d;
  ASSERT_EQ(subscribe(d).statusCode(), 200);
  auto first = newNotifies();
  ASSERT_EQ(first.size(), 1u);
  answer(first[0], 200);

  publishElsewhere(kOpen);
  notifier_.onRemoteChange("presence", kAlice);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("from another node"), std::string_view::npos);
  EXPECT_EQ(cseqOf(n[0]), cseqOf(first[0]) + 1);
}

TEST_F(NotifierClusterTest, ARemoteChangeOfAnUnknownPackageOrUnwatchedResourceSendsNothing) {
  Dialog d;
  ASSERT_EQ(subscribe(d).statusCode(), 200);
  answer(newNotifies().at(0), 200);
  notifier_.onRemoteChange("message-summary", kAlice);
  notifier_.onRemoteChange("presence", "sip:carol@sip.localhost");
  EXPECT_TRUE(newNotifies().empty());
}

TEST_F(NotifierClusterTest, ARestartedNodeResumesItsSubscriptionsInTheSameDialogs) {
  Dialog d;
  ASSERT_EQ(subscribe(d).statusCode(), 200);
  auto first = newNotifies();
  ASSERT_EQ(first.size(), 1u);
  answer(first[0], 200);
  publishElsewhere(kOpen);

  auto node = restart();
  auto& sink2 = node->sink;
  auto& notifier2 = node->notifier;
  std::optional<tl::expected<std::size_t, storage::StoreError>> resumed;
  notifier2.resume([&](auto n) { resumed = n; });
  ASSERT_TRUE(resumed && *resumed);
  EXPECT_EQ(**resumed, 1u);
  EXPECT_EQ(notifier2.watches(), 1u);

  ASSERT_EQ(sink2.sent.size(), 1u);
  const auto n = fixture::parse(sink2.sent[0].bytes);
  EXPECT_EQ(n.method(), sip::Method::Notify);
  EXPECT_EQ(n.callId(), d.callId);
  EXPECT_EQ(n.from().tag(), d.toTag);
  EXPECT_EQ(n.to().tag(), d.fromTag);
  EXPECT_EQ(cseqOf(n), cseqOf(first[0]) + 1);
  EXPECT_EQ(header(n, HeaderId::SubscriptionState).rfind("active;expires=", 0), 0u);
  EXPECT_NE(n.body().find("from another node"), std::string_view::npos);

  // Resuming again finds nothing new: the watch is already served.
  notifier2.resume([&](auto r) { resumed = r; });
  EXPECT_EQ(**resumed, 0u);
}

TEST_F(NotifierClusterTest, AResumedSubscriptionStillEndsAtItsExpiry) {
  Dialog d;
  ASSERT_EQ(subscribe(d, "Event: presence\nExpires: 60").statusCode(), 200);
  answer(newNotifies().at(0), 200);

  auto node = restart();
  auto& sink2 = node->sink;
  auto& stack2 = node->stack;
  auto& notifier2 = node->notifier;
  notifier2.resume([](auto) {});
  ASSERT_EQ(sink2.sent.size(), 1u);
  stack2.onDatagram(answerText(fixture::parse(sink2.sent[0].bytes), 200), kWatcher, now_);
  now_ += 61s;
  wall_ += 61s;
  stack2.advance(now_);
  std::vector<sip::Message> terminated;
  for (const auto& s : sink2.sent) {
    auto m = fixture::parse(s.bytes);
    if (m.method() == sip::Method::Notify && header(m, HeaderId::SubscriptionState).starts_with("terminated"))
      terminated.push_back(std::move(m));
  }
  ASSERT_EQ(terminated.size(), 1u);
  EXPECT_EQ(header(terminated[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  EXPECT_EQ(notifier2.watches(), 0u);
}

TEST_F(NotifierClusterTest, RenotifyAllSendsEveryWatcherTheCurrentState) {
  Dialog a, b;
  ASSERT_EQ(subscribe(a).statusCode(), 200);
  ASSERT_EQ(subscribe(b).statusCode(), 200);
  for (const auto& m : newNotifies()) answer(m, 200);
  publishElsewhere(kOpen);  // a change this node never heard of (its link was down)
  EXPECT_EQ(notifier_.renotifyAll(), 2u);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 2u);
  for (const auto& m : n) EXPECT_NE(m.body().find("from another node"), std::string_view::npos);
}

}  // namespace
}  // namespace parley::presence
