// Transaction memory (parley/txn/txn_memory.hpp): in this test binary jemalloc
// is not linked, so it is the general heap; parleyd's own arena is checked
// through /api/v1/stats by the http_api_stream integration test.
#include "parley/txn/txn_memory.hpp"

#include <string>
#include <unordered_map>

#include <gtest/gtest.h>

namespace parley::txn {
namespace {

TEST(TransactionMemory, WithoutJemallocTheGeneralHeapServesStringsAndMaps) {
  EXPECT_EQ(transactionArena(), -1);
  std::unordered_map<int, TransactionString, std::hash<int>, std::equal_to<int>,
                     TransactionAllocator<std::pair<const int, TransactionString>>>
      m;
  for (int i = 0; i < 1000; ++i) m.emplace(i, TransactionString(200, static_cast<char>('a' + i % 26)));
  for (int i = 0; i < 1000; i += 2) m.erase(i);
  ASSERT_EQ(m.size(), 500u);
  EXPECT_EQ(std::string_view(m.at(1)), std::string(200, 'b'));
  TransactionString s;
  s = std::string("SIP/2.0 200 OK\r\n");  // assigned from the wire bytes, as a response is
  s += "Content-Length: 0\r\n\r\n";
  EXPECT_EQ(std::string_view(s), "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace parley::txn
