// Small helpers over gloox::Tag for building and answering stanzas (RFC 6120 §8).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <gloox/tag.h>

namespace parley::xmpp {

inline constexpr std::string_view kStanzasNs = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// The value of an attribute, empty when absent.
[[nodiscard]] inline const std::string& attr(const gloox::Tag& tag, const std::string& name) {
  return tag.findAttribute(name);
}

/// The xml:lang of a Tag, empty when absent. gloox's parser keeps a prefixed
/// attribute as name "lang" with prefix "xml", so findAttribute("xml:lang")
/// never finds it on a parsed stanza; Tags built in code may use either form.
[[nodiscard]] std::string xmlLang(const gloox::Tag& tag);

/// A new stanza of `kind` ("presence", "message", "iq") with from/to (and type when non-empty).
[[nodiscard]] std::unique_ptr<gloox::Tag> makeStanza(std::string_view kind, std::string_view from,
                                                     std::string_view to, std::string_view type = {});

/// The error answer to `in` (RFC 6120 §8.3): same kind, type='error', from and
/// to swapped, the same id, one condition in the stanzas namespace and an
/// optional text. nullptr when `in` is itself an error (never answer an error
/// with an error, §8.3.1) or when it has no 'from' to answer to.
[[nodiscard]] std::unique_ptr<gloox::Tag> errorReply(const gloox::Tag& in, std::string_view condition,
                                                     std::string_view errorType, std::string_view text = {});

}  // namespace parley::xmpp
