#include "parley/sip/serializer.hpp"

#include <charconv>

namespace parley::sip {
namespace {
void appendNumber(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}
}  // namespace

void serialize(const Message& msg, std::string& out) {
  std::size_t estimate = 64 + msg.body().size();
  for (const auto& h : msg.headers()) estimate += h.name.size() + h.value.size() + 4;
  out.reserve(out.size() + estimate);

  if (msg.isRequest()) {
    const auto& rl = msg.requestLine();
    out.append(rl.methodName);
    out.push_back(' ');
    if (!rl.uriText.empty()) out.append(rl.uriText);
    else appendUri(out, rl.uri);
    out.append(" SIP/2.0\r\n");
  } else {
    out.append("SIP/2.0 ");
    appendNumber(out, static_cast<std::size_t>(msg.statusCode()));
    out.push_back(' ');
    out.append(msg.statusLine().reason);
    out.append("\r\n");
  }
  for (const auto& h : msg.headers()) {
    if (h.id == HeaderId::ContentLength) continue;  // written from the body below
    out.append(h.id == HeaderId::Other ? h.name : headerName(h.id));
    out.append(": ");
    out.append(h.value);
    out.append("\r\n");
  }
  out.append("Content-Length: ");
  appendNumber(out, msg.body().size());
  out.append("\r\n\r\n");
  out.append(msg.body());
}

std::string serialize(const Message& msg) {
  std::string out;
  serialize(msg, out);
  return out;
}

}  // namespace parley::sip
