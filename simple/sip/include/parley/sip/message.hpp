// SIP message model (RFC 3261 §7). Pure: no sockets, no clock.
//
// A parsed Message owns its bytes (one buffer) and every string_view it hands out
// points into storage the Message owns, so views stay valid for the Message's life,
// including across moves. Messages are move-only; copying a parsed message is
// deliberate work (serialize and parse again).
//
// The parser (parser.hpp) validates the headers the core depends on once, at the
// edge, and caches their typed values here (request line, top Via, From, To,
// Call-ID, CSeq, Max-Forwards, Content-Length). Everything else stays as raw,
// unfolded header values, parsed on demand by the grammar functions in
// header_values.hpp, which return errors rather than throw.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/sip/arena.hpp"
#include "parley/sip/headers.hpp"
#include "parley/sip/method.hpp"
#include "parley/sip/uri.hpp"
#include "parley/sip/header_values.hpp"

namespace parley::sip {

/// One header row as it appeared (or will appear) on the wire. `value` is
/// unfolded (continuation CRLFs replaced by spaces) and trimmed of surrounding
/// whitespace. Comma-joined rows are kept as one row; splitting is done by
/// splitList() for headers whose grammar is a list.
struct Header {
  HeaderId id = HeaderId::Other;
  std::string_view name;   // as received (for Other) or canonical long form
  std::string_view value;
};

struct RequestLine {
  Method method = Method::Unknown;
  std::string_view methodName;  // case-sensitive token as received
  Uri uri;
  std::string_view uriText;     // the Request-URI as received
};

struct StatusLine {
  int code = 0;
  std::string_view reason;
};

class Message {
 public:
  Message() = default;
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  /// A new request with an empty header list.
  static Message request(Method m, std::string_view methodName, const Uri& requestUri);
  /// A new response with an empty header list.
  static Message response(int code, std::string_view reason);

  [[nodiscard]] bool isRequest() const { return isRequest_; }
  [[nodiscard]] bool isResponse() const { return !isRequest_; }
  [[nodiscard]] const RequestLine& requestLine() const { return requestLine_; }
  [[nodiscard]] const StatusLine& statusLine() const { return statusLine_; }
  [[nodiscard]] Method method() const { return requestLine_.method; }
  [[nodiscard]] int statusCode() const { return statusLine_.code; }

  // --- typed values validated by the parser (requests and responses) -------
  [[nodiscard]] const Via& topVia() const { return topVia_; }
  [[nodiscard]] const NameAddr& from() const { return from_; }
  [[nodiscard]] const NameAddr& to() const { return to_; }
  [[nodiscard]] std::string_view callId() const { return callId_; }
  [[nodiscard]] const CSeq& cseq() const { return cseq_; }
  /// -1 when absent (responses; requests always carry it after validation).
  [[nodiscard]] int maxForwards() const { return maxForwards_; }
  [[nodiscard]] std::string_view body() const { return body_; }

  // --- generic header access -------------------------------------------------
  [[nodiscard]] const std::vector<Header>& headers() const { return headers_; }
  /// First row of that header, or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(HeaderId id) const;
  /// First row of a header by name (case-insensitive, compact forms understood).
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  /// Number of rows with that id.
  [[nodiscard]] std::size_t count(HeaderId id) const;
  /// Every list element of a list-valued header across all its rows, in order.
  /// Headers whose grammar is not a list (isListHeader() false: single-valued,
  /// Other, and the *-Authenticate/*-Authorization ones that contain commas)
  /// are never split: each row comes back whole (RFC 3261 §7.3.1).
  [[nodiscard]] std::vector<std::string_view> list(HeaderId id) const;

  // --- building ---------------------------------------------------------------
  /// Appends a header; the value is copied into the message's storage.
  void addHeader(HeaderId id, std::string_view value);
  void addHeader(std::string_view name, std::string_view value);
  /// Removes every row with that id.
  void removeHeader(HeaderId id);
  /// Replaces the body (copied). Content-Length is written by the serializer.
  void setBody(std::string_view body);
  /// Copies `text` into this message's storage and returns a view of the copy.
  std::string_view store(std::string_view text) { return arena_.store(text); }

  /// Sets the cached typed values after building (used by builders and tests).
  void setTopVia(const Via& v) { topVia_ = v; }
  void setFrom(const NameAddr& v) { from_ = v; }
  void setTo(const NameAddr& v) { to_ = v; }
  void setCallId(std::string_view v) { callId_ = v; }
  void setCSeq(const CSeq& v) { cseq_ = v; }

 private:
  friend class Parser;

  bool isRequest_ = true;
  RequestLine requestLine_;
  StatusLine statusLine_;
  Via topVia_;
  NameAddr from_;
  NameAddr to_;
  std::string_view callId_;
  CSeq cseq_;
  int maxForwards_ = -1;
  std::string_view body_;
  std::vector<Header> headers_;
  Arena arena_;
};

}  // namespace parley::sip
