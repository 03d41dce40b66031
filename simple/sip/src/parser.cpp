#include "parley/sip/parser.hpp"

#include <cstring>

#include "grammar.hpp"

namespace parley::sip {
using namespace grammar;

std::string_view describe(ParseError e) {
  switch (e) {
    case ParseError::Empty: return "Empty Message";
    case ParseError::TooLarge: return "Message Too Large";
    case ParseError::TooManyHeaders: return "Too Many Headers";
    case ParseError::LineTooLong: return "Header Line Too Long";
    case ParseError::NoHeaderEnd: return "Headers Not Terminated";
    case ParseError::BadStartLine: return "Malformed Start Line";
    case ParseError::BadStatusCode: return "Malformed Status Code";
    case ParseError::BadVersion: return "Version Not Supported";
    case ParseError::BadRequestUri: return "Malformed Request-URI";
    case ParseError::BadHeaderLine: return "Malformed Header Line";
    case ParseError::NulInHeaders: return "NUL Byte In Headers";
    case ParseError::MissingVia: return "Missing Via";
    case ParseError::BadVia: return "Malformed Via";
    case ParseError::BadViaVersion: return "Unsupported Via Version";
    case ParseError::BadBranch: return "Invalid Via Branch";
    case ParseError::MissingFrom: return "Missing From";
    case ParseError::BadFrom: return "Malformed From";
    case ParseError::MissingTo: return "Missing To";
    case ParseError::BadTo: return "Malformed To";
    case ParseError::MissingCallId: return "Missing Call-ID";
    case ParseError::MissingCSeq: return "Missing CSeq";
    case ParseError::BadCSeq: return "Malformed CSeq";
    case ParseError::CSeqMethodMismatch: return "CSeq Method Does Not Match Request Method";
    case ParseError::BadMaxForwards: return "Malformed Max-Forwards";
    case ParseError::DuplicateHeader: return "Duplicate Single-Valued Header";
    case ParseError::BadContentLength: return "Malformed Content-Length";
    case ParseError::ConflictingContentLength: return "Conflicting Content-Length";
    case ParseError::MissingContentLength: return "Missing Content-Length";
    case ParseError::BodyTooShort: return "Body Shorter Than Content-Length";
  }
  return "Bad Request";
}

bool canRespond(ParseError e) {
  switch (e) {
    case ParseError::BadStartLine:
    case ParseError::BadViaVersion:
    case ParseError::BadBranch:
    case ParseError::BadVersion:
    case ParseError::BadRequestUri:
    case ParseError::MissingFrom:
    case ParseError::BadFrom:
    case ParseError::MissingTo:
    case ParseError::BadTo:
    case ParseError::MissingCallId:
    case ParseError::MissingCSeq:
    case ParseError::BadCSeq:
    case ParseError::CSeqMethodMismatch:
    case ParseError::BadMaxForwards:
    case ParseError::DuplicateHeader:
    case ParseError::BadContentLength:
    case ParseError::ConflictingContentLength:
    case ParseError::MissingContentLength:
    case ParseError::BodyTooShort:
      return true;
    default:
      return false;
  }
}

namespace {

// One line [begin, end) without its terminator; `next` is where the following line starts.
struct Line {
  std::size_t begin, end, next;
};

// Finds the end of the line starting at `pos` (LF or CRLF terminated).
inline bool nextLine(const char* buf, std::size_t size, std::size_t pos, Line& line) {
  const void* lf = std::memchr(buf + pos, '\n', size - pos);
  if (lf == nullptr) return false;
  const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(lf) - buf);
  line.begin = pos;
  line.end = (nl > pos && buf[nl - 1] == '\r') ? nl - 1 : nl;
  line.next = nl + 1;
  return true;
}

tl::unexpected<ParseFailure> fail(ParseError e) { return tl::unexpected(ParseFailure{e, std::nullopt}); }

bool parseVersion(std::string_view v, bool& supported) {
  // "SIP" "/" 1*DIGIT "." 1*DIGIT
  if (v.size() < 7 || !iequals(v.substr(0, 4), "SIP/")) return false;
  const std::string_view num = v.substr(4);
  const std::size_t dot = num.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == num.size()) return false;
  for (std::size_t i = 0; i < num.size(); ++i)
    if (i != dot && !isDigit(num[i])) return false;
  supported = num == "2.0";
  return true;
}

}  // namespace

tl::expected<Message, ParseFailure> Parser::parseDatagram(std::string_view bytes) const {
  return parse(bytes, Mode::Datagram);
}

tl::expected<Message, ParseFailure> Parser::parseFramed(std::string_view bytes) const {
  return parse(bytes, Mode::Stream);
}

