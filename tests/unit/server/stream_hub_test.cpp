// The live presence stream's hub (server/src/http/stream_hub.cpp) with fake
// peers and a presence port answered by hand: snapshots, fan-out of one
// composed message, coalescing, slow clients dropped, bad input.
#include "http/stream_hub.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace parley::server::http {
namespace {
using nlohmann::json;

/// A transport that keeps what it was sent, refusing past `limit` unread messages.
struct FakePeer final : StreamPeer {
  explicit FakePeer(std::size_t l = 1000) : limit(l) {}
  bool send(std::shared_ptr<const std::string> m) override {
    if (closed) return false;
    if (sent.size() >= limit) {
      close();
      return false;
    }
    sent.push_back(std::move(m));
    return true;
  }
  void close() override {
    if (closed) return;
    closed = true;
    if (handlers.onClose) std::exchange(handlers.onClose, {})();
  }
  /// The messages as JSON (WebSocket format), taking them.
  std::vector<json> take() {
    std::vector<json> out;
    for (auto& m : sent) out.push_back(json::parse(*m));
    sent.clear();
    return out;
  }
  std::size_t limit;
  std::vector<std::shared_ptr<const std::string>> sent;
  StreamHandlers handlers;
  bool closed = false;
};

class StreamHubTest : public ::testing::Test {
 protected:
  StreamHubTest()
      : hub_(StreamHub::Ports{
            [](std::string_view a) -> std::optional<std::string> {
              std::string s(a);
              if (!s.starts_with("sip:")) s.insert(0, "sip:");
              if (!s.ends_with("@example.com")) return std::nullopt;
              return s;
            },
            [this](const std::string& address, std::function<void(json)> done) {
              reads.push_back(address);
              pending.emplace_back(address, std::move(done));
            },
            [] { return json{{"node", "n1"}, {"version", "0.1.0"}}; },
            {},
            [this] { return now; }}) {}

  /// Answers the oldest read with `show`.
  void answer(const std::string& show) {
    auto [address, done] = std::move(pending.front());
    pending.pop_front();
    done(json{{"address", address}, {"show", show}});
  }

  std::shared_ptr<FakePeer> open(std::vector<std::string> addresses, bool all = false,
                                 StreamHub::Format format = StreamHub::Format::WebSocket, std::size_t limit = 1000) {
    auto peer = std::make_shared<FakePeer>(limit);
    peer->handlers = hub_.open(peer, format, addresses, all);
    return peer;
  }

  std::vector<std::string> reads;
  std::deque<std::pair<std::string, std::function<void(json)>>> pending;
  std::chrono::steady_clock::time_point now{};
  StreamHub hub_;
};

TEST_F(StreamHubTest, HelloThenOneSnapshotPerAddress) {
  auto peer = open({"alice@example.com", "bob@elsewhere.org"});
  ASSERT_EQ(pending.size(), 1u);  // the foreign address is answered at once, not read
  answer("dnd");
  auto got = peer->take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (json{{"type", "hello"}, {"node", "n1"}, {"version", "0.1.0"}}));
  EXPECT_EQ(got[1]["presence"]["error"]["code"], "not_served");
  EXPECT_EQ(got[1]["presence"]["address"], "bob@elsewhere.org");
  EXPECT_EQ(got[2], (json{{"type", "presence"}, {"presence", {{"address", "sip:alice@example.com"}, {"show", "dnd"}}}}));
}

TEST_F(StreamHubTest, AChangeIsReadOnceAndSharedByEveryWatcher) {
  auto a = open({"alice@example.com"});
  auto b = open({"sip:alice@example.com"});
  auto other = open({"carol@example.com"});
  answer("away");
  answer("away");
  answer("away");
  a->take();
  b->take();
  other->take();

  hub_.changed("sip:alice@example.com");
  ASSERT_EQ(pending.size(), 1u);
  answer("available");
  ASSERT_EQ(a->sent.size(), 1u);
  ASSERT_EQ(b->sent.size(), 1u);
  EXPECT_EQ(a->sent.front(), b->sent.front());  // one serialization, shared
  EXPECT_TRUE(other->sent.empty());
  EXPECT_EQ(a->take()[0]["presence"]["show"], "available");
}

