// The in-memory RegistrationStore (the default backend): one hash map keyed by
// AOR, on the event loop's thread only. Expired bindings are never returned;
// their memory is reclaimed when their AOR is next touched or by sweep().
#pragma once

#include <string>
#include <unordered_map>

#include "parley/storage/registration_store.hpp"

namespace parley::storage {

class MemoryRegistrationStore final : public RegistrationStore {
 public:
  // RegistrationStore
  void lookup(const std::string& aor, WallTime now, Done done) override;
  void update(const std::string& aor, WallTime now, Change change, Done done) override;

  /// Drops every expired binding and empty AOR; returns how many bindings went.
  std::size_t sweep(WallTime now);
  [[nodiscard]] std::size_t aors() const { return byAor_.size(); }
  [[nodiscard]] std::size_t bindings() const;

 private:
  std::unordered_map<std::string, Bindings> byAor_;
};

}  // namespace parley::storage
