#include "parley/sip/header_values.hpp"

#include "grammar.hpp"

namespace parley::sip {
using namespace grammar;

std::string_view describe(ValueError e) {
  switch (e) {
    case ValueError::Empty: return "empty value";
    case ValueError::BadViaProtocol: return "malformed Via protocol";
    case ValueError::BadViaVersion: return "unsupported SIP version in Via";
    case ValueError::BadViaSentBy: return "malformed Via sent-by";
    case ValueError::BadParam: return "malformed parameter";
    case ValueError::BadQuotedString: return "malformed quoted string";
    case ValueError::BadNameAddr: return "malformed name-addr";
    case ValueError::BadUri: return "malformed URI";
    case ValueError::BadCSeqNumber: return "CSeq number out of range";
    case ValueError::BadCSeqMethod: return "malformed CSeq method";
    case ValueError::BadInteger: return "malformed integer";
    case ValueError::BadToken: return "malformed token";
  }
  return "malformed value";
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

namespace {
std::optional<std::string_view> findParam(const std::vector<Param>& params, std::string_view name) {
  for (const auto& p : params)
    if (iequals(p.name, name)) return p.value;
  return std::nullopt;
}

// Reads a token followed by optional LWS; returns the token (may be empty).
std::string_view takeToken(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && is(s[n], kToken)) ++n;
  std::string_view t = s.substr(0, n);
  s = trimLeft(s.substr(n));
  return t;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s = trimLeft(s.substr(1));
  return true;
}
}  // namespace

std::optional<std::string_view> NameAddr::param(std::string_view name) const {
  return findParam(params, name);
}

std::optional<std::string_view> TokenParams::param(std::string_view name) const {
  return findParam(params, name);
}

tl::expected<Via, ValueError> parseVia(std::string_view value) {
  // sent-protocol LWS sent-by *( SEMI via-params ); LWS allowed around '/' (§25.1).
  std::string_view s = trim(value);
  if (s.empty()) return tl::unexpected(ValueError::Empty);
  Via via;
  const std::string_view name = takeToken(s);
  if (name.empty() || !expect(s, '/')) return tl::unexpected(ValueError::BadViaProtocol);
  const std::string_view version = takeToken(s);
  if (version.empty() || !expect(s, '/')) return tl::unexpected(ValueError::BadViaProtocol);
  if (!iequals(name, "SIP")) return tl::unexpected(ValueError::BadViaProtocol);
  // Any x.y is syntactically fine here; the message parser decides what it accepts.
  const std::size_t dot = version.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == version.size())
    return tl::unexpected(ValueError::BadViaVersion);
  for (std::size_t i = 0; i < version.size(); ++i)
    if (i != dot && !isDigit(version[i])) return tl::unexpected(ValueError::BadViaVersion);
  via.version = version;
  via.protocol = "SIP/2.0";
  const char* beforeTransport = s.data();
  via.transport = takeToken(s);
  if (via.transport.empty()) return tl::unexpected(ValueError::BadViaProtocol);
  if (s.data() == beforeTransport + via.transport.size())  // no LWS before sent-by
    return tl::unexpected(ValueError::BadViaSentBy);
  // sent-by = host [ COLON port ]
  std::size_t hostEnd;
  if (!s.empty() && s.front() == '[') {
    hostEnd = s.find(']');
    if (hostEnd == std::string_view::npos) return tl::unexpected(ValueError::BadViaSentBy);
    ++hostEnd;
  } else {
    hostEnd = 0;
    while (hostEnd < s.size() && s[hostEnd] != ':' && s[hostEnd] != ';' && !isWs(s[hostEnd]))
      ++hostEnd;
  }
  via.host = s.substr(0, hostEnd);
  if (!isHost(via.host)) return tl::unexpected(ValueError::BadViaSentBy);
  s = trimLeft(s.substr(hostEnd));
  if (!s.empty() && s.front() == ':') {
    s = trimLeft(s.substr(1));
    std::size_t p = 0;
    while (p < s.size() && isDigit(s[p])) ++p;
    if (!parsePort(s.substr(0, p), via.port) || via.port == 0)
      return tl::unexpected(ValueError::BadViaSentBy);
    s = trimLeft(s.substr(p));
  }
  if (!s.empty() && !parseParams(s, via.params, true)) return tl::unexpected(ValueError::BadParam);
  for (const auto& p : via.params) {
    if (iequals(p.name, "branch")) {
      if (!p.hasValue || !isToken(p.value)) return tl::unexpected(ValueError::BadParam);
      via.branch = p.value;
    } else if (iequals(p.name, "received")) {
      if (!p.hasValue) return tl::unexpected(ValueError::BadParam);
      via.received = p.value;
    } else if (iequals(p.name, "rport")) {
      via.hasRport = true;
      if (p.hasValue) {
        std::uint16_t port = 0;
        if (!parsePort(p.value, port)) return tl::unexpected(ValueError::BadParam);
        via.rport = port;
      }
    }
  }
  return via;
}

