#include "parley/sip/parser.hpp"

#include <cstring>

#include "grammar.hpp"

namespace parley::sip {
using namespace grammar;

bool StreamFramer::feed(std::string_view bytes) {
  if (failed_) return false;
  // Compact before growing: drop what was consumed.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= 16384)) {
    buf_.erase(0, pos_);
    scanFrom_ -= std::min(scanFrom_, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
  return true;  // size limits are enforced by next(), which the caller runs after each feed

}

StreamFramer::Status StreamFramer::next(std::string& out) {
  if (failed_) return Status::Error;
  // Keep-alive CRLFs between messages (RFC 3261 §7.5): skipped, and each
  // complete "\r\n\r\n" counted as an RFC 5626 ping, however it was chunked.
  while (pos_ < buf_.size() && (buf_[pos_] == '\r' || buf_[pos_] == '\n')) {
    const bool cr = buf_[pos_++] == '\r';
    if (cr) {
      crlfState_ = (crlfState_ == 0 || crlfState_ == 2) ? crlfState_ + 1 : 1;
    } else if (crlfState_ == 3) {
      ++pings_;
      crlfState_ = 0;
    } else {
      crlfState_ = crlfState_ == 1 ? 2 : 0;
    }
  }
  if (pos_ < buf_.size()) crlfState_ = 0;  // a message starts: no ping in progress
  if (scanFrom_ < pos_) scanFrom_ = pos_;
  if (pos_ == buf_.size()) return Status::NeedMore;
  if (knownTotal_ != 0) {  // headers already framed; waiting for the body
    if (buf_.size() - pos_ < knownTotal_) return Status::NeedMore;
    return take(out, knownTotal_);
  }

  auto failWith = [this](ParseError e, std::size_t headerEnd) {
    failed_ = true;
    error_ = e;
    pendingHeaders_.assign(buf_, pos_, headerEnd - pos_);
    return Status::Error;
  };

  // Find the empty line that ends the headers: "\n\r\n" or "\n\n".
  std::size_t headerEnd = std::string::npos;  // index just past the empty line
  const char* data = buf_.data();
  for (std::size_t i = scanFrom_; i < buf_.size(); ++i) {
    const void* lf = std::memchr(data + i, '\n', buf_.size() - i);
    if (lf == nullptr) break;
    const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(lf) - data);
    if (nl + 1 < buf_.size() && data[nl + 1] == '\n') {
      headerEnd = nl + 2;
      break;
    }
    if (nl + 2 < buf_.size() && data[nl + 1] == '\r' && data[nl + 2] == '\n') {
      headerEnd = nl + 3;
      break;
    }
    if (nl + 2 >= buf_.size()) break;  // need more bytes to decide
    i = nl;
  }
  if (headerEnd == std::string::npos) {
    if (buf_.size() - pos_ > limits_.maxMessageBytes) return failWith(ParseError::TooLarge, buf_.size());
    // Resume a few bytes back so a terminator split across reads is found.
    scanFrom_ = buf_.size() > pos_ + 3 ? buf_.size() - 3 : pos_;
    return Status::NeedMore;
  }

  // Content-Length is mandatory on streams (§18.3); header names may be compact
  // ("l") and any case; continuation lines never start a header.
  std::optional<std::uint32_t> length;
  std::size_t lineStart = pos_;
  bool firstLine = true;
  while (lineStart < headerEnd) {
    const std::size_t nl = buf_.find('\n', lineStart);
    std::size_t lineEnd = nl;
    if (lineEnd > lineStart && buf_[lineEnd - 1] == '\r') --lineEnd;
    const std::string_view row(data + lineStart, lineEnd - lineStart);
    if (!firstLine && !row.empty() && !isWs(row.front())) {
      const std::size_t colon = row.find(':');
      if (colon != std::string_view::npos &&
          headerIdFromName(trim(row.substr(0, colon))) == HeaderId::ContentLength) {
        // A folded Content-Length value is legal but absurd; read only this line.
        auto n = parseUnsigned(row.substr(colon + 1), 0xffffffffu);
        if (!n) return failWith(ParseError::BadContentLength, headerEnd);
        if (length && *length != *n) return failWith(ParseError::ConflictingContentLength, headerEnd);
        length = *n;
      }
    }
    firstLine = false;
    lineStart = nl + 1;
  }
  if (!length) return failWith(ParseError::MissingContentLength, headerEnd);
  const std::size_t total = headerEnd - pos_ + *length;
  if (total > limits_.maxMessageBytes) return failWith(ParseError::TooLarge, headerEnd);
  if (buf_.size() - pos_ < total) {
    knownTotal_ = total;
    return Status::NeedMore;
  }
  return take(out, total);
}

StreamFramer::Status StreamFramer::take(std::string& out, std::size_t total) {
  out.assign(buf_, pos_, total);
  pos_ += total;
  scanFrom_ = pos_;
  knownTotal_ = 0;
  return Status::Message;
}

}  // namespace parley::sip
