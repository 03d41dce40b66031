// One SIP listening socket as written in [sip] listen: "<transport>:<host>:<port>".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace parley::config {

// SIP transports Parley can listen on (RFC 3261 §18). TLS/SCTP are not supported.
enum class Transport {
  Udp,  ///< RFC 3261 §18 datagram transport
  Tcp,  ///< RFC 3261 §18 stream transport
};

struct ListenAddress {
  Transport transport = Transport::Udp;
  std::string host;        ///< IP literal without brackets, canonical form (inet_ntop)
  std::uint16_t port = 0;  ///< 0 means "let the kernel pick a free port"
  bool ipv6 = false;
  std::string text;        ///< the entry exactly as written in the file

  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// "udp" / "tcp".
[[nodiscard]] std::string_view toString(Transport transport);

// Parses "<transport>:<host>:<port>", e.g. "udp:127.0.0.1:5060" or "tcp:[::1]:0".
// The transport is case-insensitive. The host must be an IP literal (IPv4 dotted quad, or
// IPv6 in brackets): a hostname would need a DNS lookup, which would block start-up and
// the event loop. On failure returns a message without key or position, e.g.
// `unknown transport "sctp"`.
[[nodiscard]] tl::expected<ListenAddress, std::string> parseListenAddress(std::string_view text);

}  // namespace parley::config
