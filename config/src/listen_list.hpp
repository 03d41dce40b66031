// A "listen" array shared by [sip] and [http]: at least one address, at most `maxItems`, each
// parsed by `parse` (tl::expected<Address, std::string>), no socket listed twice (`same`).
// Each bad item is reported at its own key; `out` is assigned only when every item is valid.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "table_reader.hpp"
#include "text_util.hpp"

namespace parley::config::detail {

template <typename Address, typename Parse, typename Same>
void readListenList(TableReader& reader, std::size_t maxItems, Parse parse, Same same, std::vector<Address>& out) {
  auto list = reader.stringArray("listen");
  if (!list) return;
  if (list->value.empty()) {
    reader.fail(*list, "must list at least one address");
    return;
  }
  if (list->value.size() > maxItems) {
    reader.fail(*list, "lists " + std::to_string(list->value.size()) + " addresses; at most " +
                           std::to_string(maxItems) + " are allowed");
    return;
  }
  std::vector<Address> addresses;
  bool ok = true;
  for (const StringField& item : list->value) {
    auto address = parse(item.value);
    if (!address) {
      reader.fail(item, std::move(address.error()));
      ok = false;
      continue;
    }
    // Hosts are canonical, so "[::1]:8080" and "[0::1]:8080" are the same socket.
    if (std::any_of(addresses.begin(), addresses.end(), [&](const Address& other) { return same(other, *address); })) {
      reader.fail(item, "duplicate listen address " + quote(item.value));
      ok = false;
      continue;
    }
    addresses.push_back(std::move(*address));
  }
  if (ok) out = std::move(addresses);
}

}  // namespace parley::config::detail
