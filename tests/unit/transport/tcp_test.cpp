// TCP transport over real loopback sockets, one io_context in the test thread.
#include "transport_test_support.hpp"

#include <memory>
#include <optional>

#include <gtest/gtest.h>

namespace parley::transport::test {
namespace {

class TcpTransport : public ::testing::Test {
 protected:
  /// Creates the transports with `limits` and one TCP listener on `address`.
  void start(Limits limits = {}, const std::string& address = "127.0.0.1") {
    transports_ = std::make_unique<Transports>(io_, limits, handler_, nullptr);
    auto index = transports_->listen({sip::Transport::Tcp, address, 0});
    ASSERT_TRUE(index) << index.error();
    address_ = address;
    port_ = listenerPort(*transports_, *index);
    ASSERT_NE(port_, 0);
  }
  std::unique_ptr<TcpClient> connect() {
    auto c = std::make_unique<TcpClient>(io_, address_, port_);
    EXPECT_TRUE(c->connected());
    return c;
  }
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 2000ms) {
    return test::runUntil(io_, done, limit);
  }
  Stats stats() const { return transports_->stats(); }

  asio::io_context io_;
  RecordingHandler handler_;
  std::unique_ptr<Transports> transports_;
  std::string address_;
  std::uint16_t port_ = 0;
};

TEST_F(TcpTransport, TwoMessagesInOneSegmentAreBothDeliveredIntact) {
  start();
  auto client = connect();
  const std::string first = sipRequest("first", "hello");
  const std::string second = sipRequest("second", "");
  client->write(first + second);

  ASSERT_TRUE(runUntil([&] { return handler_.messages.size() == 2; }));
  EXPECT_EQ(handler_.messages[0].bytes, first);
  EXPECT_EQ(handler_.messages[1].bytes, second);
  const auto& from = handler_.messages[0].from;
  EXPECT_EQ(from.transport, sip::Transport::Tcp);
  EXPECT_EQ(from.address, "127.0.0.1");
  EXPECT_EQ(from.port, client->socket().local_endpoint().port());
  EXPECT_NE(from.connectionId, 0U);
  EXPECT_EQ(handler_.messages[1].from.connectionId, from.connectionId);
  EXPECT_EQ(stats().tcpMessagesIn, 2U);
}

TEST_F(TcpTransport, DoubleCrlfPingGetsOneCrlfPong) {
  start();
  auto client = connect();
  client->write("\r\n\r\n");  // RFC 5626 §4.4.1 ping
  ASSERT_TRUE(runUntil([&] { return client->received("\r\n"); }));
  const std::string message = sipRequest("after-ping", "");
  client->write(message);
  ASSERT_TRUE(runUntil([&] { return handler_.messages.size() == 1; }));
  EXPECT_EQ(handler_.messages[0].bytes, message);
  EXPECT_EQ(client->data(), "\r\n");  // exactly one pong, no more
}

TEST_F(TcpTransport, MessageSplitByteByByteIsDeliveredIntact) {
  start();
  auto client = connect();
  const std::string message = sipRequest("split", "body bytes");
  for (std::size_t i = 0; i < message.size(); ++i) {
    client->write(message.substr(i, 1));
    // Wait until the transport has read this byte, so every read is one byte.
    ASSERT_TRUE(runUntil([&] { return stats().bytesIn == i + 1; })) << "byte " << i;
    if (i + 1 < message.size()) {
      ASSERT_TRUE(handler_.messages.empty()) << "delivered early at " << i;
    }
  }
  ASSERT_EQ(handler_.messages.size(), 1U);
  EXPECT_EQ(handler_.messages[0].bytes, message);
}

TEST_F(TcpTransport, ResponseIsWrittenOnTheSameConnection) {
  start();
  handler_.onMessageHook = [&](const Received& r) { transports_->send(r.from, "SIP/2.0 200 OK\r\n\r\n"); };
  auto client = connect();
  client->write(sipRequest("same-conn"));

  ASSERT_TRUE(runUntil([&] { return client->received("SIP/2.0 200 OK\r\n\r\n"); }));
  EXPECT_EQ(stats().tcpAccepted, 1U);
  EXPECT_EQ(stats().tcpConnectsStarted, 0U) << "no new connection may be opened for the response";
}

TEST_F(TcpTransport, FramingErrorIsReportedAndTheReplyIsFlushedBeforeClosing) {
  start();
  const std::string reply = "SIP/2.0 400 Missing Content-Length\r\nContent-Length: 0\r\n\r\n";
  handler_.onFramingErrorHook = [&](const FramingError& e) { transports_->send(e.from, reply); };
  auto client = connect();
  std::string noLength = sipRequest("no-length");
  noLength.erase(noLength.find("Content-Length: 0\r\n"), std::string("Content-Length: 0\r\n").size());
  client->write(noLength + "trailing garbage the server never reads");

  ASSERT_TRUE(runUntil([&] { return client->poll(); })) << "connection was not closed";
  ASSERT_EQ(handler_.framingErrors.size(), 1U);
  EXPECT_EQ(handler_.framingErrors[0].error, sip::ParseError::MissingContentLength);
  EXPECT_NE(handler_.framingErrors[0].headers.find("Call-ID: no-length"), std::string::npos);
  EXPECT_NE(handler_.framingErrors[0].from.connectionId, 0U);
  EXPECT_TRUE(handler_.messages.empty());
  EXPECT_EQ(client->data(), reply);
  EXPECT_EQ(stats().tcpFramingErrors, 1U);
  client.reset();  // the server lingers until our FIN (or its linger deadline)
  ASSERT_TRUE(runUntil([&] { return stats().tcpConnectionsOpen == 0; }));
}

TEST_F(TcpTransport, ConnectionCapRefusesTheExtraConnection) {
  Limits limits;
  limits.maxTcpConnections = 1;
  start(limits);
  auto first = connect();
  ASSERT_TRUE(runUntil([&] { return stats().tcpAccepted == 1; }));
  auto second = connect();  // completes in the kernel backlog, then we close it

  ASSERT_TRUE(runUntil([&] { return second->poll(); }));
  EXPECT_EQ(stats().tcpRefused, 1U);
  EXPECT_EQ(stats().tcpConnectionsOpen, 1U);
  first->write(sipRequest("still-served"));
  ASSERT_TRUE(runUntil([&] { return handler_.messages.size() == 1; }));
  EXPECT_FALSE(first->poll());
}

TEST_F(TcpTransport, IdleConnectionIsClosed) {
  Limits limits;
  limits.tcpIdleTimeout = 100ms;
  start(limits);
  auto client = connect();
  ASSERT_TRUE(runUntil([&] { return client->poll(); }, 2000ms));
  EXPECT_EQ(stats().tcpIdleClosed, 1U);
  EXPECT_EQ(stats().tcpConnectionsOpen, 0U);
}

TEST_F(TcpTransport, PeerWithoutLiveConnectionGetsAnOutboundConnection) {
  start();
  // A stand-in for the remote UA: a plain acceptor polled from the test.
  tcp::acceptor remote(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  remote.non_blocking(true);
  const std::uint16_t remotePort = remote.local_endpoint().port();

  const std::string notify = sipRequest("notify-1");
  transports_->send({sip::Transport::Tcp, "127.0.0.1", remotePort, 0, 0}, notify);
  std::unique_ptr<TcpClient> ua;
  ASSERT_TRUE(runUntil([&] {
    tcp::socket s(io_);
    boost::system::error_code ec;
    remote.accept(s, ec);
    if (!ec) ua = std::make_unique<TcpClient>(std::move(s));
    return ua != nullptr;
  }));
  ASSERT_TRUE(runUntil([&] { return ua->received(notify); }));
  EXPECT_EQ(stats().tcpConnectsStarted, 1U);

  // Messages the remote sends on that connection come up like any others.
  ua->write(sipRequest("from-remote"));
  ASSERT_TRUE(runUntil([&] { return handler_.messages.size() == 1; }));
  const sip::Peer from = handler_.messages[0].from;
  EXPECT_NE(from.connectionId, 0U);
  EXPECT_EQ(from.port, remotePort);

  // A dead connection id to the same address:port reuses the live connection.
  const std::string second = sipRequest("notify-2");
  transports_->send({sip::Transport::Tcp, "127.0.0.1", remotePort, 987654, 0}, second);
  ASSERT_TRUE(runUntil([&] { return ua->received(second); }));
  EXPECT_EQ(stats().tcpConnectsStarted, 1U);
}

TEST_F(TcpTransport, FailedOutboundConnectIsCounted) {
  start();
  std::uint16_t closedPort = 0;
  {
    tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closedPort = probe.local_endpoint().port();
  }  // nothing listens there now
  transports_->send({sip::Transport::Tcp, "127.0.0.1", closedPort, 0, 0}, sipRequest("nobody"));
  ASSERT_TRUE(runUntil([&] { return stats().tcpConnectFailures == 1; }));
  EXPECT_EQ(stats().tcpConnectionsOpen, 0U);
}

TEST_F(TcpTransport, WriteQueueOverflowDropsTheConnection) {
  Limits limits;
  limits.maxWriteQueueBytes = 1000;
  start(limits);
  // Both sends happen before the loop can complete the first write, so the
  // queue holds 600 bytes when 600 more arrive.
  handler_.onMessageHook = [&](const Received& r) {
    transports_->send(r.from, std::string(600, 'a'));
    transports_->send(r.from, std::string(600, 'b'));
  };
  auto client = connect();
  client->write(sipRequest("flood"));

  ASSERT_TRUE(runUntil([&] { return client->poll(); }));
  EXPECT_EQ(stats().tcpWriteQueueOverflows, 1U);
  EXPECT_EQ(stats().tcpConnectionsOpen, 0U);
  EXPECT_EQ(client->data().find('b'), std::string::npos);
}

TEST_F(TcpTransport, ConnectionIdsAreNeverReused) {
  start();
  auto first = connect();
  first->write(sipRequest("one"));
  ASSERT_TRUE(runUntil([&] { return handler_.messages.size() == 1; }));
  first.reset();
  ASSERT_TRUE(runUntil([&] { return stats().tcpConnectionsOpen == 0; }));
  auto second = connect();
  second->write(sipRequest("two"));
  ASSERT_TRUE(runUntil([&] { return handler_.messages.size() == 2; }));
  EXPECT_NE(handler_.messages[0].from.connectionId, handler_.messages[1].from.connectionId);
}

TEST_F(TcpTransport, RoundTripOverIpv6) {
  if (!ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 is not available on this machine";
  start(Limits{}, "::1");
  handler_.onMessageHook = [&](const Received& r) { transports_->send(r.from, "SIP/2.0 200 OK\r\n\r\n"); };
  auto client = connect();
  client->write(sipRequest("v6"));
  ASSERT_TRUE(runUntil([&] { return client->received("SIP/2.0 200 OK"); }));
  EXPECT_EQ(handler_.messages.at(0).from.address, "::1");
}

}  // namespace
}  // namespace parley::transport::test
