// Helpers for SIP unit tests.
#pragma once

#include <string>
#include <string_view>

namespace parley::sip::test {

/// Converts "\n" line ends to CRLF so test messages can be written readably.
inline std::string crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 32);
  for (char c : text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

}  // namespace parley::sip::test
