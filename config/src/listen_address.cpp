// Parsing of [sip] listen entries: "<transport>:<host>:<port>".
#include "parley/config/listen_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "host_util.hpp"
#include "text_util.hpp"

namespace parley::config {
namespace {

constexpr std::string_view kShape = R"(expected "<transport>:<host>:<port>", e.g. "udp:127.0.0.1:5060")";

tl::unexpected<std::string> fail(std::string message) { return tl::unexpected(std::move(message)); }

// "0".."65535", decimal digits only (no sign, no spaces).
std::optional<std::uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}


}  // namespace

std::string_view toString(Transport transport) {
  switch (transport) {
    case Transport::Udp: return "udp";
    case Transport::Tcp: return "tcp";
  }
  return "?";
}

tl::expected<ListenAddress, std::string> parseListenAddress(std::string_view text) {
  using detail::quote;
  ListenAddress out;
  out.text = std::string(text);

  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return fail(std::string(kShape));
  const std::string_view transport = text.substr(0, colon);
  if (detail::iequals(transport, "udp")) {
    out.transport = Transport::Udp;
  } else if (detail::iequals(transport, "tcp")) {
    out.transport = Transport::Tcp;
  } else {
    return fail("unknown transport " + quote(transport));
  }

  // Split "<host>:<port>": an IPv6 host is bracketed (RFC 3986 §3.2.2) because its colons
  // would otherwise be ambiguous with the port separator.
  const std::string_view rest = text.substr(colon + 1);
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 >= rest.size() || rest[close + 1] != ':') return fail(std::string(kShape));
    port = rest.substr(close + 2);
    out.ipv6 = true;
  } else {
    const auto last = rest.rfind(':');
    if (last == std::string_view::npos) return fail(std::string(kShape));
    host = rest.substr(0, last);
    port = rest.substr(last + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail("IPv6 address " + quote(host) + " must be in brackets, e.g. \"udp:[::1]:5060\"");
    }
  }

  if (host.empty()) return fail("missing host");
  // A name here would need a DNS lookup, which blocks start-up (and the loop on reload).
  auto canonical = detail::ipLiteral(host, out.ipv6);
  if (!canonical) return fail(std::move(canonical.error()));
  out.host = std::move(*canonical);

  const auto portValue = parsePort(port);
  if (!portValue) return fail("invalid port " + quote(port) + " (expected 0..65535)");
  out.port = *portValue;
  return out;
}

}  // namespace parley::config
