// Hardened parsers for presence documents (Xerces-C SAX2, one reused reader
// per thread; no DOCTYPE, no entity or DTD fetch, capped size/depth/count).
// Safe to call from several threads at once.
#pragma once

#include <optional>
#include <string_view>

#include <tl/expected.hpp>

#include "parley/pidf/dialog_info.hpp"
#include "parley/pidf/document_error.hpp"
#include "parley/pidf/presence.hpp"

namespace parley::pidf {

// application/pidf+xml [RFC 3863] with RFC 4479/4480 elements. Lenient about
// element order (Asterisk puts <note> before tuples); strict about what the
// RFC makes mandatory (entity, tuple id, status, basic values, priority).
[[nodiscard]] tl::expected<PresenceDocument, DocumentError> parsePidf(
    std::string_view xml, const Limits& limits = {});

// application/dialog-info+xml [RFC 4235 §4].
[[nodiscard]] tl::expected<DialogInfo, DocumentError> parseDialogInfo(
    std::string_view xml, const Limits& limits = {});

// Whether `xml` parses as parsePidf / parseDialogInfo would, under `limits`:
// the first error, or nullopt. The parsed document is kept for a later parse
// of the same bytes (a publisher validates a body its watchers' NOTIFY will
// compose a moment later) without being copied out.
[[nodiscard]] std::optional<DocumentError> validatePidf(std::string_view xml,
                                                        const Limits& limits = {});
[[nodiscard]] std::optional<DocumentError> validateDialogInfo(std::string_view xml,
                                                              const Limits& limits = {});

}  // namespace parley::pidf
