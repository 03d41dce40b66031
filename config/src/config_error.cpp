#include "parley/config/config.hpp"

namespace parley::config {

// Same shape as compiler diagnostics so editors and terminals can jump to the spot:
//   parley.toml:12:9: sip.listen[1]: unknown transport "sctp"
std::string ConfigError::format() const {
  std::string out = file;
  if (line > 0) {
    if (!out.empty()) out += ':';
    out += std::to_string(line) + ":" + std::to_string(column);
  }
  if (!out.empty()) out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

}  // namespace parley::config
