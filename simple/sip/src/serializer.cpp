#include "parley/sip/serializer.hpp"

#include <charconv>
#include <cstring>

namespace parley::sip {
namespace {

// Writes into a buffer sized exactly in advance: one resize, then plain copies.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  void put(std::string_view s) {
    if (s.empty()) return;  // data() may be null; memcpy(.., nullptr, 0) is UB
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void put(char c) { *p_++ = c; }
  [[nodiscard]] char* pos() const { return p_; }

 private:
  char* p_;
};

inline std::string_view nameOf(const Header& h) { return h.id == HeaderId::Other ? h.name : headerName(h.id); }

}  // namespace

void serialize(const Message& msg, std::string& out) {
  char length[16];
  const auto [lengthEnd, ec1] = std::to_chars(length, length + sizeof length, msg.body().size());
  const std::string_view lengthText(length, static_cast<std::size_t>(lengthEnd - length));
  char code[8];
  const auto [codeEnd, ec2] = std::to_chars(code, code + sizeof code, msg.statusCode());
  const std::string_view codeText(code, static_cast<std::size_t>(codeEnd - code));

  std::string uriBuffer;  // only for built requests without uriText
  std::string_view uriText;
  std::size_t size = 0;
  if (msg.isRequest()) {
    uriText = msg.requestLine().uriText;
    if (uriText.empty()) {
      appendUri(uriBuffer, msg.requestLine().uri);
      uriText = uriBuffer;
    }
    size += msg.requestLine().methodName.size() + 1 + uriText.size() + 10;  // " SIP/2.0\r\n"
  } else {
    size += 8 + codeText.size() + 1 + msg.statusLine().reason.size() + 2;
  }
  for (const auto& h : msg.headers()) {
    if (h.id == HeaderId::ContentLength) continue;
    size += nameOf(h).size() + 2 + h.value.size() + 2;
  }
  size += 16 + lengthText.size() + 4 + msg.body().size();  // "Content-Length: " N CRLF CRLF body

  const std::size_t start = out.size();
  out.resize(start + size);
  Writer w(out.data() + start);
  if (msg.isRequest()) {
    w.put(msg.requestLine().methodName);
    w.put(' ');
    w.put(uriText);
    w.put(" SIP/2.0\r\n");
  } else {
    w.put("SIP/2.0 ");
    w.put(codeText);
    w.put(' ');
    w.put(msg.statusLine().reason);
    w.put("\r\n");
  }
  for (const auto& h : msg.headers()) {
    if (h.id == HeaderId::ContentLength) continue;  // written from the body below
    w.put(nameOf(h));
    w.put(": ");
    w.put(h.value);
    w.put("\r\n");
  }
  w.put("Content-Length: ");
  w.put(lengthText);
  w.put("\r\n\r\n");
  w.put(msg.body());
}

std::string serialize(const Message& msg) {
  std::string out;
  serialize(msg, out);
  return out;
}

}  // namespace parley::sip
