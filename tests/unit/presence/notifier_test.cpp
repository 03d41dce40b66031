#include "notifier_fixture.hpp"

namespace parley::presence {
namespace {
using namespace std::chrono_literals;
using sip::HeaderId;
using fixture::Dialog;
using fixture::header;
using fixture::kWatcher;
using fixture::parse;

constexpr std::string_view kAlice = "sip:alice@sip.localhost";
constexpr std::string_view kOpen =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@sip.localhost\">"
    "<tuple id=\"t1\"><status><basic>open</basic></status></tuple></presence>";
constexpr std::string_view kConfirmed =
    "<?xml version=\"1.0\"?>\n"
    "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" state=\"full\" "
    "entity=\"sip:alice@sip.localhost\"><dialog id=\"d1\" direction=\"initiator\">"
    "<state>confirmed</state></dialog></dialog-info>";
constexpr std::string_view kTerminated =
    "<?xml version=\"1.0\"?>\n"
    "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"2\" state=\"full\" "
    "entity=\"sip:alice@sip.localhost\"><dialog id=\"d1\" direction=\"initiator\">"
    "<state>terminated</state></dialog></dialog-info>";

const sip::Peer kPbx{sip::Transport::Udp, "192.0.2.9", 5060, 0, 0};

class NotifierTest : public fixture::NotifierFixture {
 protected:
  NotifierTest()
      : NotifierFixture({"sip.localhost"}, 3, [](const sip::Peer& to) {
          return std::string(to.address.find(':') != std::string::npos ? "[2001:db8::1]:5060" : "198.51.100.1:5060");
        }) {}

  // A SUBSCRIBE from bob; returns the response. `rows` are extra header rows ("\n"-separated).
  sip::Message subscribe(Dialog& d, std::string_view rows, std::string_view ruri = kAlice,
                         std::string_view contact = "<sip:bob@192.0.2.7:5070>", const sip::Peer& from = kWatcher) {
    return subscribeAs(d, rows, ruri, kAlice, "sip:bob@sip.localhost", contact, from);
  }

  sip::Message publish(std::string_view event, std::string_view body, std::string_view rows = {}) {
    const std::string n = std::to_string(++n_);
    const std::string type = event == "dialog" ? "application/dialog-info+xml" : "application/pidf+xml";
    std::string text = "PUBLISH " + std::string(kAlice) + " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-p" +
                       n + "\r\nMax-Forwards: 70\r\nTo: <" + std::string(kAlice) + ">\r\nFrom: <" +
                       std::string(kAlice) + ">;tag=f" + n + "\r\nCall-ID: pub-" + n +
                       "\r\nCSeq: 1 PUBLISH\r\nEvent: " + std::string(event) + "\r\n";
    if (!body.empty()) text += "Content-Type: " + type + "\r\n";
    test::appendRows(text, rows);
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    deliver(text, kPbx);
    for (auto it = sink_.sent.rbegin(); it != sink_.sent.rend(); ++it)
      if (it->bytes.starts_with("SIP/2.0") && it->to == kPbx) return parse(it->bytes);
    ADD_FAILURE() << "no PUBLISH response";
    return {};
  }
};

TEST_F(NotifierTest, SubscribeGets200NotWith202AndExpiresContactAndToTag) {
  Dialog d;
  auto r = subscribe(d, "Event: presence\nExpires: 600");
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(header(r, HeaderId::Expires), "600");
  EXPECT_EQ(header(r, HeaderId::Contact), "<sip:198.51.100.1:5060>");
  EXPECT_FALSE(d.toTag.empty());
}

TEST_F(NotifierTest, ImmediateNotifyCarriesTheNeutralDocumentInTheDialog) {
  Dialog d;
  subscribe(d, "Event: presence;id=7\nExpires: 600\nAccept: application/pidf+xml");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  const auto& notify = n[0];
  EXPECT_EQ(notify.requestLine().uriText, "sip:bob@192.0.2.7:5070");  // the Contact
  EXPECT_EQ(notify.from().tag(), d.toTag);
  EXPECT_EQ(notify.to().tag(), d.fromTag);
  EXPECT_EQ(notify.callId(), d.callId);
  EXPECT_EQ(header(notify, HeaderId::CSeq), "1 NOTIFY");
  EXPECT_EQ(header(notify, HeaderId::Event), "presence;id=7");
  EXPECT_EQ(header(notify, HeaderId::SubscriptionState), "active;expires=600");
  EXPECT_EQ(header(notify, HeaderId::ContentType), "application/pidf+xml");
  EXPECT_NE(notify.body().find("<basic>closed</basic>"), std::string_view::npos) << notify.body();
  EXPECT_NE(notify.body().find("entity=\"sip:alice@sip.localhost\""), std::string_view::npos);
  EXPECT_EQ(sink_.sent.back().to, kWatcher) << "sent back where the SUBSCRIBE came from";
}

TEST_F(NotifierTest, AnIpv6WatcherIsToldOurIpv6Address) {
  const sip::Peer v6{sip::Transport::Udp, "2001:db8::7", 5070, 0, 0};
  Dialog d;
  auto r = subscribe(d, "Event: presence\nExpires: 600", kAlice, "<sip:bob@[2001:db8::7]:5070>", v6);
  EXPECT_EQ(header(r, HeaderId::Contact), "<sip:[2001:db8::1]:5060>");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].topVia().host, "[2001:db8::1]");
  EXPECT_EQ(header(n[0], HeaderId::Contact), "<sip:[2001:db8::1]:5060>");
  EXPECT_EQ(sink_.sent.back().to.address, "2001:db8::7");
}

