// libFuzzer target for the SIP parser: each input is tried as a UDP datagram,
// as a framed stream message, fed to the stream framer in two chunks, and (when
// it parses) serialized and parsed again, which must succeed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "parley/sip/parser.hpp"
#include "parley/sip/response.hpp"
#include "parley/sip/serializer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::sip;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Parser parser;

  auto dgram = parser.parseDatagram(bytes);
  if (dgram) {
    const std::string wire = serialize(*dgram);
    auto again = parser.parseDatagram(wire);
    if (!again) std::abort();  // whatever we accept, we must be able to re-read
    if (dgram->isRequest()) (void)serialize(makeResponse(*dgram, 200, {}, "tag", nullptr));
  } else if (dgram.error().partial) {
    (void)serialize(makeResponse(*dgram.error().partial, 400, describe(dgram.error().error), "tag", nullptr));
  }
  (void)parser.parseFramed(bytes);

  StreamFramer framer;
  const std::size_t half = size / 2;
  std::string out;
  framer.feed(bytes.substr(0, half));
  while (framer.next(out) == StreamFramer::Status::Message) (void)parser.parseFramed(out);
  framer.feed(bytes.substr(half));
  while (framer.next(out) == StreamFramer::Status::Message) (void)parser.parseFramed(out);
  return 0;
}
