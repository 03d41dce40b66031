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

  // A name here would need a DNS lookup, which blocks start-up (and the loop on reload).
  auto split = detail::splitHostPort(text.substr(colon + 1), kShape, "udp:[::1]:5060");
  if (!split) return fail(std::move(split.error()));
  out.host = std::move(split->host);
  out.ipv6 = split->ipv6;
  const auto portValue = detail::parsePort(split->port, true);
  if (!portValue) return fail("invalid port " + quote(split->port) + " (expected 0..65535)");
  out.port = *portValue;
  return out;
}

}  // namespace parley::config
