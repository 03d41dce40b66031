#include "table_reader.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

namespace parley::config::detail {
namespace {

bool isBareKey(std::string_view key) {
  // TOML v1.0.0 "Keys": bare keys are A-Za-z0-9_- and non-empty.
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

bool isTableLike(const toml::node& node) {
  if (node.is_table()) return true;
  const auto* array = node.as_array();
  return array != nullptr && !array->empty() && array->is_array_of_tables();
}

}  // namespace

Position positionOf(const toml::source_region& region) {
  return Position{static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

void ErrorList::add(Position pos, std::string key, std::string message) {
  errors_.push_back(ConfigError{file_, pos.line, pos.column, std::move(key), std::move(message)});
}

ConfigError ErrorList::first() const {
  assert(!errors_.empty());
  // Positioned errors sort before unpositioned ones; ties keep insertion order.
  const auto sortKey = [](const ConfigError& e) {
    return std::pair{e.line == 0 ? std::numeric_limits<int>::max() : e.line, e.column};
  };
  return *std::min_element(errors_.begin(), errors_.end(),
                           [&](const ConfigError& a, const ConfigError& b) {
                             return sortKey(a) < sortKey(b);
                           });
}

std::string joinKey(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  if (!out.empty()) out += '.';
  if (isBareKey(key)) {
    out += key;
  } else {
    out += '"';
    for (char c : key) {
      // Escape like a TOML basic string so the path can be pasted back into the file.
      if (c == '"' || c == '\\') out += '\\';
      out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
    out += '"';
  }
  return out;
}

std::string indexKey(std::string_view arrayKey, std::size_t index) {
  return std::string(arrayKey) + "[" + std::to_string(index) + "]";
}

TableReader::TableReader(const toml::table* table, std::string path,
                         std::vector<std::string_view> knownKeys, ErrorList& errors)
    : table_(table), path_(std::move(path)), knownKeys_(std::move(knownKeys)), errors_(errors) {
  if (table_ == nullptr) return;
  for (const auto& [key, node] : *table_) {
    if (std::find(knownKeys_.begin(), knownKeys_.end(), key.str()) != knownKeys_.end()) continue;
    errors_.add(positionOf(key.source()), keyPath(key.str()),
                isTableLike(node) ? "unknown table" : "unknown key");
  }
}

const toml::node* TableReader::find(std::string_view key) const {
  assert(std::find(knownKeys_.begin(), knownKeys_.end(), key) != knownKeys_.end() &&
         "read a key that the table did not declare");
  return table_ == nullptr ? nullptr : table_->get(key);
}

std::optional<StringField> TableReader::string(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_string();
  if (value == nullptr) {
    errors_.add(positionOf(node->source()), keyPath(key), "expected a string");
    return std::nullopt;
  }
  return StringField{value->get(), keyPath(key), positionOf(node->source())};
}

std::optional<Field<bool>> TableReader::boolean(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_boolean();
  if (value == nullptr) {
    errors_.add(positionOf(node->source()), keyPath(key), "expected a boolean");
    return std::nullopt;
  }
  return Field<bool>{value->get(), keyPath(key), positionOf(node->source())};
}

std::optional<Field<std::int64_t>> TableReader::integer(std::string_view key, std::int64_t min,
                                                        std::int64_t max) {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_integer();
  const Position pos = positionOf(node->source());
  if (value == nullptr) {
    errors_.add(pos, keyPath(key), "expected an integer");
    return std::nullopt;
  }
  const std::int64_t n = value->get();
  if (n < min || n > max) {
    errors_.add(pos, keyPath(key),
                std::to_string(n) + " is out of range " + std::to_string(min) + ".." +
                    std::to_string(max));
    return std::nullopt;
  }
  return Field<std::int64_t>{n, keyPath(key), pos};
}

std::optional<StringListField> TableReader::stringArray(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  StringListField out{{}, keyPath(key), positionOf(node->source())};
  if (array == nullptr) {
    errors_.add(out.pos, out.key, "expected an array of strings");
    return std::nullopt;
  }
  bool ok = true;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const Position pos = positionOf(element.source());
    if (const auto* value = element.as_string()) {
      out.value.push_back(StringField{value->get(), indexKey(out.key, i), pos});
    } else {
      errors_.add(pos, indexKey(out.key, i), "expected a string");
      ok = false;
    }
  }
  // A partial list would let checks on the whole list (e.g. "must not be empty") blame the
  // wrong thing; the element errors already explain the problem.
  if (!ok) return std::nullopt;
  return out;
}

const toml::table* TableReader::table(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  if (const auto* sub = node->as_table()) return sub;
  errors_.add(positionOf(node->source()), keyPath(key), "expected a table");
  return nullptr;
}

void TableReader::read(std::string_view key, std::int64_t min, std::int64_t max,
                       std::size_t& out) {
  assert(min >= 0);
  if (auto field = integer(key, min, max)) out = static_cast<std::size_t>(field->value);
}

void TableReader::read(std::string_view key, std::int64_t min, std::int64_t max,
                       std::chrono::seconds& out) {
  if (auto field = integer(key, min, max)) out = std::chrono::seconds{field->value};
}

}  // namespace parley::config::detail
