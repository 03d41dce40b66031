// Transports lifecycle: stopAccepting(), close(), destruction with I/O pending.
#include "transport_test_support.hpp"

#include <memory>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

namespace parley::transport::test {
namespace {

TEST(TransportsLifecycle, StopAcceptingRefusesNewTcpButUdpAndLiveConnectionsKeepWorking) {
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));
  ASSERT_TRUE(transports.listen({sip::Transport::Tcp, "127.0.0.1", 0}));
  const auto udpPort = listenerPort(transports, 0);
  const auto tcpPort = listenerPort(transports, 1);
  TcpClient live(io, "127.0.0.1", tcpPort);
  ASSERT_TRUE(runUntil(io, [&] { return transports.stats().tcpAccepted == 1; }));

  transports.stopAccepting();
  TcpClient late(io, "127.0.0.1", tcpPort);
  EXPECT_FALSE(late.connected()) << "the acceptor must be closed";

  udp::socket udpClient(io, udp::endpoint(udp::v4(), 0));
  udpClient.send_to(asio::buffer(std::string_view("over udp")),
                    udp::endpoint(asio::ip::make_address("127.0.0.1"), udpPort));
  live.write(sipRequest("over-tcp"));
  ASSERT_TRUE(runUntil(io, [&] { return handler.messages.size() == 2; }));
}

TEST(TransportsLifecycle, CloseLetsRunReturn) {
  asio::io_context io;
  RecordingHandler handler;
  Transports transports(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));
  ASSERT_TRUE(transports.listen({sip::Transport::Tcp, "127.0.0.1", 0}));
  TcpClient client(io, "127.0.0.1", listenerPort(transports, 1));
  ASSERT_TRUE(runUntil(io, [&] { return transports.stats().tcpAccepted == 1; }));
  transports.send({sip::Transport::Tcp, "127.0.0.1", listenerPort(transports, 1), 0, 0}, "x");

  transports.close();
  io.restart();
  io.run_for(2s);
  EXPECT_TRUE(io.stopped()) << "run() still had work after close()";
  EXPECT_TRUE(client.poll()) << "the accepted connection was not closed";
  EXPECT_EQ(transports.stats().tcpConnectionsOpen, 0U);

  transports.send({sip::Transport::Udp, "127.0.0.1", 5060, 0, 0}, "dropped");
  EXPECT_FALSE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));
}

TEST(TransportsLifecycle, DestroyingTransportsWithOperationsPendingIsSafe) {
  asio::io_context io;
  RecordingHandler handler;
  auto transports = std::make_unique<Transports>(io, Limits{}, handler, nullptr);
  ASSERT_TRUE(transports->listen({sip::Transport::Udp, "127.0.0.1", 0}));
  ASSERT_TRUE(transports->listen({sip::Transport::Tcp, "127.0.0.1", 0}));
  TcpClient client(io, "127.0.0.1", listenerPort(*transports, 1));
  ASSERT_TRUE(runUntil(io, [&] { return transports->stats().tcpAccepted == 1; }));
  client.write(sipRequest("in-flight"));

  transports.reset();  // reads, accepts and timers are still pending in `io`
  io.restart();
  io.run_for(2s);
  EXPECT_TRUE(io.stopped());
  EXPECT_TRUE(handler.messages.empty()) << "no upcall after destruction";
}

TEST(TransportsLifecycle, LogsEachListenerInTheLineTestScriptsParse) {
  asio::io_context io;
  RecordingHandler handler;
  std::ostringstream out;
  auto log = std::make_shared<spdlog::logger>(
      "transport", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  log->set_pattern("%v");
  Transports transports(io, Limits{}, handler, log);
  ASSERT_TRUE(transports.listen({sip::Transport::Udp, "127.0.0.1", 0}));
  ASSERT_TRUE(transports.listen({sip::Transport::Tcp, "127.0.0.1", 0}));

  std::string expected = "sip.listening transport=udp local=127.0.0.1:" +
                         std::to_string(listenerPort(transports, 0)) + "\n" +
                         "sip.listening transport=tcp local=127.0.0.1:" +
                         std::to_string(listenerPort(transports, 1)) + "\n";
  if (ipv6LoopbackAvailable()) {
    ASSERT_TRUE(transports.listen({sip::Transport::Udp, "::1", 0}));
    expected += "sip.listening transport=udp local=[::1]:" +
                std::to_string(listenerPort(transports, 2)) + "\n";
  }
  EXPECT_EQ(out.str(), expected);
}

}  // namespace
}  // namespace parley::transport::test
