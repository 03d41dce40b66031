// Response routing: RFC 3261 §18.2.2 and RFC 3581 §4.
#include "parley/txn/response_destination.hpp"

#include <gtest/gtest.h>

#include <string>

#include "txn_harness.hpp"

namespace parley::txn::test {
namespace {

// Keeps the Via text alive: parsed Via values are views into it.
struct ParsedVia {
  std::string text;
  sip::Via via;
  explicit ParsedVia(std::string t) : text(std::move(t)) {
    auto v = sip::parseVia(text);
    if (!v) {
      throw std::runtime_error("bad Via in test: " + text);
    }
    via = *v;
  }
};

TEST(ResponseDestination, UdpWithRportGoesToTheSourceAddressAndPort) {
  ParsedVia v("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport");
  auto to = responseDestination(v.via, udpPeer("198.51.100.7", 61000));
  EXPECT_EQ(to.transport, sip::Transport::Udp);
  EXPECT_EQ(to.address, "198.51.100.7");
  EXPECT_EQ(to.port, 61000);
}

TEST(ResponseDestination, UdpWithFilledRportStillUsesTheSource) {
  ParsedVia v("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=61000;received=198.51.100.7");
  auto to = responseDestination(v.via, udpPeer("198.51.100.7", 61000));
  EXPECT_EQ(to.address, "198.51.100.7");
  EXPECT_EQ(to.port, 61000);
}

TEST(ResponseDestination, UdpWithRportTrustsThePacketNotAReceivedParameter) {
  ParsedVia v("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport;received=203.0.113.99");
  auto to = responseDestination(v.via, udpPeer("198.51.100.7", 61000));
  EXPECT_EQ(to.address, "198.51.100.7");
  EXPECT_EQ(to.port, 61000);
}

TEST(ResponseDestination, UdpWithoutRportUsesReceivedAndTheSentByPort) {
  ParsedVia v("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1;received=198.51.100.7");
  auto to = responseDestination(v.via, udpPeer("198.51.100.7", 61000));
  EXPECT_EQ(to.address, "198.51.100.7");
  EXPECT_EQ(to.port, 5070);
}

TEST(ResponseDestination, UdpWithoutReceivedUsesTheSourceAddress) {
  // §18.2.1: `received` would name the source address; the layer does not
  // depend on the transport having added it to the message.
  ParsedVia v("SIP/2.0/UDP client.example.org:5070;branch=z9hG4bK1");
  auto to = responseDestination(v.via, udpPeer("198.51.100.7", 61000));
  EXPECT_EQ(to.address, "198.51.100.7");
  EXPECT_EQ(to.port, 5070);
}

TEST(ResponseDestination, UdpWithoutAnyPortDefaultsTo5060) {
  ParsedVia v("SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK1");
  auto to = responseDestination(v.via, udpPeer("198.51.100.7", 61000));
  EXPECT_EQ(to.port, 5060);
}

TEST(ResponseDestination, KeepsTheListenerTheRequestArrivedOn) {
  ParsedVia v("SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK1;rport");
  sip::Peer source = udpPeer("198.51.100.7", 61000);
  source.listenerIndex = 3;
  EXPECT_EQ(responseDestination(v.via, source).listenerIndex, 3);
}

TEST(ResponseDestination, TcpUsesTheSameConnectionWithSentByFallback) {
  ParsedVia v("SIP/2.0/TCP client.example.org:5070;branch=z9hG4bK1;received=198.51.100.7");
  auto to = responseDestination(v.via, tcpPeer("198.51.100.7", 40001));
  EXPECT_EQ(to.transport, sip::Transport::Tcp);
  EXPECT_EQ(to.connectionId, 7U);
  EXPECT_EQ(to.address, "198.51.100.7");
  EXPECT_EQ(to.port, 5070);
}

TEST(ResponseDestination, TcpWithoutPortFallsBackTo5060) {
  ParsedVia v("SIP/2.0/TCP client.example.org;branch=z9hG4bK1");
  auto to = responseDestination(v.via, tcpPeer("198.51.100.7", 40001));
  EXPECT_EQ(to.connectionId, 7U);
  EXPECT_EQ(to.address, "198.51.100.7");
  EXPECT_EQ(to.port, 5060);
}

TEST(ResponseDestination, TcpWithRportFallsBackToTheRportOrSourcePort) {
  ParsedVia filled("SIP/2.0/TCP 10.0.0.5:5070;branch=z9hG4bK1;rport=40001");
  EXPECT_EQ(responseDestination(filled.via, tcpPeer("198.51.100.7", 40001)).port, 40001);
  ParsedVia empty("SIP/2.0/TCP 10.0.0.5:5070;branch=z9hG4bK1;rport");
  EXPECT_EQ(responseDestination(empty.via, tcpPeer("198.51.100.7", 40002)).port, 40002);
}

TEST(ResponseDestination, BracketedIpv6ReceivedIsStoredBare) {
  ParsedVia v("SIP/2.0/UDP [2001:db8::5]:5070;branch=z9hG4bK1;received=[2001:db8::9]");
  auto to = responseDestination(v.via, udpPeer("2001:db8::9", 61000));
  EXPECT_EQ(to.address, "2001:db8::9");
  EXPECT_EQ(to.port, 5070);
}

}  // namespace
}  // namespace parley::txn::test
