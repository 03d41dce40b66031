// Internal: a hardened Xerces SAX2 reader that hands UTF-8 events to a sink.
// No Xerces type appears here, so the document parsers stay Xerces-free.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/pidf/document_error.hpp"

namespace parley::pidf::detail {

inline constexpr std::string_view kNsPidf = "urn:ietf:params:xml:ns:pidf";
inline constexpr std::string_view kNsDataModel = "urn:ietf:params:xml:ns:pidf:data-model";
inline constexpr std::string_view kNsRpid = "urn:ietf:params:xml:ns:pidf:rpid";
inline constexpr std::string_view kNsJabber = "jabber:client";
inline constexpr std::string_view kNsDialogInfo = "urn:ietf:params:xml:ns:dialog-info";
inline constexpr std::string_view kNsXml = "http://www.w3.org/XML/1998/namespace";

struct Position {
  std::size_t line = 0;
  std::size_t column = 0;
};

struct XmlAttr {
  std::string uri;  // empty for unqualified attributes
  std::string local;
  std::string value;
};

struct XmlName {
  std::string uri;
  std::string local;
  bool is(std::string_view u, std::string_view l) const { return uri == u && local == l; }
};

// Receives the document's events. Returning an error stops the parse.
class SaxSink {
 public:
  virtual ~SaxSink() = default;
  virtual std::optional<DocumentError> start(const XmlName& name,
                                             const std::vector<XmlAttr>& attrs,
                                             Position at) = 0;
  virtual std::optional<DocumentError> end(const XmlName& name, Position at) = 0;
  virtual void text(std::string_view utf8) = 0;
};

// Parses `xml` (refused as TooLarge beyond limits.maxBytes, before Xerces runs),
// enforcing maxDepth and maxElements. Returns the first error, if any.
std::optional<DocumentError> runSax(std::string_view xml, const Limits& limits, SaxSink& sink);

// Where a DOCTYPE declaration starts in the prolog (the BOM, XML declaration,
// comments, processing instructions and whitespace before the root element),
// or nullopt if there is none.
std::optional<Position> prologDoctype(std::string_view xml);

// "what at line:col", the shape of every error message.
DocumentError makeError(DocumentError::Code code, std::string_view what, Position at);

// Value of the unqualified attribute `local`, or nullptr.
const std::string* findAttr(const std::vector<XmlAttr>& attrs, std::string_view local);

// Removes leading/trailing XML whitespace (for xs:token-like values).
std::string_view trimXml(std::string_view s);

}  // namespace parley::pidf::detail
