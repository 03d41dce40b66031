// Internal: character classes and small scanners shared by the URI, header-value
// and message parsers (RFC 3261 §25.1). Not part of the public API.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "parley/sip/uri.hpp"

namespace parley::sip::grammar {

enum CharClass : std::uint8_t {
  kAlnum = 1 << 0,
  kToken = 1 << 1,        // token: alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'" "~"
  kUnreserved = 1 << 2,   // alphanum / mark
  kUserExtra = 1 << 3,    // user-unreserved: & = + $ , ; ? /
  kParamExtra = 1 << 4,   // param-unreserved: [ ] / : & + $
  kHostChar = 1 << 5,     // alphanum / "-" / "."
  kPasswordExtra = 1 << 6,// & = + $ ,
  kHeaderExtra = 1 << 7,  // hnv-unreserved: [ ] / ? : + $
};

struct Table {
  std::array<std::uint8_t, 256> bits{};
  constexpr Table() {
    auto set = [this](std::string_view chars, std::uint8_t b) {
      for (char c : chars) bits[static_cast<unsigned char>(c)] |= b;
    };
    for (int c = 0; c < 256; ++c) {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (alnum) bits[static_cast<std::size_t>(c)] |= kAlnum | kToken | kUnreserved | kHostChar;
    }
    set("-.!%*_+`'~", kToken);
    set("-_.!~*'()", kUnreserved);
    set("&=+$,;?/", kUserExtra);
    set("[]/:&+$", kParamExtra);
    set("-.", kHostChar);
    set("&=+$,", kPasswordExtra);
    set("[]/?:+$", kHeaderExtra);
  }
};
inline constexpr Table kTable{};

inline bool is(char c, std::uint8_t cls) { return (kTable.bits[static_cast<unsigned char>(c)] & cls) != 0; }
inline bool isWs(char c) { return c == ' ' || c == '\t'; }
inline bool isDigit(char c) { return c >= '0' && c <= '9'; }
inline bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline char lower(char c) {  // branch-free ASCII tolower
  return static_cast<char>(c | (static_cast<unsigned char>(c - 'A') < 26u ? 0x20 : 0));
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && isWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && isWs(s.back())) s.remove_suffix(1);
  return s;
}
inline std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isWs(s.front())) s.remove_prefix(1);
  return s;
}

bool isToken(std::string_view s);
/// Every byte is in `cls` or is a valid %HH escape.
bool allOf(std::string_view s, std::uint8_t cls, bool allowEscapes);
/// hostname / IPv4address / "[" IPv6address "]".
bool isHost(std::string_view s);
/// 1*5DIGIT in 0..65535.
bool parsePort(std::string_view s, std::uint16_t& out);

/// Parses header/URI parameters from `s`, which starts at the first ';'
/// (leading whitespace allowed). Values may be tokens, hosts or quoted strings
/// (quotes kept in the view). Stops at the end of `s`. Returns false on a
/// malformed parameter.
bool parseParams(std::string_view s, std::vector<Param>& out, bool allowQuoted);

/// Length of a quoted string starting at s[0] == '"' including both quotes, or
/// 0 if unterminated / bad escape.
std::size_t quotedLength(std::string_view s);

}  // namespace parley::sip::grammar
