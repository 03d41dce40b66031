// The SIP message parser (sans-I/O). Bytes in, a validated Message or a
// ParseError out. Two entry points:
//   * parseDatagram(): one UDP datagram = one message (RFC 3261 §18.3: without
//     Content-Length the body is the rest of the datagram; extra bytes after the
//     announced length are dropped; fewer bytes than announced is an error).
//   * StreamFramer: bytes from a TCP connection, one chunk at a time (down to a
//     byte at a time); yields complete messages framed strictly by
//     Content-Length, which is mandatory on streams (§18.3, §20.14).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

#include "parley/sip/message.hpp"

namespace parley::sip {

struct ParseLimits {
  std::size_t maxMessageBytes = 65535;   ///< start line + headers + body
  std::size_t maxHeaderCount = 128;      ///< header rows (after unfolding)
  std::size_t maxLineBytes = 8192;       ///< one logical header line (after unfolding)
};

enum class ParseError : std::uint8_t {
  // --- framing: no response can be formed (or only on the headers read so far) ---
  Empty,                 ///< no bytes (or only CRLF keep-alives)
  TooLarge,              ///< message exceeds ParseLimits::maxMessageBytes
  TooManyHeaders,        ///< more header rows than ParseLimits::maxHeaderCount
  LineTooLong,           ///< a header line longer than ParseLimits::maxLineBytes
  NoHeaderEnd,           ///< no empty line ends the headers
  BadStartLine,          ///< neither a Request-Line nor a Status-Line (or a Request-Line
                         ///< with stray whitespace: answered 400 when the headers parse)
  BadStatusCode,         ///< status code not three digits in 100..699
  BadVersion,            ///< "SIP/x.y" other than SIP/2.0 (requests: 505)
  BadRequestUri,         ///< the Request-URI does not parse
  BadHeaderLine,         ///< a header line without ':' or with an invalid name
  NulInHeaders,          ///< a NUL byte in the start line or headers
  // --- validation: the headers were read, a 400 can be formed ----------------
  MissingVia,            ///< no Via header
  BadVia,                ///< the top Via does not parse
  BadViaVersion,         ///< the top Via names a SIP version other than 2.0
  BadBranch,             ///< the top Via branch is the bare magic cookie (not unique)
  MissingFrom,           ///< no From header
  BadFrom,               ///< From does not parse
  MissingTo,             ///< no To header
  BadTo,                 ///< To does not parse
  MissingCallId,         ///< no Call-ID header
  MissingCSeq,           ///< no CSeq header
  BadCSeq,               ///< CSeq does not parse
  CSeqMethodMismatch,    ///< CSeq method differs from the request method
  BadMaxForwards,        ///< Max-Forwards not an integer 0..255
  DuplicateHeader,       ///< a single-valued header appears more than once
  BadContentLength,      ///< Content-Length not a non-negative integer
  ConflictingContentLength, ///< several Content-Length values that disagree
  MissingContentLength,  ///< stream transport without Content-Length
  BodyTooShort,          ///< fewer body bytes than Content-Length announces
};

/// Human text naming the defect, used as the 400 reason phrase.
[[nodiscard]] std::string_view describe(ParseError e);
/// True when the error leaves enough of the message parsed for the UAS to send
/// a response (the Via/From/To/Call-ID/CSeq needed by §8.2.6 are present).
/// Note: BadVersion is answered 505 and BadRequestUri 400/416 by the core.
[[nodiscard]] bool canRespond(ParseError e);

/// The outcome of a failed parse: the error and, where enough was parsed to
/// answer, the partially-filled message.
struct ParseFailure {
  ParseError error;
  std::optional<Message> partial;  ///< set when canRespond(error) is true
};

class Parser {
 public:
  explicit Parser(ParseLimits limits = {}) : limits_(limits) {}

  /// Parses one datagram (RFC 3261 §18.3 UDP rules).
  [[nodiscard]] tl::expected<Message, ParseFailure> parseDatagram(std::string_view bytes) const;
  /// Parses one message that a StreamFramer delimited (Content-Length required).
  [[nodiscard]] tl::expected<Message, ParseFailure> parseFramed(std::string_view bytes) const;

  [[nodiscard]] const ParseLimits& limits() const { return limits_; }

 private:
  enum class Mode { Datagram, Stream };
  [[nodiscard]] tl::expected<Message, ParseFailure> parse(std::string_view bytes, Mode mode) const;
  ParseLimits limits_;
};

/// Finds message boundaries on a byte stream. Feed it bytes as they arrive;
/// next() returns complete messages one by one. After an error the stream's
/// framing is lost: the caller answers 400 if it can and closes the connection.
class StreamFramer {
 public:
  explicit StreamFramer(ParseLimits limits = {}) : limits_(limits) {}

  /// Appends bytes; returns false once framing has failed. Call next() until
  /// NeedMore after each feed: it enforces the size limits.
  bool feed(std::string_view bytes);

  enum class Status { NeedMore, Message, Error };
  /// Extracts the next complete message's bytes into `out`.
  Status next(std::string& out);

  /// The framing error once next() returned Error, and the header bytes read
  /// so far (for building a 400).
  [[nodiscard]] ParseError error() const { return error_; }
  [[nodiscard]] std::string_view pendingHeaders() const { return pendingHeaders_; }
  /// Bytes buffered and not yet returned.
  [[nodiscard]] std::size_t buffered() const { return buf_.size() - pos_; }
  /// RFC 5626 §3.5.1 keep-alive pings (a double CRLF between messages) seen
  /// since the last call; the transport answers each with one CRLF (pong).
  [[nodiscard]] std::size_t takeKeepAlivePings() { return std::exchange(pings_, 0); }

 private:
  Status take(std::string& out, std::size_t total);

  ParseLimits limits_;
  std::string buf_;
  std::size_t pos_ = 0;         // start of the unconsumed bytes
  std::size_t knownTotal_ = 0;  // size of the message being received once its headers are framed
  std::size_t pings_ = 0;       // double-CRLF keep-alives not yet taken
  std::uint8_t crlfState_ = 0;  // progress through "\r\n\r\n" between messages (0..3)
  std::size_t scanFrom_ = 0;    // where the CRLFCRLF search resumes
  ParseError error_ = ParseError::Empty;
  std::string pendingHeaders_;
  bool failed_ = false;
};

}  // namespace parley::sip
