// Publications (RFC 3903): the event state a presentity's devices published,
// kept in a ListStore keyed by "<event> <presentity AOR>", one record per
// SIP-ETag.
#pragma once

#include <string>
#include <vector>

#include "parley/storage/list_store.hpp"

namespace parley::storage {

struct Publication {
  std::string etag;         ///< current entity-tag; a fresh one after every success
  std::string body;         ///< the validated document as published (its type is the event package's)
  WallTime expires;         ///< when it lapses
  WallTime modified;        ///< last initial or modify (not a refresh): newest person data wins

  friend bool operator==(const Publication&, const Publication&) = default;
};
using Publications = std::vector<Publication>;
using PublicationStore = ListStore<Publication>;

}  // namespace parley::storage
