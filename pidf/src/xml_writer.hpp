// Internal: escaping and the re-serializer that keeps unknown extension
// elements [RFC 3863 §4.2.3] as self-contained XML text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sax_reader.hpp"

namespace parley::pidf::detail {

// Character data: & < > escaped.
void appendText(std::string& out, std::string_view s);
// Attribute value (for "..." quoting): & < > " ' and TAB/LF/CR escaped, so
// attribute-value normalization does not change them on re-parse.
void appendAttr(std::string& out, std::string_view s);

// Rebuilds one element subtree from SAX events. Each element whose
// namespace differs from its parent's declares it as the default namespace
// (the subtree root always does); namespaced attributes get a0:, a1: ...
class ExtensionCapture {
 public:
  bool active() const { return !stack_.empty(); }
  void start(const XmlName& name, const std::vector<XmlAttr>& attrs);
  void text(std::string_view s);
  // Returns true when the subtree root closed; take() then yields the XML.
  bool end(const XmlName& name);
  std::string take();

 private:
  void closePendingTag();

  std::string out_;
  std::vector<std::string> stack_;  // namespace URI in effect per open element
  bool pending_ = false;            // start tag written without its '>'
};

}  // namespace parley::pidf::detail
