// Writes a Message to wire bytes (RFC 3261 §7): start line, headers in order
// with canonical long names (Other headers keep the name they arrived with),
// Content-Length computed from the body, blank line, body.
#pragma once

#include <string>

#include "parley/sip/message.hpp"

namespace parley::sip {

/// Appends the wire form of `msg` to `out`.
void serialize(const Message& msg, std::string& out);
[[nodiscard]] std::string serialize(const Message& msg);

}  // namespace parley::sip
