// Parse and serialize a typical ~740-byte PUBLISH (tests/fixtures/sip/typical/
// publish_pidf.sip). Target (issue 2): parse+serialize >= 1,000,000 msgs/s on
// one core. Run: build/bench/bench_sip_parser --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "parley/sip/parser.hpp"
#include "parley/sip/response.hpp"
#include "parley/sip/serializer.hpp"

namespace {
using namespace parley::sip;

const std::string& fixture(const char* name) {
  static std::string text = [name] {
    std::ifstream in(std::string(PARLEY_FIXTURES_DIR) + "/sip/typical/" + name, std::ios::binary);
    std::string s{std::istreambuf_iterator<char>(in), {}};
    if (s.empty()) throw std::runtime_error("missing fixture");
    return s;
  }();
  return text;
}

void BM_ParsePublish(benchmark::State& state) {
  const std::string& wire = fixture("publish_pidf.sip");
  const Parser parser;
  for (auto _ : state) {
    auto m = parser.parseDatagram(wire);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_ParsePublish);

void BM_ParseSerializePublish(benchmark::State& state) {
  const std::string& wire = fixture("publish_pidf.sip");
  const Parser parser;
  std::string out;
  for (auto _ : state) {
    auto m = parser.parseDatagram(wire);
    out.clear();
    serialize(*m, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
  state.counters["msg_bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_ParseSerializePublish);

void BM_ParseAndBuild200(benchmark::State& state) {
  const std::string& wire = fixture("publish_pidf.sip");
  const Parser parser;
  std::string out;
  for (auto _ : state) {
    auto m = parser.parseDatagram(wire);
    auto resp = makeResponse(*m, 200, {}, "5a7b9c1d", nullptr);
    out.clear();
    serialize(resp, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndBuild200);

void BM_StreamFrameAndParse(benchmark::State& state) {
  const std::string& wire = fixture("publish_pidf.sip");
  const Parser parser;
  StreamFramer framer;
  std::string out;
  for (auto _ : state) {
    framer.feed(wire);
    while (framer.next(out) == StreamFramer::Status::Message) {
      auto m = parser.parseFramed(out);
      benchmark::DoNotOptimize(m);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StreamFrameAndParse);

}  // namespace

BENCHMARK_MAIN();
