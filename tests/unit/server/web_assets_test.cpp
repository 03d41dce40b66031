#include "parley/web/assets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace parley::web {
namespace {

// The dashboard's sources, read from the source tree (tests/fixtures/../../server/web).
std::string sourceFile(const std::string& name) {
  const std::string path = std::string(PARLEY_FIXTURES_DIR) + "/../../server/web/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TEST(WebAssets, RootAndIndexAreTheHtmlPage) {
  const Asset* root = findAsset("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root, findAsset("/index.html"));
  EXPECT_EQ(root->path, "/index.html");
  EXPECT_EQ(root->contentType, "text/html; charset=utf-8");
}

TEST(WebAssets, ScriptAndStyleHaveTheirTypes) {
  const Asset* js = findAsset("/dashboard.js");
  const Asset* css = findAsset("/dashboard.css");
  ASSERT_NE(js, nullptr);
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(js->contentType, "text/javascript; charset=utf-8");
  EXPECT_EQ(css->contentType, "text/css; charset=utf-8");
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  for (const char* path : {"", "/nope", "index.html", "/INDEX.HTML", "/index.html?x=1", "/index.html/",
                           "//index.html", "/../server/web/index.html", "/embed.cmake", "/CMakeLists.txt",
                           "/src/assets.cpp", "/api/v1/stats"})
    EXPECT_EQ(findAsset(path), nullptr) << path;
}

TEST(WebAssets, BodiesAreTheFilesExactBytes) {
  for (const char* name : {"index.html", "dashboard.css", "dashboard.js"}) {
    const Asset* asset = findAsset(std::string("/") + name);
    ASSERT_NE(asset, nullptr) << name;
    const std::string file = sourceFile(name);
    ASSERT_FALSE(file.empty()) << name;
    // EXPECT_EQ would print 30 KB on a mismatch; the size and first differing offset say enough.
    EXPECT_EQ(asset->body.size(), file.size()) << name;
    const auto diff = std::mismatch(file.begin(), file.end(), asset->body.begin(), asset->body.end());
    EXPECT_TRUE(diff.first == file.end()) << name << " differs at byte " << (diff.first - file.begin());
  }
}

TEST(WebAssets, EtagsAreQuotedSha256AndDistinct) {
  std::set<std::string_view> seen;
  for (const char* path : {"/index.html", "/dashboard.css", "/dashboard.js"}) {
    const Asset* asset = findAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    const std::string_view etag = asset->etag;
    const bool quotedHex = etag.size() == 66 && etag.front() == '"' && etag.back() == '"' &&
                           std::all_of(etag.begin() + 1, etag.end() - 1, [](char c) {
                             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                           });
    EXPECT_TRUE(quotedHex) << etag;
    seen.insert(asset->etag);
  }
  EXPECT_EQ(seen.size(), 3u);
}

// The page loads nothing it does not embed, and nothing from elsewhere (no CDN, no fonts).
TEST(WebAssets, PageReferencesOnlyEmbeddedFiles) {
  const std::string html(findAsset("/")->body);
  int refs = 0;
  for (const std::string attr : {" href=\"", " src=\""}) {
    for (auto at = html.find(attr); at != std::string::npos; at = html.find(attr, at + 1)) {
      const auto start = at + attr.size();
      const std::string target = html.substr(start, html.find('"', start) - start);
      if (target.starts_with("data:")) continue;
      ++refs;
      EXPECT_NE(findAsset("/" + target), nullptr) << target;
    }
  }
  EXPECT_EQ(refs, 2);  // the stylesheet and the script
  for (const char* path : {"/index.html", "/dashboard.css", "/dashboard.js"}) {
    std::string body(findAsset(path)->body);
    // The one "URL" allowed is the SVG namespace name, which is never fetched.
    const std::string svgNs = "http://www.w3.org/2000/svg";
    for (auto at = body.find(svgNs); at != std::string::npos; at = body.find(svgNs)) body.erase(at, svgNs.size());
    EXPECT_EQ(body.find("http://"), std::string::npos) << path;
    EXPECT_EQ(body.find("https://"), std::string::npos) << path;
    EXPECT_EQ(body.find("@import"), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace parley::web