TEST_F(StreamHubTest, NobodyWatchingMeansNothingIsRead) {
  hub_.changed("sip:alice@example.com");
  EXPECT_TRUE(reads.empty());
}

TEST_F(StreamHubTest, ChangesDuringARead) {
  auto a = open({"alice@example.com"});
  answer("offline");
  a->take();
  hub_.changed("sip:alice@example.com");
  hub_.changed("sip:alice@example.com");
  hub_.changed("sip:alice@example.com");
  ASSERT_EQ(pending.size(), 1u);  // collapsed: one read in flight, one more after it
  answer("away");
  ASSERT_EQ(pending.size(), 1u);
  answer("dnd");
  EXPECT_TRUE(pending.empty());
  auto got = a->take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1]["presence"]["show"], "dnd");  // the newest state last
}

TEST_F(StreamHubTest, WatchAllHearsEveryChangeWithoutSnapshots) {
  auto all = open({}, true);
  EXPECT_TRUE(pending.empty());
  all->take();
  hub_.changed("sip:zed@example.com");
  answer("available");
  EXPECT_EQ(all->take()[0]["presence"]["address"], "sip:zed@example.com");
}

TEST_F(StreamHubTest, WatchAndUnwatchByMessage) {
  auto peer = open({});
  peer->take();
  peer->handlers.onMessage(R"({"op":"watch","addresses":["alice@example.com"]})");
  answer("away");
  EXPECT_EQ(peer->take().size(), 1u);
  EXPECT_EQ(hub_.watchedAddresses(), 1u);
  peer->handlers.onMessage(R"({"op":"unwatch","addresses":["sip:alice@example.com"]})");
  EXPECT_EQ(hub_.watchedAddresses(), 0u);
  hub_.changed("sip:alice@example.com");
  EXPECT_TRUE(pending.empty());
}

TEST_F(StreamHubTest, BadMessagesGetAnErrorAndTheClientStays) {
  auto peer = open({});
  peer->take();
  for (std::string_view bad : {"not json", "[1]", R"({"op":"dance"})", R"({"op":"watch"})",
                               R"({"op":"watch","addresses":"alice"})", R"({"op":"watch","addresses":[7]})",
                               R"({"op":"watch","all":"yes"})"}) {
    peer->handlers.onMessage(bad);
    auto got = peer->take();
    ASSERT_EQ(got.size(), 1u) << bad;
    EXPECT_EQ(got[0]["type"], "error") << bad;
    EXPECT_EQ(got[0]["error"]["code"], "bad_request") << bad;
  }
  EXPECT_EQ(hub_.clients(), 1u);
}

TEST_F(StreamHubTest, AClientSendsAtMostTenMessagesASecond) {
  auto peer = open({});
  peer->take();
  for (int i = 0; i < 12; ++i) peer->handlers.onMessage(R"({"op":"unwatch","addresses":["a@example.com"]})");
  auto got = peer->take();
  ASSERT_EQ(got.size(), 2u);  // the ten within the budget answer nothing; two errors
  EXPECT_EQ(got[0]["error"]["code"], "rate_limited");
  now += std::chrono::milliseconds(300);  // three more
  for (int i = 0; i < 4; ++i) peer->handlers.onMessage(R"({"op":"unwatch","addresses":["a@example.com"]})");
  EXPECT_EQ(peer->take().size(), 1u);
  EXPECT_EQ(hub_.clients(), 1u);  // limited, not dropped
}

TEST_F(StreamHubTest, AtMostKMaxWatchedAddressesPerClient) {
  auto peer = open({});
  json addresses = json::array();
  for (std::size_t i = 0; i < StreamHub::kMaxWatched + 5; ++i) addresses.push_back("u" + std::to_string(i) + "@example.com");
  peer->handlers.onMessage(json{{"op", "watch"}, {"addresses", addresses}}.dump());
  EXPECT_EQ(hub_.watchedAddresses(), StreamHub::kMaxWatched);
  EXPECT_EQ(peer->take().back()["error"]["code"], "too_many");
}

