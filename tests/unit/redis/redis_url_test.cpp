#include "parley/redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace parley::redis {
namespace {

TEST(RedisUrl, RedactedUrlHidesThePassword) {
  RedisEndpoint ep{"127.0.0.1", 6379, "hunter2", 0};
  EXPECT_EQ(redactedUrl(ep), "redis://:***@127.0.0.1:6379/0");
  ep.password.clear();
  ep.db = 3;
  EXPECT_EQ(redactedUrl(ep), "redis://127.0.0.1:6379/3");
  EXPECT_EQ(redactedUrl(RedisEndpoint{"::1", 7000, "x", 1}), "redis://:***@[::1]:7000/1");
}

TEST(RedisEndpointCheck, RefusesNamesPortZeroAndBadDb) {
  EXPECT_TRUE(checkEndpoint(RedisEndpoint{"127.0.0.1", 6379, "", 0}));
  EXPECT_TRUE(checkEndpoint(RedisEndpoint{"::1", 6379, "", 15}));
  EXPECT_FALSE(checkEndpoint(RedisEndpoint{"localhost", 6379, "", 0}));
  EXPECT_FALSE(checkEndpoint(RedisEndpoint{"", 6379, "", 0}));
  EXPECT_FALSE(checkEndpoint(RedisEndpoint{"127.0.0.1", 0, "", 0}));
  EXPECT_FALSE(checkEndpoint(RedisEndpoint{"127.0.0.1", 6379, "", 16}));
  EXPECT_FALSE(checkEndpoint(RedisEndpoint{"127.0.0.1", 6379, "", -1}));
}

}  // namespace
}  // namespace parley::redis
