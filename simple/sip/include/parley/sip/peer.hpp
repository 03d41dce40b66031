// Where a message came from or goes to, as the transport layer sees it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::sip {

enum class Transport : std::uint8_t { Udp, Tcp };

/// A remote party on one of our transports.
struct Peer {
  Transport transport = Transport::Udp;
  std::string address;              ///< IP literal without brackets ("127.0.0.1", "::1")
  std::uint16_t port = 0;
  std::uint64_t connectionId = 0;   ///< TCP: the connection it arrived on (0 = none / open a new one)
  std::uint16_t listenerIndex = 0;  ///< UDP: the listening socket it arrived on (send replies from it)

  friend bool operator==(const Peer&, const Peer&) = default;
};

/// "udp:192.0.2.1:5060", "tcp:[2001:db8::1]:5061": a peer's transport, address and
/// port as stored with state that outlives a connection (a binding's or a
/// subscription's source). The connection and listener are not kept: sending to
/// it reuses a live connection to that address or opens one.
[[nodiscard]] std::string formatPeer(const Peer& p);
/// The inverse of formatPeer; nullopt for anything else (port 0 included).
[[nodiscard]] std::optional<Peer> parsePeer(std::string_view text);

/// The hop a Route or Path value names (RFC 3261 §16.12 loose routing, RFC
/// 3327), when its host is an IP literal: port 5060 if absent, the URI's
/// transport parameter (tcp, else udp) or `defaultTransport` without one.
/// nullopt for anything else: we resolve no names (RFC 3263).
[[nodiscard]] std::optional<Peer> routeHop(std::string_view route, Transport defaultTransport);

[[nodiscard]] inline bool isReliable(Transport t) { return t == Transport::Tcp; }

}  // namespace parley::sip