TEST_F(NotifierTest, UnknownOrMissingEventGets489WithAllowEvents) {
  Dialog d;
  auto r = subscribe(d, "Event: message-summary");
  EXPECT_EQ(r.statusCode(), 489);
  EXPECT_EQ(header(r, HeaderId::AllowEvents), "presence, dialog");
  Dialog e;
  EXPECT_EQ(subscribe(e, "Expires: 600").statusCode(), 489);
  EXPECT_TRUE(newNotifies().empty());
}

TEST_F(NotifierTest, AcceptWithoutThePackageTypeGets406WithAccept) {
  Dialog d;
  auto r = subscribe(d, "Event: presence\nAccept: text/plain");
  EXPECT_EQ(r.statusCode(), 406);
  EXPECT_EQ(header(r, HeaderId::Accept), "application/pidf+xml");
  Dialog e;
  EXPECT_EQ(subscribe(e, "Event: dialog\nAccept: application/pidf+xml").statusCode(), 406);
  Dialog f;
  EXPECT_EQ(subscribe(f, "Event: presence\nAccept: text/plain, application/*").statusCode(), 200);
  Dialog g;
  EXPECT_EQ(subscribe(g, "Event: dialog\nAccept: */*").statusCode(), 200);
}

TEST_F(NotifierTest, TooBriefExpiresGets423AndLongOnesAreShortened) {
  Dialog d;
  auto r = subscribe(d, "Event: presence\nExpires: 30");
  EXPECT_EQ(r.statusCode(), 423);
  EXPECT_EQ(header(r, HeaderId::MinExpires), "60");
  Dialog e;
  EXPECT_EQ(header(subscribe(e, "Event: presence\nExpires: 99999"), HeaderId::Expires), "3600");
  Dialog f;
  EXPECT_EQ(header(subscribe(f, "Event: presence"), HeaderId::Expires), "3600") << "the default";
}

TEST_F(NotifierTest, NewSubscriptionWithoutContactGets400) {
  Dialog d;
  EXPECT_EQ(subscribe(d, "Event: presence", kAlice, "").statusCode(), 400);
}

TEST_F(NotifierTest, RequestUriWithoutUserGets404) {
  Dialog d;
  EXPECT_EQ(subscribe(d, "Event: presence", "sip:sip.localhost").statusCode(), 404);
}

