// Serializers: UTF-8 XML with declaration, text and attributes escaped,
// elements in schema order. Output of serializeX parses back with parseX to
// an equal model (priority is written with at most 3 decimals, RFC 3863 §4.1.5).
#pragma once

#include <string>

#include "parley/pidf/dialog_info.hpp"
#include "parley/pidf/presence.hpp"

namespace parley::pidf {

[[nodiscard]] std::string serializePidf(const PresenceDocument& doc);
[[nodiscard]] std::string serializeDialogInfo(const DialogInfo& info);

}  // namespace parley::pidf
