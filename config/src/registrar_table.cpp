// [registrar]: expiry bounds and binding limits for REGISTER (RFC 3261 §10.3).
#include "tables.hpp"

namespace parley::config::detail {

void readRegistrarTable(const toml::table* table, ErrorList& errors, RegistrarConfig& out) {
  TableReader reader(table, "registrar",
                     {"min_expires", "max_expires", "default_expires", "max_contacts"}, errors);
  reader.read("min_expires", 1, 86400, out.minExpires);
  // The upper bounds depend on the lower ones, so each range starts where the
  // previous value ended up (a default when the key is absent).
  reader.read("max_expires", out.minExpires.count(), 604800, out.maxExpires);
  reader.read("default_expires", out.minExpires.count(), out.maxExpires.count(), out.defaultExpires);
  reader.read("max_contacts", 1, 1000, out.maxContacts);
}

}  // namespace parley::config::detail
