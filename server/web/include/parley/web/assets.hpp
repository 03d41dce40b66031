// The dashboard's static files (server/web/*.html, *.css, *.js), embedded into the binary at
// build time by embed.cmake: editing one and rebuilding updates parleyd, and a running server
// needs no files on disk.
#pragma once

#include <string_view>

namespace parley::web {

struct Asset {
  std::string_view path;         ///< "/index.html", "/dashboard.js", ...
  std::string_view contentType;  ///< for the Content-Type header, charset included
  std::string_view body;         ///< the file's exact bytes
  std::string_view etag;         ///< the ETag header's value, quotes included: "\"<sha256 of body>\""
};

/// The asset served at `path` ("/" is index.html), or nullptr. `path` has no query string.
const Asset* findAsset(std::string_view path);

}  // namespace parley::web