tl::expected<NameAddr, ValueError> parseNameAddr(std::string_view value) {
  std::string_view s = trim(value);
  if (s.empty()) return tl::unexpected(ValueError::Empty);
  NameAddr na;
  std::size_t lt = std::string_view::npos;
  if (s.front() == '"') {
    const std::size_t q = quotedLength(s);
    if (q == 0) return tl::unexpected(ValueError::BadQuotedString);
    na.displayName = s.substr(1, q - 2);
    s = trimLeft(s.substr(q));
    if (s.empty() || s.front() != '<') return tl::unexpected(ValueError::BadNameAddr);
    lt = 0;
  } else {
    // display-name as *(token LWS) before '<', or an addr-spec.
    const std::size_t candidate = s.find('<');
    if (candidate != std::string_view::npos) {
      const std::string_view display = trim(s.substr(0, candidate));
      bool onlyTokens = true;
      for (std::string_view rest = display; !rest.empty();) {
        if (takeToken(rest).empty()) {
          onlyTokens = false;
          break;
        }
      }
      if (onlyTokens) {
        lt = candidate;
        na.displayName = display;
      }
    }
  }
  if (lt != std::string_view::npos) {
    s = s.substr(lt + 1);
    const std::size_t gt = s.find('>');
    if (gt == std::string_view::npos) return tl::unexpected(ValueError::BadNameAddr);
    na.uriText = s.substr(0, gt);
    na.angleBrackets = true;
    s = trimLeft(s.substr(gt + 1));
  } else {
    // addr-spec: the URI cannot carry ';' params here, they belong to the header.
    std::size_t end = 0;
    while (end < s.size() && s[end] != ';' && !isWs(s[end])) ++end;
    na.uriText = s.substr(0, end);
    s = trimLeft(s.substr(end));
  }
  auto uri = parseUri(na.uriText);
  if (!uri) return tl::unexpected(ValueError::BadUri);
  na.uri = std::move(*uri);
  if (!s.empty() && !parseParams(s, na.params, true)) return tl::unexpected(ValueError::BadParam);
  return na;
}

tl::expected<CSeq, ValueError> parseCSeq(std::string_view value) {
  std::string_view s = trim(value);
  if (s.empty()) return tl::unexpected(ValueError::Empty);
  std::size_t n = 0;
  std::uint64_t num = 0;
  while (n < s.size() && isDigit(s[n])) {
    num = num * 10 + static_cast<std::uint64_t>(s[n] - '0');
    if (num > 0xffffffffULL) return tl::unexpected(ValueError::BadCSeqNumber);
    ++n;
  }
  if (n == 0) return tl::unexpected(ValueError::BadCSeqNumber);
  if (n == s.size() || !isWs(s[n])) return tl::unexpected(ValueError::BadCSeqMethod);
  CSeq c;
  c.number = static_cast<std::uint32_t>(num);
  c.methodName = trim(s.substr(n));
  if (!isToken(c.methodName)) return tl::unexpected(ValueError::BadCSeqMethod);
  c.method = methodFromToken(c.methodName);
  return c;
}

tl::expected<std::uint32_t, ValueError> parseUnsigned(std::string_view value, std::uint32_t max) {
  const std::string_view s = trim(value);
  if (s.empty() || s.size() > 10) return tl::unexpected(ValueError::BadInteger);
  std::uint64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return tl::unexpected(ValueError::BadInteger);
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return tl::unexpected(ValueError::BadInteger);
  return static_cast<std::uint32_t>(v);
}

namespace {
// Index of the top-level comma that ends the element starting at `from`
// (commas inside quoted strings and <...> do not count), or value.size().
std::size_t elementEnd(std::string_view value, std::size_t from) {
  bool inAngle = false;
  for (std::size_t i = from; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '"') {
      const std::size_t q = quotedLength(value.substr(i));
      if (q == 0) return value.size();  // unterminated: the rest is one element
      i += q - 1;
    } else if (c == '<') {
      inAngle = true;
    } else if (c == '>') {
      inAngle = false;
    } else if (c == ',' && !inAngle) {
      return i;
    }
  }
  return value.size();
}
}  // namespace

std::vector<std::string_view> splitList(std::string_view value) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0; start <= value.size();) {
    const std::size_t end = elementEnd(value, start);
    if (auto e = trim(value.substr(start, end - start)); !e.empty()) out.push_back(e);
    start = end + 1;
  }
  return out;
}

std::string_view firstListElement(std::string_view value) {
  if (value.find(',') == std::string_view::npos) return trim(value);  // the usual case
  for (std::size_t start = 0; start <= value.size();) {
    const std::size_t end = elementEnd(value, start);
    if (auto e = trim(value.substr(start, end - start)); !e.empty()) return e;
    start = end + 1;
  }
  return {};
}

tl::expected<TokenParams, ValueError> parseTokenParams(std::string_view value) {
  std::string_view s = trim(value);
  if (s.empty()) return tl::unexpected(ValueError::Empty);
  TokenParams tp;
  const char* begin = s.data();
  std::string_view first = takeToken(s);
  if (first.empty()) return tl::unexpected(ValueError::BadToken);
  std::size_t len = first.size();
  if (!s.empty() && s.front() == '/') {  // media-type: type "/" subtype
    s = trimLeft(s.substr(1));
    const std::string_view sub = takeToken(s);
    if (sub.empty()) return tl::unexpected(ValueError::BadToken);
    len = static_cast<std::size_t>(sub.data() + sub.size() - begin);
  }
  tp.token = std::string_view(begin, len);
  if (!s.empty() && !parseParams(s, tp.params, true)) return tl::unexpected(ValueError::BadParam);
  return tp;
}

}  // namespace parley::sip