tl::expected<Message, ParseFailure> Parser::parse(std::string_view bytes, Mode mode) const {
  // RFC 3261 §7.5: ignore CRLFs before the start line (keep-alives).
  std::size_t skip = 0;
  while (skip < bytes.size() && (bytes[skip] == '\r' || bytes[skip] == '\n')) ++skip;
  bytes.remove_prefix(skip);
  if (bytes.empty()) return fail(ParseError::Empty);
  if (bytes.size() > limits_.maxMessageBytes) return fail(ParseError::TooLarge);

  Message msg;
  // One owned copy; unfolding rewrites it in place, and every view points into it.
  const std::size_t size = bytes.size();
  char* buf = msg.arena_.allocate(size);
  std::memcpy(buf, bytes.data(), size);
  msg.headers_.reserve(16);

  // --- start line -------------------------------------------------------------
  Line line{};
  if (!nextLine(buf, size, 0, line)) return fail(ParseError::NoHeaderEnd);
  if (line.end - line.begin > limits_.maxLineBytes) return fail(ParseError::LineTooLong);
  const std::string_view start(buf + line.begin, line.end - line.begin);
  if (std::memchr(start.data(), '\0', start.size()) != nullptr) return fail(ParseError::NulInHeaders);

  std::optional<ParseError> deferred;  // errors that still allow a response (505, 400/416)
  if (start.size() >= 4 && iequals(start.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    msg.isRequest_ = false;
    const std::size_t sp = start.find(' ');
    bool supported = false;
    if (sp == std::string_view::npos || !parseVersion(start.substr(0, sp), supported))
      return fail(ParseError::BadStartLine);
    if (!supported) return fail(ParseError::BadVersion);
    const std::string_view rest = start.substr(sp + 1);
    if (rest.size() < 3 || !isDigit(rest[0]) || !isDigit(rest[1]) || !isDigit(rest[2]) ||
        (rest.size() > 3 && rest[3] != ' '))
      return fail(ParseError::BadStatusCode);
    const int code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    if (code < 100 || code > 699) return fail(ParseError::BadStatusCode);
    msg.statusLine_.code = code;
    msg.statusLine_.reason = rest.size() > 4 ? rest.substr(4) : std::string_view{};
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version (single spaces, §25.1).
    msg.isRequest_ = true;
    const std::size_t sp1 = start.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : start.find(' ', sp1 + 1);
    const bool strict = sp2 != std::string_view::npos && start.find(' ', sp2 + 1) == std::string_view::npos;
    if (strict) {
      const std::string_view method = start.substr(0, sp1);
      const std::string_view uriText = start.substr(sp1 + 1, sp2 - sp1 - 1);
      bool supported = false;
      if (!isToken(method) || uriText.empty() || !parseVersion(start.substr(sp2 + 1), supported))
        return fail(ParseError::BadStartLine);
      msg.requestLine_.methodName = method;
      msg.requestLine_.uriText = uriText;
      // A SIP Request-URI may not carry ?headers (RFC 3261 §19.1.1; RFC 4475 §3.1.2.11).
      if (auto uri = parseUri(uriText); uri && !(uri->isSip() && !uri->headers.empty()))
        msg.requestLine_.uri = std::move(*uri);
      else
        deferred = ParseError::BadRequestUri;
      if (!supported) deferred = ParseError::BadVersion;
    } else {
      // Stray whitespace (RFC 4475 §3.1.2.6, §3.1.2.9, §3.1.2.10): if it still looks
      // like "METHOD ... SIP/x.y", read the headers so a 400 can be sent.
      const std::string_view trimmed = trim(start);
      const std::size_t firstWs = trimmed.find_first_of(" \t");
      const std::size_t lastWs = trimmed.find_last_of(" \t");
      bool supported = false;
      if (firstWs == std::string_view::npos ||
          !isToken(trimmed.substr(0, firstWs)) || !parseVersion(trimmed.substr(lastWs + 1), supported))
        return fail(ParseError::BadStartLine);
      msg.requestLine_.methodName = trimmed.substr(0, firstWs);
      deferred = ParseError::BadStartLine;
    }
    msg.requestLine_.method = methodFromToken(msg.requestLine_.methodName);
  }

  // --- headers ----------------------------------------------------------------
  std::size_t pos = line.next;
  std::size_t bodyStart = 0;
  bool ended = false;
  while (nextLine(buf, size, pos, line)) {
    if (line.end == line.begin) {  // the empty line
      bodyStart = line.next;
      ended = true;
      break;
    }
    if (isWs(buf[line.begin])) return fail(ParseError::BadHeaderLine);  // continuation without a header
    // Gather continuation lines (RFC 3261 §7.3.1): replace their CR/LF with spaces in place.
    std::size_t end = line.end;
    std::size_t next = line.next;
    Line cont{};
    while (next < size && isWs(buf[next]) && nextLine(buf, size, next, cont)) {
      for (std::size_t i = end; i < cont.begin; ++i) buf[i] = ' ';
      end = cont.end;
      next = cont.next;
    }
    if (end - line.begin > limits_.maxLineBytes) return fail(ParseError::LineTooLong);
    const std::string_view row(buf + line.begin, end - line.begin);
    // name = token, then optional whitespace, then ':' (§7.3.1); one pass.
    std::size_t n = 0;
    while (n < row.size() && is(row[n], kToken)) ++n;
    const std::string_view name = row.substr(0, n);
    while (n < row.size() && isWs(row[n])) ++n;
    if (name.empty() || n == row.size() || row[n] != ':') return fail(ParseError::BadHeaderLine);
    if (msg.headers_.size() >= limits_.maxHeaderCount) return fail(ParseError::TooManyHeaders);
    msg.headers_.push_back({headerIdFromName(name), name, trim(row.substr(n + 1))});
    pos = next;
  }
  if (!ended) return fail(ParseError::NoHeaderEnd);
  // No NUL may hide in the headers (the body may carry anything).
  if (std::memchr(buf, '\0', bodyStart) != nullptr) return fail(ParseError::NulInHeaders);

  // --- validation (RFC 3261 §8.1.1, §8.2, §18.3) -------------------------------
  auto failWith = [&msg](ParseError e) -> tl::unexpected<ParseFailure> {
    if (!canRespond(e) || !msg.isRequest_) return fail(e);
    return tl::unexpected(ParseFailure{e, std::move(msg)});
  };

  const Header* via = nullptr;
  const Header* from = nullptr;
  const Header* to = nullptr;
  const Header* callId = nullptr;
  const Header* cseq = nullptr;
  const Header* maxForwards = nullptr;
  std::optional<std::uint32_t> contentLength;
  bool duplicate = false;
  bool badLength = false;
  bool conflictingLength = false;
  std::uint32_t seenSingles[2] = {0, 0};  // bit set of single-valued ids seen (kCount < 64)
  for (const Header& h : msg.headers_) {
    switch (h.id) {
      case HeaderId::Via: if (!via) via = &h; break;
      case HeaderId::From: from = &h; break;
      case HeaderId::To: to = &h; break;
      case HeaderId::CallId: callId = &h; break;
      case HeaderId::CSeq: cseq = &h; break;
      case HeaderId::MaxForwards: maxForwards = &h; break;
      case HeaderId::ContentLength:
        if (auto n = parseUnsigned(h.value, 0xffffffffu); !n) badLength = true;
        else if (contentLength && *contentLength != *n) conflictingLength = true;
        else contentLength = *n;
        break;
      default: break;
    }
    if (isSingleHeader(h.id)) {
      const auto bit = static_cast<std::uint32_t>(h.id);
      std::uint32_t& word = seenSingles[bit / 32];
      const std::uint32_t mask = 1u << (bit % 32);
      if (word & mask) duplicate = true;
      word |= mask;
    }
  }

  if (!via) return fail(ParseError::MissingVia);
  {
    auto v = parseVia(firstListElement(via->value));
    if (!v) return fail(ParseError::BadVia);
    msg.topVia_ = std::move(*v);
  }
  if (deferred) return failWith(*deferred);
  if (msg.topVia_.version != "2.0") return failWith(ParseError::BadViaVersion);
  // A branch that is only the cookie cannot be unique (§8.1.1.7).
  if (msg.isRequest_ && msg.topVia_.branch == kBranchCookie) return failWith(ParseError::BadBranch);
  if (!from) return failWith(ParseError::MissingFrom);
  if (!to) return failWith(ParseError::MissingTo);
  if (!callId || callId->value.empty()) return failWith(ParseError::MissingCallId);
  if (!cseq) return failWith(ParseError::MissingCSeq);
  if (duplicate) return failWith(ParseError::DuplicateHeader);
  msg.callId_ = callId->value;
  for (char c : msg.callId_)
    if (isWs(c)) return failWith(ParseError::MissingCallId);
  if (auto f = parseNameAddr(from->value)) msg.from_ = std::move(*f);
  else return failWith(ParseError::BadFrom);
  if (auto t = parseNameAddr(to->value)) msg.to_ = std::move(*t);
  else return failWith(ParseError::BadTo);
  if (auto c = parseCSeq(cseq->value)) msg.cseq_ = *c;
  else return failWith(ParseError::BadCSeq);
  if (msg.isRequest_) {
    if (msg.cseq_.methodName != msg.requestLine_.methodName)
      return failWith(ParseError::CSeqMethodMismatch);
    // Max-Forwards is mandatory in RFC 3261 requests, but RFC 2543 peers omit it
    // and RFC 4475 §3.4.1 asks us to accept them: absent reads as -1.
    if (maxForwards) {
      auto mf = parseUnsigned(maxForwards->value, 255);
      if (!mf) return failWith(ParseError::BadMaxForwards);
      msg.maxForwards_ = static_cast<int>(*mf);
    }
  }

  // --- body framing (§18.3) -----------------------------------------------------
  if (badLength) return failWith(ParseError::BadContentLength);
  if (conflictingLength) return failWith(ParseError::ConflictingContentLength);
  const std::size_t available = size - bodyStart;
  if (!contentLength) {
    if (mode == Mode::Stream) return failWith(ParseError::MissingContentLength);
    msg.body_ = std::string_view(buf + bodyStart, available);
  } else {
    if (*contentLength > available) return failWith(ParseError::BodyTooShort);
    msg.body_ = std::string_view(buf + bodyStart, *contentLength);  // extra datagram bytes dropped
  }
  return msg;
}

}  // namespace parley::sip
