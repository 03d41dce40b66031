#include "parley/redis/codecs.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>

namespace parley::redis {

using storage::WallTime;

std::string_view toString(CodecError e) {
  switch (e) {
    case CodecError::Truncated: return "truncated";
    case CodecError::BadVersion: return "unknown format version";
    case CodecError::BadType: return "another record type";
    case CodecError::Malformed: return "malformed";
  }
  return "?";
}

namespace {

// One byte per record type, after the version byte.
enum class RecordType : std::uint8_t {
  Binding = 'B', Publication = 'P', RosterItem = 'R', ContactResource = 'C', Subscription = 'S'
};

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

class Writer {
 public:
  Writer(RecordType type, std::size_t count) {
    out_.push_back(static_cast<char>(kCodecVersion));
    out_.push_back(static_cast<char>(type));
    u64(count);
  }
  void u64(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(std::int64_t v) {
    // zigzag: small magnitudes of either sign stay short
    u64((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void time(WallTime t) {
    if (t == WallTime::max()) return i64(kNever);
    i64(std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count());
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  /// Checks version and type; then the record count (bounded by the bytes left,
  /// every record taking at least one, so garbage cannot make us reserve much).
  tl::expected<std::size_t, CodecError> header(RecordType type) {
    if (in_.size() < 2) return tl::unexpected(CodecError::Truncated);
    if (static_cast<std::uint8_t>(in_[0]) != kCodecVersion) return tl::unexpected(CodecError::BadVersion);
    if (static_cast<std::uint8_t>(in_[1]) != static_cast<std::uint8_t>(type))
      return tl::unexpected(CodecError::BadType);
    in_.remove_prefix(2);
    std::uint64_t n = 0;
    if (!u64(n)) return tl::unexpected(error_);
    if (n > in_.size()) return tl::unexpected(CodecError::Malformed);
    return static_cast<std::size_t>(n);
  }

  bool u64(std::uint64_t& v) {
    v = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (in_.empty()) return fail(CodecError::Truncated);
      const auto b = static_cast<std::uint8_t>(in_.front());
      in_.remove_prefix(1);
      if (shift == 63 && b > 1) return fail(CodecError::Malformed);  // past 64 bits
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
      if (shift == 63) return fail(CodecError::Malformed);
    }
  }
  template <class U>
  bool unsignedInt(U& v) {
    std::uint64_t raw = 0;
    if (!u64(raw)) return false;
    if (raw > std::numeric_limits<U>::max()) return fail(CodecError::Malformed);
    v = static_cast<U>(raw);
    return true;
  }
  bool i64(std::int64_t& v) {
    std::uint64_t raw = 0;
    if (!u64(raw)) return false;
    v = static_cast<std::int64_t>(raw >> 1) ^ -static_cast<std::int64_t>(raw & 1);
    return true;
  }
  bool i8(std::int8_t& v) {
    std::int64_t raw = 0;
    if (!i64(raw)) return false;
    if (raw < std::numeric_limits<std::int8_t>::min() || raw > std::numeric_limits<std::int8_t>::max())
      return fail(CodecError::Malformed);
    v = static_cast<std::int8_t>(raw);
    return true;
  }
  bool str(std::string& s) {
    std::uint64_t n = 0;
    if (!u64(n)) return false;
    if (n > in_.size()) return fail(CodecError::Truncated);
    s.assign(in_.substr(0, static_cast<std::size_t>(n)));
    in_.remove_prefix(static_cast<std::size_t>(n));
    return true;
  }
  /// `n` strings into `out` (cleared first). Each takes at least its length
  /// byte, so a huge count runs out of input first.
  bool strings(std::vector<std::string>& out, std::size_t n) {
    out.clear();
    for (std::size_t i = 0; i < n; ++i)
      if (!str(out.emplace_back())) return false;
    return true;
  }
  bool flags(std::uint8_t& f, std::uint8_t known) {
    if (in_.empty()) return fail(CodecError::Truncated);
    f = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    if ((f & ~known) != 0) return fail(CodecError::Malformed);
    return true;
  }
  bool time(WallTime& t) {
    std::int64_t ms = 0;
    if (!i64(ms)) return false;
    if (ms == kNever) {
      t = WallTime::max();
      return true;
    }
    // Must fit WallTime's own (finer) duration without overflow.
    using Ms = std::chrono::milliseconds;
    constexpr auto lo = std::chrono::floor<Ms>(WallTime::min().time_since_epoch()).count();
    constexpr auto hi = std::chrono::floor<Ms>(WallTime::max().time_since_epoch()).count();
    if (ms < lo || ms > hi) return fail(CodecError::Malformed);
    if (ms == lo) {  // WallTime::min(), floored by time()
      t = WallTime::min();
      return true;
    }
    t = WallTime(std::chrono::duration_cast<WallTime::duration>(Ms(ms)));
    return true;
  }

  [[nodiscard]] bool atEnd() const { return in_.empty(); }
  [[nodiscard]] CodecError error() const { return error_; }

 private:
  bool fail(CodecError e) {
    error_ = e;
    return false;
  }
  std::string_view in_;
  CodecError error_ = CodecError::Malformed;
};

template <class T, class Write>
std::string encodeList(RecordType type, const std::vector<T>& list, Write write) {
  Writer w(type, list.size());
  for (const T& r : list) write(w, r);
  return w.take();
}

template <class T, class Read>
tl::expected<std::vector<T>, CodecError> decodeList(RecordType type, std::string_view value, Read read) {
  Reader r(value);
  auto n = r.header(type);
  if (!n) return tl::unexpected(n.error());
  std::vector<T> list;
  list.reserve(std::min<std::size_t>(*n, 64));  // a record is far bigger than its shortest encoding
  for (std::size_t i = 0; i < *n; ++i)
    if (!read(r, list.emplace_back())) return tl::unexpected(r.error());
  if (!r.atEnd()) return tl::unexpected(CodecError::Malformed);
  return list;
}

}  // namespace

using storage::Binding;
using storage::ContactResource;
using storage::Publication;
using storage::RosterItem;
using storage::Subscription;

std::string Codec<Binding>::encode(const std::vector<Binding>& list) {
  return encodeList(RecordType::Binding, list, [](Writer& w, const Binding& b) {
    w.str(b.contact);
    w.str(b.callId);
    w.u64(b.cseq);
    w.time(b.expires);
    w.u64(b.qMilli);
    w.u64(b.path.size());
    for (const auto& p : b.path) w.str(p);
    w.str(b.source);
  });
}

tl::expected<std::vector<Binding>, CodecError> Codec<Binding>::decode(std::string_view value) {
  return decodeList<Binding>(RecordType::Binding, value, [](Reader& r, Binding& b) {
    std::size_t paths = 0;
    if (!(r.str(b.contact) && r.str(b.callId) && r.unsignedInt(b.cseq) && r.time(b.expires) &&
          r.unsignedInt(b.qMilli) && r.unsignedInt(paths)))
      return false;
    return r.strings(b.path, paths) && r.str(b.source);
  });
}

std::string Codec<Publication>::encode(const std::vector<Publication>& list) {
  return encodeList(RecordType::Publication, list, [](Writer& w, const Publication& p) {
    w.str(p.etag);
    w.str(p.body);
    w.time(p.expires);
    w.time(p.modified);
  });
}

tl::expected<std::vector<Publication>, CodecError> Codec<Publication>::decode(std::string_view value) {
  return decodeList<Publication>(RecordType::Publication, value, [](Reader& r, Publication& p) {
    return r.str(p.etag) && r.str(p.body) && r.time(p.expires) && r.time(p.modified);
  });
}

namespace {
constexpr std::uint8_t kFrom = 1, kTo = 2, kPendingOut = 4, kAvailable = 1;
}

std::string Codec<RosterItem>::encode(const std::vector<RosterItem>& list) {
  return encodeList(RecordType::RosterItem, list, [](Writer& w, const RosterItem& i) {
    w.str(i.jid);
    w.byte(static_cast<std::uint8_t>((i.from ? kFrom : 0) | (i.to ? kTo : 0) | (i.pendingOut ? kPendingOut : 0)));
    w.time(i.expires);
  });
}

tl::expected<std::vector<RosterItem>, CodecError> Codec<RosterItem>::decode(std::string_view value) {
  return decodeList<RosterItem>(RecordType::RosterItem, value, [](Reader& r, RosterItem& i) {
    std::uint8_t f = 0;
    if (!(r.str(i.jid) && r.flags(f, kFrom | kTo | kPendingOut) && r.time(i.expires))) return false;
    i.from = (f & kFrom) != 0;
    i.to = (f & kTo) != 0;
    i.pendingOut = (f & kPendingOut) != 0;
    return true;
  });
}

std::string Codec<ContactResource>::encode(const std::vector<ContactResource>& list) {
  return encodeList(RecordType::ContactResource, list, [](Writer& w, const ContactResource& c) {
    w.str(c.resource);
    w.byte(c.available ? kAvailable : 0);
    w.str(c.show);
    w.str(c.status);
    w.str(c.lang);
    w.i64(c.priority);
    w.time(c.expires);
  });
}

tl::expected<std::vector<ContactResource>, CodecError> Codec<ContactResource>::decode(std::string_view value) {
  return decodeList<ContactResource>(RecordType::ContactResource, value, [](Reader& r, ContactResource& c) {
    std::uint8_t f = 0;
    if (!(r.str(c.resource) && r.flags(f, kAvailable) && r.str(c.show) && r.str(c.status) && r.str(c.lang) &&
          r.i8(c.priority) && r.time(c.expires)))
      return false;
    c.available = (f & kAvailable) != 0;
    return true;
  });
}

std::string Codec<Subscription>::encode(const std::vector<Subscription>& list) {
  return encodeList(RecordType::Subscription, list, [](Writer& w, const Subscription& s) {
    w.str(s.resource);
    w.str(s.watcher);
    w.str(s.eventId);
    w.str(s.callId);
    w.str(s.localTag);
    w.str(s.remoteTag);
    w.str(s.localUri);
    w.str(s.remoteUri);
    w.str(s.remoteTarget);
    w.u64(s.routeSet.size());
    for (const auto& r : s.routeSet) w.str(r);
    w.str(s.source);
    w.u64(s.localCSeq);
    w.u64(s.remoteCSeq);
    w.time(s.expires);
  });
}

tl::expected<std::vector<Subscription>, CodecError> Codec<Subscription>::decode(std::string_view value) {
  return decodeList<Subscription>(RecordType::Subscription, value, [](Reader& r, Subscription& s) {
    std::size_t routes = 0;
    return r.str(s.resource) && r.str(s.watcher) && r.str(s.eventId) && r.str(s.callId) && r.str(s.localTag) &&
           r.str(s.remoteTag) && r.str(s.localUri) && r.str(s.remoteUri) && r.str(s.remoteTarget) &&
           r.unsignedInt(routes) && r.strings(s.routeSet, routes) && r.str(s.source) && r.unsignedInt(s.localCSeq) &&
           r.unsignedInt(s.remoteCSeq) && r.time(s.expires);
  });
}

}  // namespace parley::redis