TEST_F(StreamHubTest, ASlowClientIsDroppedAndTheOthersGoOn) {
  auto slow = open({"alice@example.com"}, false, StreamHub::Format::WebSocket, 3);  // never reads
  auto fast = open({"alice@example.com"});
  answer("offline");
  answer("offline");
  for (int i = 0; i < 3; ++i) {
    hub_.changed("sip:alice@example.com");
    answer(i % 2 ? "away" : "available");
    fast->take();
  }
  EXPECT_TRUE(slow->closed);
  EXPECT_EQ(hub_.clients(), 1u);
  EXPECT_EQ(hub_.stats().dropped, 1u);
  hub_.changed("sip:alice@example.com");
  answer("dnd");
  EXPECT_EQ(fast->take().size(), 1u);
}

TEST_F(StreamHubTest, AClosedClientIsForgotten) {
  auto peer = open({"alice@example.com"});
  peer->close();
  EXPECT_EQ(hub_.clients(), 0u);
  EXPECT_EQ(hub_.watchedAddresses(), 0u);
  answer("away");  // the snapshot read comes back after: nobody to send it to
  EXPECT_TRUE(peer->sent.size() == 1u);  // the hello only
}

// With a loop to defer to, a change is written a chunk of clients per turn, never in the
// turn that made it (the request that caused it is answered first).
TEST(StreamHubDeferred, AChangeGoesOutInChunksInLaterTurns) {
  std::deque<std::function<void()>> later;
  std::deque<std::function<void(json)>> reads;
  StreamHub hub(StreamHub::Ports{
      [](std::string_view a) -> std::optional<std::string> { return "sip:" + std::string(a); },
      [&](const std::string&, std::function<void(json)> done) { reads.push_back(std::move(done)); },
      [] { return json::object(); },
      [&](std::function<void()> fn) { later.push_back(std::move(fn)); },
      {}});
  std::vector<std::shared_ptr<FakePeer>> peers;
  for (std::size_t i = 0; i < 2 * StreamHub::kChunk + 5; ++i) {
    peers.push_back(std::make_shared<FakePeer>());
    peers.back()->handlers = hub.open(peers.back(), StreamHub::Format::WebSocket, {"alice@example.com"}, false);
  }
  while (!reads.empty()) {  // the snapshots are answered at once, outside the chunking
    reads.front()(json{{"show", "offline"}});
    reads.pop_front();
  }
  for (auto& p : peers) p->take();
  hub.changed("sip:alice@example.com");
  hub.changed("sip:alice@example.com");  // folded into one more read
  ASSERT_EQ(reads.size(), 1u);
  reads.front()(json{{"show", "away"}});
  reads.pop_front();
  auto delivered = [&] {
    std::size_t n = 0;
    for (auto& p : peers) n += p->sent.size();
    return n;
  };
  EXPECT_EQ(delivered(), 0u);  // nothing in the turn of the change
  std::vector<std::size_t> perTurn;
  while (!later.empty()) {
    const auto before = delivered();
    later.front()();
    later.pop_front();
    perTurn.push_back(delivered() - before);
  }
  EXPECT_EQ(perTurn, (std::vector<std::size_t>{StreamHub::kChunk, StreamHub::kChunk, 5}));
  ASSERT_EQ(reads.size(), 1u);  // the change that came meanwhile: read after all were written
  reads.front()(json{{"show", "dnd"}});
  reads.pop_front();
  while (!later.empty()) {
    later.front()();
    later.pop_front();
  }
  for (auto& p : peers) {
    auto got = p->take();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1]["presence"]["show"], "dnd");
  }
}

TEST_F(StreamHubTest, EventStreamFraming) {
  auto peer = open({"alice@example.com"}, false, StreamHub::Format::EventStream);
  answer("away");
  ASSERT_EQ(peer->sent.size(), 2u);
  EXPECT_EQ(*peer->sent[0], "event: hello\ndata: {\"node\":\"n1\",\"version\":\"0.1.0\"}\n\n");
  EXPECT_EQ(*peer->sent[1], "event: presence\ndata: {\"address\":\"sip:alice@example.com\",\"show\":\"away\"}\n\n");
}

}  // namespace
}  // namespace parley::server::http