TEST_F(NotifierTest, InDialogSubscribeForAnUnknownDialogGets481) {
  Dialog d{"nope", "x", "y"};
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 481);
}

TEST_F(NotifierTest, InDialogSubscribeWithALowerCSeqGets500) {
  Dialog d;
  d.cseq = 10;
  subscribe(d, "Event: presence\nExpires: 600");
  d.cseq = 5;
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 500);
}

TEST_F(NotifierTest, RefreshGets200AndAFullStateNotifyWithTheNextCSeq) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 200);
  advance(100s);
  auto r = subscribe(d, "Event: presence\nExpires: 600");
  EXPECT_EQ(r.statusCode(), 200);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::CSeq), "2 NOTIFY");
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "active;expires=600");
}

TEST_F(NotifierTest, ActiveNotifyStatesTheTimeLeft) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 200);
  advance(100s);
  publish("presence", kOpen);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "active;expires=500");
}

TEST_F(NotifierTest, RefreshWithANewContactMovesTheRemoteTarget) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  auto first = newNotifies();
  ASSERT_EQ(first.size(), 1u);
  answer(first[0], 200);
  subscribe(d, "Event: presence\nExpires: 600", kAlice, "<sip:bob@192.0.2.70:5999;transport=udp>");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].requestLine().uriText, "sip:bob@192.0.2.70:5999;transport=udp");
}

TEST_F(NotifierTest, UnsubscribeGets200AndATerminatedNotifyAndEndsTheDialog) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  newNotifies();
  auto r = subscribe(d, "Event: presence\nExpires: 0");
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(header(r, HeaderId::Expires), "0");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  EXPECT_EQ(header(n[0], HeaderId::CSeq), "2 NOTIFY");
  EXPECT_NE(n[0].body().find("<basic>closed</basic>"), std::string_view::npos) << "with the state";
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 481);
  EXPECT_EQ(notifier_.watches(), 0u);
  EXPECT_EQ(subscriptions_.size(), 0u);
}

TEST_F(NotifierTest, FetchWithExpiresZeroGetsOneTerminatedNotify) {
  Dialog d;
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 0").statusCode(), 200);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  EXPECT_EQ(header(n[0], HeaderId::CSeq), "1 NOTIFY");
  EXPECT_EQ(subscriptions_.size(), 0u);
}

TEST_F(NotifierTest, ExpiryWithoutRefreshSendsTerminatedTimeout) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 60");
  answer(newNotifies().at(0), 200);
  advance(59s);
  EXPECT_TRUE(newNotifies().empty());
  advance(1s);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::SubscriptionState), "terminated;reason=timeout");
  EXPECT_EQ(notifier_.stats().expired, 1u);
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 481);
}

TEST_F(NotifierTest, RefreshPostponesExpiry) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 60");
  answer(newNotifies().at(0), 200);
  advance(50s);
  subscribe(d, "Event: presence\nExpires: 60");
  answer(newNotifies().at(0), 200);
  advance(50s);
  EXPECT_TRUE(newNotifies().empty()) << "the first expiry was cancelled";
  advance(10s);
  EXPECT_EQ(newNotifies().size(), 1u);
}

TEST_F(NotifierTest, PublishedStateReachesEveryWatcherAndARefreshReachesNone) {
  Dialog a, b;
  subscribe(a, "Event: presence\nExpires: 600");
  subscribe(b, "Event: presence\nExpires: 600");
  for (const auto& n : newNotifies()) answer(n, 200);
  const std::string etag = header(publish("presence", kOpen), HeaderId::SipEtag);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 2u);
  for (const auto& m : n) {
    EXPECT_NE(m.body().find("<basic>open</basic>"), std::string_view::npos) << m.body();
    EXPECT_EQ(header(m, HeaderId::CSeq), "2 NOTIFY");
    answer(m, 200);
  }
  publish("presence", {}, "SIP-If-Match: " + etag);
  EXPECT_TRUE(newNotifies().empty()) << "a refresh changes no state";
}

