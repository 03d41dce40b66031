// Identifiers that RFC 3261 wants unpredictable: tags (§19.3, at least 32 bits
// of randomness) and branches (§8.1.1.7, "z9hG4bK" + unique). Drawn from the
// kernel CSPRNG (getrandom) through a small per-thread buffer, so a tag costs a
// copy, not a system call.
#pragma once

#include <string>

namespace parley::sip {

/// `bytes` random bytes as lower-case hex (2·bytes characters).
[[nodiscard]] std::string randomHex(std::size_t bytes);
/// `chars` random characters of a 64-symbol alphabet that is all token
/// characters (RFC 3261 §25.1: A-Z a-z 0-9 - .): 6 random bits each.
[[nodiscard]] std::string randomToken(std::size_t chars);
/// A To/From tag: 64 random bits as 16 hex characters.
[[nodiscard]] std::string newTag();
/// A branch for a request we originate: "z9hG4bK" + 96 random bits.
[[nodiscard]] std::string newBranch();

}  // namespace parley::sip
