#include "parley/sip/arena.hpp"

#include <algorithm>
#include <cstring>

namespace parley::sip {

std::string_view Arena::store(std::string_view text) {
  if (text.empty()) return {};
  char* p = allocate(text.size());
  std::memcpy(p, text.data(), text.size());
  return {p, text.size()};
}

char* Arena::allocate(std::size_t n) {
  if (n > left_) {
    const std::size_t size = std::max(n, kChunk);
    auto block = std::make_unique_for_overwrite<char[]>(size);
    cur_ = block.get();
    if (!first_) first_ = std::move(block);
    else blocks_.push_back(std::move(block));
    left_ = size;
  }
  char* p = cur_;
  cur_ += n;
  left_ -= n;
  return p;
}

}  // namespace parley::sip
