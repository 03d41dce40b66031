// Shared by the config unit tests.
#pragma once

#include <string>
#include <string_view>

#include "parley/config/config.hpp"

namespace parley::config::test {

// The formatted error for `text` loaded as "parley.toml", or "<loaded>" if it loads.
inline std::string errorOf(std::string_view text) {
  auto result = loadString(text, "parley.toml");
  return result ? std::string("<loaded>") : result.error().format();
}

}  // namespace parley::config::test
