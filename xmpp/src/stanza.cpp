#include "parley/xmpp/stanza.hpp"

namespace parley::xmpp {

std::string xmlLang(const gloox::Tag& tag) {
  for (const gloox::Tag::Attribute* a : tag.attributes())
    if (a->name() == "xml:lang" || (a->name() == "lang" && a->prefix() == "xml")) return a->value();
  return {};
}

std::unique_ptr<gloox::Tag> makeStanza(std::string_view kind, std::string_view from, std::string_view to,
                                       std::string_view type) {
  auto tag = std::make_unique<gloox::Tag>(std::string(kind));
  tag->addAttribute("from", std::string(from));
  tag->addAttribute("to", std::string(to));
  if (!type.empty()) tag->addAttribute("type", std::string(type));
  return tag;
}

std::unique_ptr<gloox::Tag> errorReply(const gloox::Tag& in, std::string_view condition, std::string_view errorType,
                                       std::string_view text) {
  if (attr(in, "type") == "error" || attr(in, "from").empty()) return nullptr;
  auto out = makeStanza(in.name(), attr(in, "to"), attr(in, "from"), "error");
  if (const auto& id = attr(in, "id"); !id.empty()) out->addAttribute("id", id);
  auto* error = new gloox::Tag(out.get(), "error");
  error->addAttribute("type", std::string(errorType));
  auto* cond = new gloox::Tag(error, std::string(condition));
  cond->setXmlns(std::string(kStanzasNs));
  if (!text.empty()) {
    auto* t = new gloox::Tag(error, "text", std::string(text));
    t->setXmlns(std::string(kStanzasNs));
  }
  return out;
}

}  // namespace parley::xmpp
