// Backend replies. Checks that a Complete reply is well-formed, that serialize() gives bytes that parse
// back to the same reply, that every proper prefix of a complete reply asks for more, and that error
// texts are printable ASCII (they go to the log).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/check.h"
#include "proxy/smtp/reply_parser.h"

using namespace mxguard::smtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  std::size_t max_line = fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<std::size_t>(0, 40) : 2048;
  std::size_t max_lines = fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<std::size_t>(0, 5) : 100;
  std::size_t prefix_pick = fdp.ConsumeIntegral<std::uint16_t>();
  std::string input = fdp.ConsumeRemainingBytesAsString();

  ReplyParse p = parse_reply(input, max_line, max_lines);
  for (char c : p.error) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  if (p.status != ReplyStatus::Complete) {
    FUZZ_CHECK(p.consumed == 0);
    FUZZ_CHECK((p.status == ReplyStatus::NeedMore) == p.error.empty());
    return 0;
  }
  const Reply& r = p.reply;
  FUZZ_CHECK(p.consumed > 0 && p.consumed <= input.size() && input[p.consumed - 1] == '\n');
  FUZZ_CHECK(r.code >= 200 && r.code <= 559 && (r.code / 10) % 10 <= 5);
  FUZZ_CHECK(!r.lines.empty() && r.lines.size() <= std::max<std::size_t>(max_lines, 1));
  for (const std::string& line : r.lines) {
    FUZZ_CHECK(line.size() + 4 <= max_line);   // at least "NNN" and an LF around it
    for (char c : line) {
      auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u == '\t' || (u >= 0x20 && u != 0x7f));
    }
  }

  // Exactly the reply's bytes parse to the same reply; so do its serialised bytes (CRLF, no bare LF).
  ReplyParse again = parse_reply(std::string_view(input).substr(0, p.consumed), max_line, max_lines);
  FUZZ_CHECK(again.status == ReplyStatus::Complete && again.consumed == p.consumed);
  std::string wire = r.serialize();
  ReplyParse round = parse_reply(wire, wire.size(), r.lines.size());
  FUZZ_CHECK(round.status == ReplyStatus::Complete && round.consumed == wire.size());
  FUZZ_CHECK(round.reply.code == r.code && round.reply.lines == r.lines);
  FUZZ_CHECK(round.reply.serialize() == wire);

  std::size_t cut = prefix_pick % p.consumed;
  FUZZ_CHECK(parse_reply(std::string_view(input).substr(0, cut), max_line, max_lines).status == ReplyStatus::NeedMore);
  return 0;
}
