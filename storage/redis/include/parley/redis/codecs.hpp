// How the records of a ListStore are stored in one Redis string value
// (docs/storage.md, "Redis stores: key schema and atomicity").
//
// Layout: [format version: 1 byte][record type: 1 byte][varint count][records],
// each field in declaration order:
//   string          varint byte length, then the bytes (binary-safe)
//   unsigned int    varint (LEB128)
//   signed int      zigzag varint
//   bool(s)         one flags byte
//   WallTime        zigzag varint of milliseconds since the epoch (floored);
//                   WallTime::max() ("never expires") is INT64_MAX exactly.
// The record type byte keeps one kind of record from being decoded as another
// when two stores are pointed at the same key by mistake.
//
// decode() accepts exactly what encode() produces: truncated input, trailing
// bytes, an unknown version or type, a varint over 64 bits or a value out of
// its field's range is a CodecError, never undefined behaviour. The Redis
// store answers such a value with StoreError{Unavailable} (the data is not
// ours to guess at; DEL the key to recover).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "parley/storage/publication_store.hpp"
#include "parley/storage/registration_store.hpp"
#include "parley/storage/roster_store.hpp"
#include "parley/storage/subscription_store.hpp"

namespace parley::redis {

/// The format version every encoder writes; decoders accept only it (bump it
/// with a decoder for the old one when a record changes shape).
inline constexpr std::uint8_t kCodecVersion = 1;

enum class CodecError : std::uint8_t {
  Truncated,   ///< the value ends inside a field
  BadVersion,  ///< unknown format version
  BadType,     ///< the value holds another kind of record
  Malformed,   ///< a field out of range, an over-long varint, or trailing bytes
};
[[nodiscard]] std::string_view toString(CodecError e);

/// Specialised for every record type a RedisListStore holds.
template <class T>
struct Codec;

#define PARLEY_REDIS_DECLARE_CODEC(T)                                                  \
  template <>                                                                          \
  struct Codec<T> {                                                                    \
    [[nodiscard]] static std::string encode(const std::vector<T>& list);               \
    [[nodiscard]] static tl::expected<std::vector<T>, CodecError> decode(std::string_view value); \
  }

PARLEY_REDIS_DECLARE_CODEC(storage::Binding);
PARLEY_REDIS_DECLARE_CODEC(storage::Publication);
PARLEY_REDIS_DECLARE_CODEC(storage::RosterItem);
PARLEY_REDIS_DECLARE_CODEC(storage::ContactResource);
PARLEY_REDIS_DECLARE_CODEC(storage::Subscription);

#undef PARLEY_REDIS_DECLARE_CODEC

}  // namespace parley::redis
