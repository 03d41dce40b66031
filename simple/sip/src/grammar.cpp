#include "grammar.hpp"

#include <arpa/inet.h>

#include <string>

namespace parley::sip::grammar {

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is(c, kToken)) return false;
  return true;
}

bool allOf(std::string_view s, std::uint8_t cls, bool allowEscapes) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (is(c, cls)) continue;
    if (allowEscapes && c == '%' && i + 2 < s.size() &&
        isHex(s[i + 1]) && isHex(s[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

namespace {
bool isIpv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 64) return false;
  char buf[65];
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

bool isHostname(std::string_view s) {
  // hostname = *( domainlabel "." ) toplabel [ "." ]; labels of alphanum and '-',
  // not starting or ending with '-'. IPv4 dotted quads match this as well.
  if (s.empty() || s.size() > 255) return false;
  std::size_t labelStart = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.') {
      if (i == labelStart || s[i - 1] == '-' || i - labelStart > 63) return false;
      labelStart = i + 1;
    } else if (!is(c, kHostChar)) {
      return false;
    } else if (c == '-' && i == labelStart) {
      return false;
    }
  }
  return s.back() != '-' && s.size() - labelStart <= 63;
}
}  // namespace

bool isHost(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == '[') return s.back() == ']' && isIpv6(s.substr(1, s.size() - 2));
  return isHostname(s);
}

bool parsePort(std::string_view s, std::uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  std::uint32_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

std::size_t quotedLength(std::string_view s) {
  if (s.empty() || s.front() != '"') return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      if (i + 1 >= s.size()) return 0;
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next == '\r' || next == '\n') return 0;  // quoted-pair excludes CR/LF
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return 0;
}

bool parseParams(std::string_view s, std::vector<Param>& out, bool allowQuoted) {
  s = trimLeft(s);
  while (!s.empty()) {
    if (s.front() != ';') return false;
    s = trimLeft(s.substr(1));
    std::size_t n = 0;
    while (n < s.size() && s[n] != '=' && s[n] != ';' && !isWs(s[n])) ++n;
    Param p;
    p.name = s.substr(0, n);
    if (p.name.empty()) return false;
    if (!allOf(p.name, kToken | kParamExtra | kUnreserved, true)) return false;
    s = trimLeft(s.substr(n));
    if (!s.empty() && s.front() == '=') {
      s = trimLeft(s.substr(1));
      p.hasValue = true;
      if (!s.empty() && s.front() == '"') {
        if (!allowQuoted) return false;
        const std::size_t q = quotedLength(s);
        if (q == 0) return false;
        p.value = s.substr(0, q);
        s = s.substr(q);
      } else {
        std::size_t v = 0;
        while (v < s.size() && s[v] != ';' && !isWs(s[v])) ++v;
        p.value = s.substr(0, v);
        if (p.value.empty()) return false;
        if (!allOf(p.value, kToken | kParamExtra | kUnreserved, true)) return false;
        s = s.substr(v);
      }
      s = trimLeft(s);
    }
    if (out.capacity() == 0) out.reserve(4);  // one allocation for the usual handful
    out.push_back(p);
  }
  return true;
}

}  // namespace parley::sip::grammar
