// UDP transport over real loopback sockets, one io_context in the test thread.
#include "transport_test_support.hpp"

#include <optional>

#include <gtest/gtest.h>

namespace parley::transport::test {
namespace {

/// A non-blocking UDP client: sendTo() then poll receive() from runUntil().
class UdpClient {
 public:
  UdpClient(asio::io_context& io, const std::string& address) : socket_(io) {
    const auto addr = asio::ip::make_address(address);
    socket_.open(addr.is_v6() ? udp::v6() : udp::v4());
    socket_.bind(udp::endpoint(addr, 0));
    socket_.non_blocking(true);
  }
  void sendTo(std::string_view bytes, const std::string& address, std::uint16_t port) {
    socket_.send_to(asio::buffer(bytes.data(), bytes.size()),
                    udp::endpoint(asio::ip::make_address(address), port));
  }
  /// One datagram if one has arrived.
  std::optional<std::string> receive() {
    std::array<char, 70000> buf{};
    boost::system::error_code ec;
    const std::size_t n = socket_.receive_from(asio::buffer(buf), lastFrom_, 0, ec);
    if (ec) return std::nullopt;
    return std::string(buf.data(), n);
  }
  [[nodiscard]] std::uint16_t port() const { return socket_.local_endpoint().port(); }
  [[nodiscard]] const udp::endpoint& lastFrom() const { return lastFrom_; }

 private:
  udp::socket socket_;
  udp::endpoint lastFrom_;
};

/// Listens on `address`, echoes "reply:<bytes>" to each datagram's Peer, and
/// checks a datagram from a client bound to the same address round-trips.
void expectRoundTrip(const std::string& address) {
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  handler.onMessageHook = [&](const Received& r) { transports.send(r.from, "reply:" + r.bytes); };

  auto index = transports.listen({sip::Transport::Udp, address, 0});
  ASSERT_TRUE(index) << index.error();
  const auto local = transports.endpoints().at(*index);
  EXPECT_EQ(local.transport, sip::Transport::Udp);
  EXPECT_EQ(local.address, address);
  ASSERT_NE(local.port, 0) << "port 0 must be resolved to the bound port";

  UdpClient client(io, address);
  client.sendTo("hello", address, local.port);
  std::optional<std::string> reply;
  ASSERT_TRUE(runUntil(io, [&] { return (reply = client.receive()).has_value(); }));

  ASSERT_EQ(handler.messages.size(), 1U);
  const auto& from = handler.messages[0].from;
  EXPECT_EQ(handler.messages[0].bytes, "hello");
  EXPECT_EQ(from.transport, sip::Transport::Udp);
  EXPECT_EQ(from.address, address);
  EXPECT_EQ(from.port, client.port());
  EXPECT_EQ(from.listenerIndex, *index);
  EXPECT_EQ(*reply, "reply:hello");
  EXPECT_EQ(transports.stats().udpDatagramsIn, 1U);
  // The datagram can arrive before the send's completion handler has run.
  EXPECT_TRUE(runUntil(io, [&] { return transports.stats().udpDatagramsOut == 1; }));
}

TEST(UdpTransport, RoundTripOverIpv4WithPortZeroResolved) { expectRoundTrip("127.0.0.1"); }

TEST(UdpTransport, RoundTripOverIpv6WithPortZeroResolved) {
  if (!ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 is not available on this machine";
  expectRoundTrip("::1");
}

TEST(UdpTransport, ReplyLeavesFromTheListenerTheRequestArrivedOn) {
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  handler.onMessageHook = [&](const Received& r) { transports.send(r.from, "reply"); };
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));
  auto second = transports.listen({sip::Transport::Udp, "127.0.0.1", 0});
  ASSERT_TRUE(second);
  ASSERT_EQ(*second, 1U);

  UdpClient client(io, "127.0.0.1");
  client.sendTo("request", "127.0.0.1", listenerPort(transports, 1));
  ASSERT_TRUE(runUntil(io, [&] { return client.receive().has_value(); }));

  ASSERT_EQ(handler.messages.size(), 1U);
  EXPECT_EQ(handler.messages[0].from.listenerIndex, 1U);
  EXPECT_EQ(client.lastFrom().port(), listenerPort(transports, 1))
      << "RFC 3581 §4: the response must leave from the port the request was sent to";
}

TEST(UdpTransport, InvalidListenerIndexFallsBackToFirstListenerOfTheFamily) {
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Tcp, "127.0.0.1", 0}));  // index 0: not UDP
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));  // index 1

  UdpClient client(io, "127.0.0.1");
  sip::Peer to{sip::Transport::Udp, "127.0.0.1", client.port(), 0, 0};  // index 0 is TCP
  transports.send(to, "one");
  to.listenerIndex = 99;  // no such listener
  transports.send(to, "two");

  std::vector<std::string> got;
  std::vector<std::uint16_t> fromPorts;
  ASSERT_TRUE(runUntil(io, [&] {
    if (auto d = client.receive()) {
      got.push_back(*d);
      fromPorts.push_back(client.lastFrom().port());
    }
    return got.size() == 2;
  }));
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(fromPorts[0], listenerPort(transports, 1));
  EXPECT_EQ(fromPorts[1], listenerPort(transports, 1));
}

