// The expiry rule shared by REGISTER (RFC 3261 §10.3 step 7), PUBLISH (RFC 3903
// §6 step 4) and SUBSCRIBE (RFC 6665 §4.2.1.1): a request's Expires is only a
// request. Absent → the default; 0 stays 0 (remove/unsubscribe); 0 < e < min →
// refused with 423 + Min-Expires: min; e > max → shortened to max.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace parley::simple {

struct ExpiryBounds {
  std::chrono::seconds min{60};
  std::chrono::seconds max{3600};
  std::chrono::seconds fallback{3600};  ///< when the request names none

  /// The seconds to grant, or nullopt when the request is too brief (423).
  [[nodiscard]] std::optional<std::uint32_t> grant(std::optional<std::uint32_t> requested) const {
    const std::uint32_t e = requested.value_or(static_cast<std::uint32_t>(fallback.count()));
    if (e > 0 && e < min.count()) return std::nullopt;
    return std::min<std::uint32_t>(e, static_cast<std::uint32_t>(max.count()));
  }
};

}  // namespace parley::simple
