#include "parley/server/logging.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <sstream>

namespace parley::server {
namespace {

TEST(Logging, JsonFormatEscapesQuotesBackslashesAndControlCharacters) {
  testing::internal::CaptureStdout();
  initLogging({config::LogLevel::Debug, config::LogFormat::Json});
  logger("test")->info("event.x key=\"quoted\" path=C:\\dir line1\nline2\ttab\x01");
  logger("test")->debug("event.y n={}", 42);
  logger("test")->trace("event.z filtered");
  shutdownLogging();
  const std::string out = testing::internal::GetCapturedStdout();

  std::istringstream lines(out);
  std::string line;
  std::vector<nlohmann::json> objects;
  while (std::getline(lines, line)) objects.push_back(nlohmann::json::parse(line));  // throws if not JSON
  ASSERT_EQ(objects.size(), 2u) << out;
  EXPECT_EQ(objects[0]["msg"], "event.x key=\"quoted\" path=C:\\dir line1\nline2\ttab\x01");
  EXPECT_EQ(objects[0]["level"], "info");
  EXPECT_EQ(objects[0]["module"], "test");
  EXPECT_EQ(objects[1]["msg"], "event.y n=42");
  EXPECT_EQ(objects[1]["level"], "debug");
}

}  // namespace
}  // namespace parley::server
