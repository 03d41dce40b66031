#include "parley/sip/random.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <cstdlib>

namespace parley::sip {
namespace {

class RandomPool {
 public:
  void fill(unsigned char* out, std::size_t n) {
    while (n > 0) {
      if (pos_ == buf_.size()) refill();
      const std::size_t take = std::min(n, buf_.size() - pos_);
      for (std::size_t i = 0; i < take; ++i) out[i] = buf_[pos_ + i];
      pos_ += take;
      out += take;
      n -= take;
    }
  }

 private:
  void refill() {
    std::size_t got = 0;
    while (got < buf_.size()) {
      const ssize_t r = getrandom(buf_.data() + got, buf_.size() - got, 0);
      if (r < 0) continue;  // EINTR; getrandom never fails otherwise once the pool is seeded
      got += static_cast<std::size_t>(r);
    }
    pos_ = 0;
  }
  std::array<unsigned char, 1024> buf_{};
  std::size_t pos_ = buf_.size();
};

thread_local RandomPool pool;

}  // namespace

std::string randomHex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes * 2, '0');
  unsigned char raw[64];
  std::size_t done = 0;
  while (done < bytes) {
    const std::size_t n = std::min(bytes - done, sizeof raw);
    pool.fill(raw, n);
    for (std::size_t i = 0; i < n; ++i) {
      out[(done + i) * 2] = kHex[raw[i] >> 4];
      out[(done + i) * 2 + 1] = kHex[raw[i] & 15];
    }
    done += n;
  }
  return out;
}

std::string randomToken(std::size_t chars) {
  static constexpr char kToken[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.";
  static_assert(sizeof kToken == 65);
  std::string out(chars, 'A');
  unsigned char raw[64];
  for (std::size_t done = 0; done < chars;) {
    const std::size_t n = std::min(chars - done, sizeof raw);
    pool.fill(raw, n);
    for (std::size_t i = 0; i < n; ++i) out[done + i] = kToken[raw[i] & 63];
    done += n;
  }
  return out;
}

std::string newTag() { return randomHex(8); }

std::string newBranch() { return "z9hG4bK" + randomHex(12); }

}  // namespace parley::sip