TEST_F(NotifierTest, SubscribeAfterPublishGetsThePublishedState) {
  publish("presence", kOpen);
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("<basic>open</basic>"), std::string_view::npos);
}

TEST_F(NotifierTest, SlowWatcherGetsOneNotifyWithTheNewestStateWhenItsTransactionEnds) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  auto first = newNotifies();  // not answered yet
  ASSERT_EQ(first.size(), 1u);
  const std::string etag = header(publish("presence", kOpen), HeaderId::SipEtag);
  std::string closed(kOpen);
  closed.replace(closed.find("open"), 4, "closed");
  std::string open2(kOpen);
  open2.replace(open2.find("t1"), 2, "t9");
  const std::string etag2 = header(publish("presence", closed, "SIP-If-Match: " + etag), HeaderId::SipEtag);
  publish("presence", open2, "SIP-If-Match: " + etag2);
  EXPECT_TRUE(newNotifies().empty()) << "one NOTIFY outstanding per watcher";
  EXPECT_EQ(notifier_.stats().coalesced, 1u);
  answer(first[0], 200);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("t9"), std::string_view::npos) << "the newest state wins";
  EXPECT_EQ(header(n[0], HeaderId::CSeq), "2 NOTIFY");
}

TEST_F(NotifierTest, OtherWatchersAreNotHeldBackByASlowOne) {
  Dialog slow, fast;
  subscribe(slow, "Event: presence\nExpires: 600");
  subscribe(fast, "Event: presence\nExpires: 600");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 2u);
  answer(n[1], 200);  // only the fast one answers
  publish("presence", kOpen);
  auto next = newNotifies();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].callId(), fast.callId);
}

TEST_F(NotifierTest, Notify481EndsTheSubscriptionSilently) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 481);
  EXPECT_EQ(notifier_.watches(), 0u);
  publish("presence", kOpen);
  EXPECT_TRUE(newNotifies().empty());
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 481);
}

TEST_F(NotifierTest, NotifyTimeoutEndsTheSubscription) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 3600");
  newNotifies();
  for (int i = 0; i < 70; ++i) advance(500ms);  // past Timer F (64·T1)
  EXPECT_EQ(notifier_.watches(), 0u);
  EXPECT_EQ(notifier_.stats().ended, 1u);
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 481);
}

TEST_F(NotifierTest, Notify500KeepsTheSubscription) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 500);
  publish("presence", kOpen);
  EXPECT_EQ(newNotifies().size(), 1u);
}

TEST_F(NotifierTest, PbxDialogStateShowsOnThePhoneToPresenceWatchersAndClears) {
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 200);
  const std::string etag = header(publish("dialog", kConfirmed), HeaderId::SipEtag);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("on-the-phone"), std::string_view::npos) << n[0].body();
  EXPECT_NE(n[0].body().find("On the phone"), std::string_view::npos);
  answer(n[0], 200);
  publish("dialog", kTerminated, "SIP-If-Match: " + etag);
  n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].body().find("on-the-phone"), std::string_view::npos) << n[0].body();
}

TEST_F(NotifierTest, DialogWatcherGetsDialogInfoWithItsOwnIncreasingVersion) {
  Dialog d;
  subscribe(d, "Event: dialog\nExpires: 600");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(header(n[0], HeaderId::ContentType), "application/dialog-info+xml");
  EXPECT_NE(n[0].body().find("version=\"0\""), std::string_view::npos) << n[0].body();
  EXPECT_NE(n[0].body().find("state=\"full\""), std::string_view::npos);
  answer(n[0], 200);
  publish("dialog", kConfirmed);
  n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("version=\"1\""), std::string_view::npos) << n[0].body();
  EXPECT_NE(n[0].body().find("confirmed"), std::string_view::npos);
}

