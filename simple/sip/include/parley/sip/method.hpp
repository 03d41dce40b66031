// SIP methods. Method names are case-sensitive (RFC 3261 §7.1).
#pragma once

#include <cstdint>
#include <string_view>

namespace parley::sip {

enum class Method : std::uint8_t {
  Unknown,  // an extension method we do not know (RFC 3261 §21.5.2: 501)
  Invite, Ack, Bye, Cancel, Options, Register,      // RFC 3261
  Subscribe, Notify,                                // RFC 6665
  Publish,                                          // RFC 3903
  Message,                                          // RFC 3428
  Info, Prack, Update, Refer,                       // RFC 6086, 3262, 3311, 3515
};

/// Exact, case-sensitive match of a method token; Unknown otherwise.
[[nodiscard]] Method methodFromToken(std::string_view token);
/// Canonical token; empty for Unknown.
[[nodiscard]] std::string_view methodName(Method m);

}  // namespace parley::sip
