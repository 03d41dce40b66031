#include "parley/redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace parley::redis {
namespace {

TEST(RedisUrl, ParsesEveryPart) {
  auto ep = parseRedisUrl("redis://:s3cret@10.1.2.3:6380/7");
  ASSERT_TRUE(ep) << ep.error();
  EXPECT_EQ(ep->host, "10.1.2.3");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_EQ(ep->db, 7);
}

TEST(RedisUrl, DefaultsPortDbAndNoPassword) {
  auto ep = parseRedisUrl("redis://127.0.0.1");
  ASSERT_TRUE(ep) << ep.error();
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->password, "");
  EXPECT_EQ(ep->db, 0);
  ASSERT_TRUE(parseRedisUrl("redis://127.0.0.1/"));
  EXPECT_EQ(parseRedisUrl("redis://127.0.0.1/")->db, 0);
}

TEST(RedisUrl, SchemeIsCaseInsensitive) { EXPECT_TRUE(parseRedisUrl("REDIS://127.0.0.1:1/1")); }

TEST(RedisUrl, Ipv6LiteralInBrackets) {
  auto ep = parseRedisUrl("redis://[::1]:7000/2");
  ASSERT_TRUE(ep) << ep.error();
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 7000);
  EXPECT_EQ(ep->db, 2);
  auto noPort = parseRedisUrl("redis://:pw@[2001:db8::5]");
  ASSERT_TRUE(noPort) << noPort.error();
  EXPECT_EQ(noPort->host, "2001:db8::5");
  EXPECT_EQ(noPort->port, 6379);
}

TEST(RedisUrl, Ipv6WithoutBracketsIsRefusedWithAHint) {
  auto ep = parseRedisUrl("redis://::1:6379");
  ASSERT_FALSE(ep);
  EXPECT_NE(ep.error().find("brackets"), std::string::npos) << ep.error();
  EXPECT_FALSE(parseRedisUrl("redis://[::1"));
  EXPECT_FALSE(parseRedisUrl("redis://[127.0.0.1]:6379"));
  EXPECT_FALSE(parseRedisUrl("redis://[::1]x"));
}

TEST(RedisUrl, HostNameIsRefusedBecauseDnsWouldBlockTheLoop) {
  for (const char* url : {"redis://localhost:6379", "redis://redis.example.com/0", "redis://:pw@cache"}) {
    auto ep = parseRedisUrl(url);
    ASSERT_FALSE(ep) << url;
    EXPECT_NE(ep.error().find("not an IP address"), std::string::npos) << ep.error();
    EXPECT_NE(ep.error().find("DNS"), std::string::npos) << ep.error();
  }
}

TEST(RedisUrl, MalformedIpv4IsAName) {
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.256"));
  EXPECT_FALSE(parseRedisUrl("redis://127.1"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.01"));
}

TEST(RedisUrl, PasswordIsPercentDecoded) {
  auto ep = parseRedisUrl("redis://:p%40ss%2Fw%3Ard%25@127.0.0.1");
  ASSERT_TRUE(ep) << ep.error();
  EXPECT_EQ(ep->password, "p@ss/w:rd%");
  auto raw = parseRedisUrl("redis://:a:b@127.0.0.1");  // ':' needs no escape after the first
  ASSERT_TRUE(raw) << raw.error();
  EXPECT_EQ(raw->password, "a:b");
  auto binary = parseRedisUrl("redis://:%00%ff@127.0.0.1");
  ASSERT_TRUE(binary);
  EXPECT_EQ(binary->password, std::string("\0\xff", 2));
}

TEST(RedisUrl, BadEscapeIsRefusedWithoutQuotingThePassword) {
  for (const char* url : {"redis://:hunter2%@127.0.0.1", "redis://:hunter2%4@127.0.0.1", "redis://:hunter2%zz@127.0.0.1"}) {
    auto ep = parseRedisUrl(url);
    ASSERT_FALSE(ep) << url;
    EXPECT_EQ(ep.error().find("hunter2"), std::string::npos) << ep.error();
  }
}

TEST(RedisUrl, EmptyPasswordMeansNoAuth) {
  auto ep = parseRedisUrl("redis://:@127.0.0.1");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->password, "");
}

TEST(RedisUrl, UserNameIsRefusedWithoutQuotingIt) {
  auto ep = parseRedisUrl("redis://alice:hunter2@127.0.0.1");
  ASSERT_FALSE(ep);
  EXPECT_NE(ep.error().find("user names are not supported"), std::string::npos) << ep.error();
  EXPECT_EQ(ep.error().find("hunter2"), std::string::npos);
  EXPECT_FALSE(parseRedisUrl("redis://hunter2@127.0.0.1"));
}

TEST(RedisUrl, PortMustBe1To65535) {
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1:0"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1:65536"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1:"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1:63x"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1:-1"));
  ASSERT_TRUE(parseRedisUrl("redis://127.0.0.1:65535"));
  EXPECT_EQ(parseRedisUrl("redis://127.0.0.1:65535")->port, 65535);
}

TEST(RedisUrl, DbMustBe0To15) {
  EXPECT_TRUE(parseRedisUrl("redis://127.0.0.1/15"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1/16"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1/-1"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1/x"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1/1/2"));
}

TEST(RedisUrl, OtherSchemesAndExtrasAreRefused) {
  auto tls = parseRedisUrl("rediss://127.0.0.1");
  ASSERT_FALSE(tls);
  EXPECT_NE(tls.error().find("TLS"), std::string::npos);
  EXPECT_FALSE(parseRedisUrl("http://127.0.0.1"));
  EXPECT_FALSE(parseRedisUrl("127.0.0.1:6379"));
  EXPECT_FALSE(parseRedisUrl("redis://"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1?db=1"));
  EXPECT_FALSE(parseRedisUrl("redis://127.0.0.1/0#x"));
}

TEST(RedisUrl, RedactedUrlHidesThePassword) {
  RedisEndpoint ep{"127.0.0.1", 6379, "hunter2", 0};
  EXPECT_EQ(redactedUrl(ep), "redis://:***@127.0.0.1:6379/0");
  ep.password.clear();
  ep.db = 3;
  EXPECT_EQ(redactedUrl(ep), "redis://127.0.0.1:6379/3");
  EXPECT_EQ(redactedUrl(RedisEndpoint{"::1", 7000, "x", 1}), "redis://:***@[::1]:7000/1");
}

TEST(RedisUrl, RedactedUrlParsesBackWithoutThePassword) {
  auto ep = parseRedisUrl(redactedUrl(RedisEndpoint{"::1", 7000, "", 4}));
  ASSERT_TRUE(ep) << ep.error();
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 7000);
  EXPECT_EQ(ep->db, 4);
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
