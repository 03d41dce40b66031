// A small append-only byte arena with stable addresses: what it stores never moves
// until the arena is destroyed. Messages use it so that every string_view they
// hand out stays valid across moves of the Message.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace parley::sip {

class Arena {
 public:
  Arena() = default;
  Arena(Arena&& o) noexcept
      : first_(std::move(o.first_)), blocks_(std::move(o.blocks_)), cur_(o.cur_), left_(o.left_) {
    o.cur_ = nullptr;
    o.left_ = 0;
  }
  Arena& operator=(Arena&& o) noexcept {
    first_ = std::move(o.first_);
    blocks_ = std::move(o.blocks_);
    cur_ = o.cur_;
    left_ = o.left_;
    o.cur_ = nullptr;
    o.left_ = 0;
    return *this;
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  /// Copies `text` into the arena; the returned view lives as long as the arena.
  std::string_view store(std::string_view text);
  /// Reserves `n` writable bytes (stable address) for the caller to fill.
  char* allocate(std::size_t n);

 private:
  static constexpr std::size_t kChunk = 512;
  std::unique_ptr<char[]> first_;                 // most messages need one block only
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cur_ = nullptr;
  std::size_t left_ = 0;
};

}  // namespace parley::sip
