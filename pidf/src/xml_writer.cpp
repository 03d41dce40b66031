#include "xml_writer.hpp"

#include <utility>

namespace parley::pidf::detail {

void appendText(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
}

void appendAttr(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out.push_back(c);
    }
  }
}

void ExtensionCapture::closePendingTag() {
  if (pending_) {
    out_.push_back('>');
    pending_ = false;
  }
}

void ExtensionCapture::start(const XmlName& name, const std::vector<XmlAttr>& attrs) {
  closePendingTag();
  out_.push_back('<');
  out_ += name.local;
  if (stack_.empty() || stack_.back() != name.uri) {
    out_ += " xmlns=\"";
    appendAttr(out_, name.uri);
    out_.push_back('"');
  }
  std::size_t prefix = 0;
  for (const auto& a : attrs) {
    out_.push_back(' ');
    if (a.uri == kNsXml) {
      out_ += "xml:";
    } else if (!a.uri.empty()) {
      const std::string p = "a" + std::to_string(prefix++);
      out_ += "xmlns:" + p + "=\"";
      appendAttr(out_, a.uri);
      out_ += "\" " + p + ":";
    }
    out_ += a.local;
    out_ += "=\"";
    appendAttr(out_, a.value);
    out_.push_back('"');
  }
  pending_ = true;
  stack_.push_back(name.uri);
}

void ExtensionCapture::text(std::string_view s) {
  if (s.empty()) return;
  closePendingTag();
  appendText(out_, s);
}

bool ExtensionCapture::end(const XmlName& name) {
  if (pending_) {
    out_ += "/>";
    pending_ = false;
  } else {
    out_ += "</";
    out_ += name.local;
    out_.push_back('>');
  }
  stack_.pop_back();
  return stack_.empty();
}

std::string ExtensionCapture::take() {
  std::string r = std::move(out_);
  out_.clear();
  return r;
}

}  // namespace parley::pidf::detail
