// The last documents a thread parsed, by their exact bytes. A presence server parses the same
// bytes again and again: a PUBLISH body is parsed to validate it and, a moment later, to compose
// the document its watchers get; an API read composes from stored bodies that rarely change.
// With Xerces one parse of a 300-byte PIDF costs tens of microseconds, about a fifth of a fan-out
// NOTIFY's CPU (docs/performance.md, "PIDF parse memo"); a hit costs a hash and a copy.
//
// Only identical bytes hit, and only under limits at least as loose as those they were parsed
// under (limits only ever refuse a document, so a document within tighter limits is within looser
// ones and parses to the same result): the result is exactly what parsing would give. The
// publisher validates under its configured limits and composing parses under the defaults, so
// equal limits alone would never hit. Failures are not remembered. Bounded: kEntries documents of at most kMaxBytes
// each, the oldest replaced first.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "parley/pidf/document_error.hpp"

namespace parley::pidf::detail {

template <class Doc>
class ParseMemo {
 public:
  static constexpr std::size_t kEntries = 128;
  static constexpr std::size_t kMaxBytes = 4096;  // larger documents are parsed every time

  [[nodiscard]] const Doc* find(std::string_view xml, const Limits& limits) const {
    const auto it = index_.find(xml);
    if (it == index_.end()) return nullptr;
    const Entry& e = entries_[it->second];
    return atLeastAsLoose(limits, e.limits) ? &*e.doc : nullptr;
  }

  // Takes a copy, or the document itself when the caller no longer needs it
  // (validatePidf: a publisher only asks whether the body parses).
  template <class D>
  void remember(std::string_view xml, const Limits& limits, D&& doc) {
    if (xml.size() > kMaxBytes) return;
    if (entries_.empty()) entries_.resize(kEntries);
    if (const auto it = index_.find(xml); it != index_.end()) {  // same bytes, tighter limits now
      entries_[it->second].limits = limits;
      entries_[it->second].doc = std::forward<D>(doc);
      return;
    }
    Entry& e = entries_[next_];
    if (e.doc) index_.erase(std::string_view(e.xml));
    e.xml.assign(xml);
    e.limits = limits;
    e.doc = std::forward<D>(doc);
    index_.emplace(std::string_view(e.xml), next_);  // views the entry's own copy
    next_ = (next_ + 1) % kEntries;
  }

 private:
  struct Entry {
    std::string xml;
    Limits limits;
    std::optional<Doc> doc;  // empty: a free slot
  };
  static bool atLeastAsLoose(const Limits& a, const Limits& b) {
    return a.maxBytes >= b.maxBytes && a.maxDepth >= b.maxDepth && a.maxElements >= b.maxElements &&
           a.maxTuples >= b.maxTuples;
  }

  std::vector<Entry> entries_;  // allocated on first use; never resized after, so views stay valid
  std::unordered_map<std::string_view, std::size_t> index_;
  std::size_t next_ = 0;
};

}  // namespace parley::pidf::detail