TEST(UdpTransport, ListenerOfTheWrongFamilyIsNotUsed) {
  if (!ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 is not available on this machine";
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "::1", 0}));        // index 0
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));  // index 1

  UdpClient client(io, "127.0.0.1");
  transports.send({sip::Transport::Udp, "127.0.0.1", client.port(), 0, 0}, "v4");
  std::optional<std::string> got;
  ASSERT_TRUE(runUntil(io, [&] { return (got = client.receive()).has_value(); }));
  EXPECT_EQ(*got, "v4");
  EXPECT_EQ(client.lastFrom().port(), listenerPort(transports, 1));
}

TEST(UdpTransport, OversizedDatagramIsDroppedAndCountedNotTruncated) {
  asio::io_context io;
  RecordingHandler handler;
  Limits limits;
  limits.maxMessageBytes = 100;
  Transports transports(io, limits, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));

  UdpClient client(io, "127.0.0.1");
  client.sendTo(std::string(101, 'x'), "127.0.0.1", listenerPort(transports, 0));
  client.sendTo(std::string(100, 'y'), "127.0.0.1", listenerPort(transports, 0));
  ASSERT_TRUE(runUntil(io, [&] { return !handler.messages.empty(); }));

  ASSERT_EQ(handler.messages.size(), 1U);
  EXPECT_EQ(handler.messages[0].bytes, std::string(100, 'y'));
  EXPECT_EQ(transports.stats().udpOversizedDropped, 1U);
  EXPECT_EQ(transports.stats().udpDatagramsIn, 1U);
}

TEST(UdpTransport, ABurstArrivesWholeAndInOrderAndThenTheListenerWaits) {
  // 160 datagrams queued before the loop runs (a multiple of any small batch
  // size, so a batched receive would end on an empty queue): all are read, in
  // order, and then the listener waits, neither leaving datagrams for an
  // edge-triggered wakeup that never comes nor polling an empty socket.
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));
  UdpClient client(io, "127.0.0.1");
  constexpr int kDatagrams = 160;
  for (int i = 0; i < kDatagrams; ++i) client.sendTo("d" + std::to_string(i), "127.0.0.1", listenerPort(transports, 0));
  ASSERT_TRUE(runUntil(io, [&] { return handler.messages.size() == kDatagrams; }))
      << handler.messages.size() << " of " << kDatagrams;
  for (int i = 0; i < kDatagrams; ++i) {
    EXPECT_EQ(handler.messages[static_cast<std::size_t>(i)].bytes, "d" + std::to_string(i));
    EXPECT_EQ(handler.messages[static_cast<std::size_t>(i)].from.port, client.port());
  }
  EXPECT_EQ(transports.stats().udpDatagramsIn, static_cast<std::uint64_t>(kDatagrams));
  // Drained, the listener waits: an idle loop runs (almost) no handlers, where
  // a receive that re-posted itself would spin through thousands.
  io.restart();
  EXPECT_LT(io.run_for(std::chrono::milliseconds(50)), 5U);
  client.sendTo("after", "127.0.0.1", listenerPort(transports, 0));  // and the wait was re-armed
  ASSERT_TRUE(runUntil(io, [&] { return handler.messages.size() == kDatagrams + 1; }));
}

TEST(UdpTransport, SendWithoutARouteIsCounted) {
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));

  transports.send({sip::Transport::Udp, "not-an-address", 5060, 0, 0}, "x");
  transports.send({sip::Transport::Udp, "::1", 5060, 0, 0}, "x");  // no IPv6 listener
  EXPECT_EQ(transports.stats().sendsUnroutable, 2U);
}

TEST(Transports, ListenReportsWhyTheBindFailed) {
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));

  auto taken = transports.listen({sip::Transport::Udp, "127.0.0.1", listenerPort(transports, 0)});
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().find("udp 127.0.0.1:"), std::string::npos) << taken.error();

  auto bad = transports.listen({sip::Transport::Tcp, "localhost", 0});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("not an IP address"), std::string::npos) << bad.error();
  EXPECT_EQ(transports.endpoints().size(), 1U);
}

TEST(Transports, FormatsHostPortWithBracketsForIpv6) {
  EXPECT_EQ(formatHostPort("127.0.0.1", 5060), "127.0.0.1:5060");
  EXPECT_EQ(formatHostPort("::1", 5061), "[::1]:5061");
}

}  // namespace
}  // namespace parley::transport::test
