#include "parley/storage/memory_registration_store.hpp"

#include <algorithm>

namespace parley::storage {
namespace {
// Removes the bindings that have expired at `now`; returns how many.
std::size_t dropExpired(Bindings& bindings, WallTime now) {
  return std::erase_if(bindings, [now](const Binding& b) { return b.expires <= now; });
}
}  // namespace

void MemoryRegistrationStore::lookup(const std::string& aor, WallTime now, Done done) {
  auto it = byAor_.find(aor);
  if (it == byAor_.end()) return done(Bindings{});
  dropExpired(it->second, now);
  Bindings live = it->second;
  if (it->second.empty()) byAor_.erase(it);
  done(std::move(live));
}

void MemoryRegistrationStore::update(const std::string& aor, WallTime now, Change change, Done done) {
  auto it = byAor_.find(aor);
  Bindings live;
  if (it != byAor_.end()) {
    dropExpired(it->second, now);
    live = it->second;
  }
  auto next = change(live);
  if (!next) return done(tl::unexpected(std::move(next.error())));
  if (next->empty()) {
    if (it != byAor_.end()) byAor_.erase(it);
  } else if (it != byAor_.end()) {
    it->second = *next;
  } else {
    byAor_.emplace(aor, *next);
  }
  done(std::move(*next));
}

std::size_t MemoryRegistrationStore::sweep(WallTime now) {
  std::size_t dropped = 0;
  for (auto it = byAor_.begin(); it != byAor_.end();) {
    dropped += dropExpired(it->second, now);
    it = it->second.empty() ? byAor_.erase(it) : std::next(it);
  }
  return dropped;
}

std::size_t MemoryRegistrationStore::bindings() const {
  std::size_t n = 0;
  for (const auto& [aor, b] : byAor_) n += b.size();
  return n;
}

}  // namespace parley::storage
