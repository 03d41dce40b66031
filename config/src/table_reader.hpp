// Reading one TOML table with declared keys, typed getters and positioned errors (internal).
//
// Each [table] of parley.toml gets one reader function (node_table.cpp, sip_table.cpp, ...)
// that lists its known keys once and reads each with a one-line call; unknown keys, wrong
// types and out-of-range numbers are reported here, so no table repeats those checks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "parley/config/config.hpp"

namespace parley::config::detail {

struct Position {
  int line = 0;  ///< 1-based; 0 = unknown
  int column = 0;
};

Position positionOf(const toml::source_region& region);

// A value read from the file together with the key path and position to blame for it.
template <typename T>
struct Field {
  T value;
  std::string key;
  Position pos;
};

using StringField = Field<std::string>;
using StringListField = Field<std::vector<StringField>>;

// Collects every problem found; the one reported is the earliest in the file, so the result
// does not depend on toml++'s (sorted) table iteration order.
class ErrorList {
 public:
  explicit ErrorList(std::string file) : file_(std::move(file)) {}

  void add(Position pos, std::string key, std::string message);
  [[nodiscard]] bool empty() const { return errors_.empty(); }
  // Precondition: !empty().
  [[nodiscard]] ConfigError first() const;

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

// Key paths as shown in errors: "sip.listen", "sip.listen[1]"; keys that are not TOML bare
// keys are quoted ("node.\"a b\"").
std::string joinKey(std::string_view prefix, std::string_view key);
std::string indexKey(std::string_view arrayKey, std::size_t index);

class TableReader {
 public:
  // `table` may be null: the table is absent (or had the wrong type, already reported), every
  // getter then returns nothing and the caller's defaults stay. `path` is the table's key
  // path ("" for the root). Any key of `table` not in `knownKeys` is reported at once.
  TableReader(const toml::table* table, std::string path,
              std::vector<std::string_view> knownKeys, ErrorList& errors);

  // Each getter returns nothing when the key is absent or its value is invalid (the problem
  // has then been reported). `key` must be one of knownKeys.
  std::optional<StringField> string(std::string_view key);
  std::optional<Field<bool>> boolean(std::string_view key);
  std::optional<Field<std::int64_t>> integer(std::string_view key, std::int64_t min,
                                             std::int64_t max);
  // Array whose elements are all strings; element keys carry their index.
  std::optional<StringListField> stringArray(std::string_view key);
  // A sub-table ("expected a table" otherwise); the result feeds another TableReader.
  const toml::table* table(std::string_view key);

  // Assign-if-present shorthands for bounded numbers.
  void read(std::string_view key, std::int64_t min, std::int64_t max, std::size_t& out);
  void read(std::string_view key, std::int64_t min, std::int64_t max, std::chrono::seconds& out);

  // Reports a semantic problem with a value read from this table.
  template <typename T>
  void fail(const Field<T>& field, std::string message) {
    errors_.add(field.pos, field.key, std::move(message));
  }

  [[nodiscard]] std::string keyPath(std::string_view key) const { return joinKey(path_, key); }

 private:
  const toml::node* find(std::string_view key) const;

  const toml::table* table_;
  std::string path_;
  std::vector<std::string_view> knownKeys_;
  ErrorList& errors_;
};

}  // namespace parley::config::detail