TEST_F(NotifierTest, PublicationExpiryRenotifiesWatchers) {
  publish("presence", kOpen, "Expires: 60");
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("<basic>open</basic>"), std::string_view::npos);
  answer(n[0], 200);
  advance(59s);
  EXPECT_TRUE(newNotifies().empty());
  advance(1s);
  n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("<basic>closed</basic>"), std::string_view::npos) << "back to neutral";
}

TEST_F(NotifierTest, RefreshOfAWatchedPublicationMovesItsExpiry) {
  const std::string etag = header(publish("presence", kOpen, "Expires: 60"), HeaderId::SipEtag);
  Dialog d;
  subscribe(d, "Event: presence\nExpires: 600");
  answer(newNotifies().at(0), 200);
  advance(50s);
  publish("presence", {}, "Expires: 60\nSIP-If-Match: " + etag);
  EXPECT_TRUE(newNotifies().empty());
  advance(10s);
  EXPECT_TRUE(newNotifies().empty()) << "the refreshed publication is still live";
  advance(50s);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].body().find("<basic>closed</basic>"), std::string_view::npos);
}

TEST_F(NotifierTest, RecordRouteIsCopiedAndBecomesTheNotifyRouteSet) {
  Dialog d;
  auto r = subscribe(d, "Event: presence\nExpires: 600\nRecord-Route: <sip:192.0.2.50:5080;lr>\n"
                        "Record-Route: <sip:192.0.2.51;lr>");
  EXPECT_EQ(r.list(HeaderId::RecordRoute).size(), 2u);
  auto n = newNotifies();
  ASSERT_EQ(n.size(), 1u);
  const auto routes = n[0].list(HeaderId::Route);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], "<sip:192.0.2.50:5080;lr>");
  EXPECT_EQ(routes[1], "<sip:192.0.2.51;lr>");
  EXPECT_EQ(sink_.sent.back().to.address, "192.0.2.50");
  EXPECT_EQ(sink_.sent.back().to.port, 5080);
}

TEST_F(NotifierTest, TooManySubscriptionsOfOneWatcherGet403) {
  for (int i = 0; i < 3; ++i) {
    Dialog d;
    EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 200);
  }
  Dialog d;
  EXPECT_EQ(subscribe(d, "Event: presence\nExpires: 600").statusCode(), 403);
}

TEST_F(NotifierTest, OptionsAdvertisesTheEventPackages) {
  deliver("OPTIONS sip:sip.localhost SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK-o1\r\n"
          "Max-Forwards: 70\r\nTo: <sip:sip.localhost>\r\nFrom: <sip:bob@sip.localhost>;tag=o\r\n"
          "Call-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
          kWatcher);
  auto r = parse(sink_.sent.back().bytes);
  EXPECT_EQ(header(r, HeaderId::AllowEvents), "presence, dialog");
  EXPECT_NE(header(r, HeaderId::Allow).find("SUBSCRIBE"), std::string::npos);
}

// What the HTTP API reads: the same composed document, and when it last changed.
TEST_F(NotifierTest, PresenceViewTellsTheNewestChangeOfEitherPackage) {
  std::optional<Notifier::PresenceView> view;
  notifier_.composePresenceView(std::string(kAlice), [&](Notifier::PresenceView v) { view = std::move(v); });
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->complete);
  EXPECT_FALSE(view->changed);  // nothing published
  ASSERT_EQ(publish("presence", kOpen).statusCode(), 200);
  const auto published = wall_;
  advance(5s);
  ASSERT_EQ(publish("dialog", kConfirmed).statusCode(), 200);
  notifier_.composePresenceView(std::string(kAlice), [&](Notifier::PresenceView v) { view = std::move(v); });
  ASSERT_TRUE(view && view->changed);
  EXPECT_EQ(*view->changed, published + 5s);
  EXPECT_TRUE(view->document.person && !view->document.person->activities.empty());  // on the phone
}

}  // namespace
}  // namespace parley::presence
