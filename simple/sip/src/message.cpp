#include "parley/sip/message.hpp"

namespace parley::sip {

Message Message::request(Method m, std::string_view name, const Uri& requestUri) {
  Message msg;
  msg.isRequest_ = true;
  msg.requestLine_.method = m;
  msg.requestLine_.methodName = name.empty() ? methodName(m) : msg.store(name);
  msg.requestLine_.uriText = msg.store(toString(requestUri));
  // Re-parse from our own copy so every view in the Uri points into this message.
  if (auto u = parseUri(msg.requestLine_.uriText)) msg.requestLine_.uri = std::move(*u);
  msg.headers_.reserve(12);
  return msg;
}

Message Message::response(int code, std::string_view reason) {
  Message msg;
  msg.isRequest_ = false;
  msg.statusLine_.code = code;
  msg.statusLine_.reason = msg.store(reason);
  msg.headers_.reserve(12);
  return msg;
}

std::optional<std::string_view> Message::header(HeaderId id) const {
  for (const auto& h : headers_)
    if (h.id == id) return h.value;
  return std::nullopt;
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  const HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Other) return header(id);
  for (const auto& h : headers_)
    if (h.id == HeaderId::Other && iequals(h.name, name)) return h.value;
  return std::nullopt;
}

std::size_t Message::count(HeaderId id) const {
  std::size_t n = 0;
  for (const auto& h : headers_)
    if (h.id == id) ++n;
  return n;
}

std::vector<std::string_view> Message::list(HeaderId id) const {
  std::vector<std::string_view> out;
  for (const auto& h : headers_) {
    if (h.id != id) continue;
    if (!isListHeader(id)) {
      out.push_back(h.value);
      continue;
    }
    for (auto e : splitList(h.value)) out.push_back(e);
  }
  return out;
}

void Message::addHeader(HeaderId id, std::string_view value) {
  headers_.push_back({id, headerName(id), store(value)});
}

void Message::addHeader(std::string_view name, std::string_view value) {
  const HeaderId id = headerIdFromName(name);
  headers_.push_back({id, id == HeaderId::Other ? store(name) : headerName(id), store(value)});
}

void Message::removeHeader(HeaderId id) {
  std::erase_if(headers_, [id](const Header& h) { return h.id == id; });
}

void Message::setBody(std::string_view body) { body_ = store(body); }

}  // namespace parley::sip
