#include "parley/sip/uri.hpp"

#include <charconv>

#include "grammar.hpp"
#include "parley/sip/header_values.hpp"

namespace parley::sip {
using namespace grammar;

std::string_view describe(UriError e) {
  switch (e) {
    case UriError::Empty: return "empty URI";
    case UriError::NoScheme: return "URI without scheme";
    case UriError::BadScheme: return "invalid URI scheme";
    case UriError::BadUser: return "invalid user part in URI";
    case UriError::BadHost: return "invalid host in URI";
    case UriError::BadPort: return "invalid port in URI";
    case UriError::BadParam: return "invalid URI parameter";
    case UriError::BadEscape: return "invalid %-escape in URI";
  }
  return "invalid URI";
}

std::optional<std::string_view> Uri::param(std::string_view name) const {
  for (const auto& p : params)
    if (iequals(p.name, name)) return p.value;
  return std::nullopt;
}

bool Uri::hasParam(std::string_view name) const { return param(name).has_value(); }

namespace {

bool escapesValid(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

tl::expected<void, UriError> parseSipBody(std::string_view s, Uri& uri) {
  // [userinfo "@"] hostport *(";" param) ["?" headers]
  const std::size_t at = s.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = s.substr(0, at);
    s = s.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    uri.user = userinfo.substr(0, colon);
    if (colon != std::string_view::npos) uri.password = userinfo.substr(colon + 1);
    // allOf(..., true) accepts only well-formed %HH, so one pass validates both;
    // escapesValid() only tells the two failures apart.
    if (uri.user.empty() || !allOf(uri.user, kUnreserved | kUserExtra, true) ||
        !allOf(uri.password, kUnreserved | kPasswordExtra, true))
      return tl::unexpected(escapesValid(userinfo) ? UriError::BadUser : UriError::BadEscape);
  }
  const std::size_t q = s.find('?');
  if (q != std::string_view::npos) {
    uri.headers = s.substr(q + 1);
    // headers = hname "=" hvalue *( "&" hname "=" hvalue )
    for (char c : uri.headers)
      if (!(is(c, kUnreserved | kHeaderExtra) || c == '=' || c == '&' || c == '%'))
        return tl::unexpected(UriError::BadParam);
    if (!escapesValid(uri.headers)) return tl::unexpected(UriError::BadEscape);
    s = s.substr(0, q);
  }
  // hostport: IPv6 reference may contain ':'.
  std::size_t hostEnd;
  if (!s.empty() && s.front() == '[') {
    hostEnd = s.find(']');
    if (hostEnd == std::string_view::npos) return tl::unexpected(UriError::BadHost);
    ++hostEnd;
  } else {
    hostEnd = 0;
    while (hostEnd < s.size() && s[hostEnd] != ':' && s[hostEnd] != ';') ++hostEnd;
  }
  uri.host = s.substr(0, hostEnd);
  if (!isHost(uri.host)) return tl::unexpected(UriError::BadHost);
  s = s.substr(hostEnd);
  if (!s.empty() && s.front() == ':') {
    std::size_t p = 1;
    while (p < s.size() && s[p] != ';') ++p;
    if (!parsePort(s.substr(1, p - 1), uri.port)) return tl::unexpected(UriError::BadPort);
    s = s.substr(p);
  }
  if (!s.empty() && !parseParams(s, uri.params, false))
    return tl::unexpected(escapesValid(s) ? UriError::BadParam : UriError::BadEscape);
  return {};
}

}  // namespace

tl::expected<Uri, UriError> parseUri(std::string_view text) {
  if (text.empty()) return tl::unexpected(UriError::Empty);
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return tl::unexpected(UriError::NoScheme);
  Uri uri;
  uri.schemeText = text.substr(0, colon);
  if (!is(uri.schemeText[0], kAlnum) || isDigit(uri.schemeText[0]))
    return tl::unexpected(UriError::BadScheme);
  for (char c : uri.schemeText)
    if (!(is(c, kAlnum) || c == '+' || c == '-' || c == '.')) return tl::unexpected(UriError::BadScheme);
  uri.opaque = text.substr(colon + 1);
  if (iequals(uri.schemeText, "sip")) uri.scheme = Scheme::Sip;
  else if (iequals(uri.schemeText, "sips")) uri.scheme = Scheme::Sips;
  else if (iequals(uri.schemeText, "tel")) uri.scheme = Scheme::Tel;
  else uri.scheme = Scheme::Other;

  if (uri.isSip()) {
    if (auto r = parseSipBody(uri.opaque, uri); !r) return tl::unexpected(r.error());
  } else {
    if (uri.opaque.empty()) return tl::unexpected(UriError::Empty);
    for (char c : uri.opaque)
      if (static_cast<unsigned char>(c) <= 0x20 || c == '<' || c == '>' || c == '"' || c == 0x7f)
        return tl::unexpected(UriError::BadParam);
  }
  return uri;
}

void appendUri(std::string& out, const Uri& uri) {
  for (char c : uri.schemeText) out.push_back(lower(c));
  out.push_back(':');
  if (!uri.isSip()) {
    out.append(uri.opaque);
    return;
  }
  if (!uri.user.empty()) {
    out.append(uri.user);
    if (!uri.password.empty()) {
      out.push_back(':');
      out.append(uri.password);
    }
    out.push_back('@');
  }
  out.append(uri.host);
  if (uri.port != 0) {
    char buf[8];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, uri.port);
    out.push_back(':');
    out.append(buf, end);
  }
  for (const auto& p : uri.params) {
    out.push_back(';');
    out.append(p.name);
    if (p.hasValue) {
      out.push_back('=');
      out.append(p.value);
    }
  }
  if (!uri.headers.empty()) {
    out.push_back('?');
    out.append(uri.headers);
  }
}

std::string toString(const Uri& uri) {
  std::string s;
  s.reserve(uri.opaque.size() + 8);
  appendUri(s, uri);
  return s;
}

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) {
    return isDigit(c) ? c - '0' : (lower(c) - 'a' + 10);
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && isHex(text[i + 1]) && isHex(text[i + 2])) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string addressOfRecord(const Uri& uri) {
  if (!uri.isSip() || uri.user.empty() || uri.host.empty()) return {};
  std::string aor = uri.scheme == Scheme::Sips ? "sips:" : "sip:";
  aor += unescape(uri.user);
  aor += '@';
  for (char c : uri.host) aor.push_back(lower(c));
  return aor;
}

namespace {
bool paramEquals(const Uri& a, const Uri& b, std::string_view name, bool mustMatchIfEither) {
  const auto va = a.param(name);
  const auto vb = b.param(name);
  if (!va && !vb) return true;
  if (!va || !vb) return !mustMatchIfEither;
  return iequals(unescape(*va), unescape(*vb));
}
}  // namespace

bool equivalent(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) return false;
  if (!a.isSip()) return iequals(a.schemeText, b.schemeText) && a.opaque == b.opaque;
  // RFC 3261 §19.1.4: userinfo case-sensitive after unescaping; host case-insensitive;
  // port, transport, user, ttl, method, maddr must match when present in either;
  // other params compared only when present in both.
  if (unescape(a.user) != unescape(b.user) || unescape(a.password) != unescape(b.password))
    return false;
  if (!iequals(a.host, b.host) || a.port != b.port) return false;
  for (std::string_view n : {"transport", "user", "ttl", "method", "maddr"})
    if (!paramEquals(a, b, n, true)) return false;
  for (const auto& p : a.params)
    if (!paramEquals(a, b, p.name, false)) return false;
  return true;
}

}  // namespace parley::sip
