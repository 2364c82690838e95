// The frames between mxguard and mxguard-fetch (policy/fetcher/protocol.h). Checks that every message
// the reader yields re-encodes to exactly the bytes it came from, that a payload that decodes is the
// canonical encoding of its message, that the reader gives the same messages and the same error however
// the bytes are split, that it never yields after an error (even when fed a good frame), and that where
// it stops without an error the rest really is an unfinished frame.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz/check.h"
#include "policy/fetcher/protocol.h"

using namespace mxguard::fetch;

namespace {

std::string encode_message(const Message& m) {
  return std::visit([](const auto& v) { return encode(v); }, m);
}

std::uint32_t length_at(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

struct Result {
  std::vector<std::string> encoded;   // each message, encoded again
  std::string error;
};

void drain(FrameReader& reader, Result& out) {
  while (std::optional<Message> m = reader.next()) {
    FUZZ_CHECK(reader.error().empty());
    out.encoded.push_back(encode_message(*m));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  std::vector<std::size_t> pieces;
  for (int i = 0, n = fdp.ConsumeIntegralInRange<int>(0, 16); i < n; ++i) {
    pieces.push_back(fdp.ConsumeIntegralInRange<std::size_t>(0, 300));
  }
  std::string input = fdp.ConsumeRemainingBytesAsString();

  // One piece.
  FrameReader whole;
  whole.feed(std::string_view(input));
  Result a;
  drain(whole, a);
  a.error = whole.error();

  // The messages are exactly the front of the input, frame after frame.
  std::string again;
  for (const std::string& e : a.encoded) again += e;
  FUZZ_CHECK(std::string_view(input).substr(0, again.size()) == again);
  std::string_view rest = std::string_view(input).substr(again.size());
  if (a.error.empty()) {   // stopped for more bytes: the rest is a frame still arriving
    if (rest.size() >= 4) {
      std::uint32_t length = length_at(rest, 0);
      FUZZ_CHECK(length >= 1 && length <= kMaxFrame && rest.size() - 4 < length);
    }
  } else {   // the next frame is broken, and decode_payload agrees
    FUZZ_CHECK(rest.size() >= 4);
    std::uint32_t length = length_at(rest, 0);
    if (length >= 1 && length <= kMaxFrame) {
      FUZZ_CHECK(rest.size() - 4 >= length);
      FUZZ_CHECK(std::holds_alternative<std::string>(decode_payload(rest.substr(4, length))));
    }
    for (char c : a.error) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  }

  // A payload that decodes is the canonical encoding of its message.
  if (rest.size() > 4) {
    std::string_view payload = rest.substr(4);
    auto decoded = decode_payload(payload);
    if (auto* m = std::get_if<Message>(&decoded)) FUZZ_CHECK(encode_message(*m).substr(4) == payload);
  }

  // The same bytes in pieces: the same messages, the same error.
  FrameReader split;
  Result b;
  std::size_t at = 0;
  for (std::size_t piece : pieces) {
    std::string_view chunk = std::string_view(input).substr(at, piece);
    split.feed(chunk);
    at += chunk.size();
    drain(split, b);
  }
  split.feed(std::string_view(input).substr(at));
  drain(split, b);
  b.error = split.error();
  FUZZ_CHECK(a.encoded == b.encoded);
  FUZZ_CHECK(a.error == b.error);

  // After an error nothing more comes out, whatever is fed.
  if (!a.error.empty()) {
    Request good;
    good.domain = "example.org";
    whole.feed(std::string_view(encode(good)));
    FUZZ_CHECK(!whole.next().has_value());
    FUZZ_CHECK(whole.error() == a.error);
  }
  return 0;
}
