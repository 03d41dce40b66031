// Building responses the way RFC 3261 §8.2.6 says a UAS must.
#pragma once

#include <string>
#include <string_view>

#include "parley/sip/message.hpp"
#include "parley/sip/peer.hpp"

namespace parley::sip {

/// The first Via row of a request as a response must carry it: its first element
/// gets `received=` when the sent-by host differs from `source` (RFC 3261
/// §18.2.1) and a valueless `rport` gets the source port (RFC 3581 §4); any
/// comma-joined rest of the row is kept. `topVia` is the parsed first element.
[[nodiscard]] std::string stampTopViaRow(std::string_view row, const Via& topVia, const Peer& source);

/// The RFC's default reason phrase for a status code ("OK", "Not Found" ...).
[[nodiscard]] std::string_view reasonPhrase(int code);

/// A response to `req` (§8.2.6.2): every Via row copied in order, From, Call-ID
/// and CSeq copied, To copied with `toTag` appended when the request's To has
/// no tag (and toTag is non-empty; never on 100). When `source` is given, the
/// top Via gets `received=` if its sent-by host differs from the source
/// address (§18.2.1) and a valueless `rport` is filled in (RFC 3581 §4).
/// `reason` empty means reasonPhrase(code). Works on partially parsed requests
/// (ParseFailure::partial): missing headers are simply not copied.
[[nodiscard]] Message makeResponse(const Message& req, int code, std::string_view reason = {},
                                   std::string_view toTag = {}, const Peer* source = nullptr);

}  // namespace parley::sip
