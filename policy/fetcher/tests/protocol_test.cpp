// The framed protocol between mxguard and mxguard-fetch: exact bytes, round trips, frames cut and split
// anywhere, and every way a frame can be broken (each one stops the reader for good).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/fetcher/protocol.h"

namespace mxguard::fetch {
namespace {

using namespace std::string_literals;

Request sample_request() {
  Request q;
  q.id = 7;
  q.domain = "example.org";
  q.port = 8443;
  q.addresses = {"192.0.2.1", "2001:db8::1"};
  q.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  q.connect_timeout_ms = 1500;
  q.total_timeout_ms = 4000;
  return q;
}

Answer sample_answer() {
  Answer a;
  a.id = 0xfffffffe;
  a.outcome = Outcome::Http;
  a.status = 200;
  a.content_type = "text/plain; charset=utf-8";
  a.body = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmax_age: 86400\r\n";
  return a;
}

std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string u16(std::uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
std::string str(const std::string& s) { return u32(static_cast<std::uint32_t>(s.size())) + s; }
std::string frame(const std::string& payload) { return u32(static_cast<std::uint32_t>(payload.size())) + payload; }

// The fields of an answer after the type byte, with the outcome byte and body chosen by the test.
std::string answer_payload(std::uint8_t outcome, const std::string& body = "") {
  return "A"s + u32(1) + static_cast<char>(outcome) + u16(200) + str("text/plain") + str(body) + str("");
}

// (A std::string converts to both of feed()'s parameter types: say which.)
void feed(FrameReader& reader, const std::string& bytes) { reader.feed(std::string_view(bytes)); }

std::vector<Message> read_all(FrameReader& reader) {
  std::vector<Message> out;
  while (auto m = reader.next()) out.push_back(std::move(*m));
  return out;
}

// A reader fed `bytes` in one piece yields nothing and is broken.
std::string error_of(const std::string& bytes) {
  FrameReader reader;
  feed(reader, bytes);
  EXPECT_TRUE(read_all(reader).empty());
  return reader.error();
}

TEST(FetchProtocol, RequestEncodesToTheDocumentedBytes) {
  Request q = sample_request();
  std::string payload = "Q"s + u32(7) + str("example.org") + u16(8443) + u32(2) + str("192.0.2.1") + str("2001:db8::1") +
                        str("/etc/ssl/certs/ca-certificates.crt") + u32(1500) + u32(4000);
  EXPECT_EQ(encode(q), frame(payload));
}

TEST(FetchProtocol, AnswerEncodesToTheDocumentedBytes) {
  Answer a;
  a.id = 9;
  a.outcome = Outcome::Certificate;
  a.detail = "SSL certificate problem";
  std::string payload = "A"s + u32(9) + '\x03' + u16(0) + str("") + str("") + str("SSL certificate problem");
  EXPECT_EQ(encode(a), frame(payload));
}

TEST(FetchProtocol, RequestRoundTrips) {
  for (Request q : {sample_request(), Request{}}) {
    FrameReader reader;
    feed(reader, encode(q));
    auto messages = read_all(reader);
    ASSERT_EQ(messages.size(), 1u) << reader.error();
    EXPECT_EQ(std::get<Request>(messages[0]), q);
    EXPECT_TRUE(reader.error().empty());
  }
}

TEST(FetchProtocol, AnswerRoundTripsWithEveryOutcome) {
  for (std::uint8_t v = 1; v <= 7; ++v) {
    Answer a = sample_answer();
    a.outcome = static_cast<Outcome>(v);
    a.detail = "detail " + std::to_string(v);
    FrameReader reader;
    feed(reader, encode(a));
    auto messages = read_all(reader);
    ASSERT_EQ(messages.size(), 1u) << "outcome " << int(v) << ": " << reader.error();
    EXPECT_EQ(std::get<Answer>(messages[0]), a);
  }
}

TEST(FetchProtocol, LargestLegalMessagesRoundTrip) {
  Request q = sample_request();
  q.addresses.assign(kMaxAddresses, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
  Answer a = sample_answer();
  a.body.assign(kMaxBody, 'x');
  a.detail.assign(1000, 'd');
  FrameReader reader;
  feed(reader, encode(q) + encode(a));
  auto messages = read_all(reader);
  ASSERT_EQ(messages.size(), 2u) << reader.error();
  EXPECT_EQ(std::get<Request>(messages[0]), q);
  EXPECT_EQ(std::get<Answer>(messages[1]), a);
}

TEST(FetchProtocol, BinaryBytesInStringsSurvive) {
  Answer a = sample_answer();
  a.body = "\0\r\n\xff\x80 body"s;
  a.content_type = "\x01\x7f"s;
  FrameReader reader;
  feed(reader, encode(a));
  auto messages = read_all(reader);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(std::get<Answer>(messages[0]), a);
}

TEST(FetchProtocol, EveryTruncationNeedsMoreThenCompletes) {
  for (const std::string& wire : {encode(sample_request()), encode(sample_answer())}) {
    for (std::size_t cut = 0; cut < wire.size(); ++cut) {
      FrameReader reader;
      feed(reader, wire.substr(0, cut));
      EXPECT_FALSE(reader.next().has_value()) << "cut at " << cut;
      EXPECT_TRUE(reader.error().empty()) << "cut at " << cut << ": " << reader.error();
      feed(reader, wire.substr(cut));
      auto messages = read_all(reader);
      ASSERT_EQ(messages.size(), 1u) << "cut at " << cut << ": " << reader.error();
      EXPECT_EQ(std::visit([](const auto& m) { return encode(m); }, messages[0]), wire) << "cut at " << cut;
    }
  }
}

TEST(FetchProtocol, FramesSplitAtEveryByteBoundaryGiveTheSameMessages) {
  Request q = sample_request();
  Answer a = sample_answer();
  std::string wire = encode(q) + encode(a) + encode(q);
  for (std::size_t split = 0; split <= wire.size(); ++split) {
    FrameReader reader;
    feed(reader, wire.substr(0, split));
    auto messages = read_all(reader);
    feed(reader, wire.substr(split));
    auto rest = read_all(reader);
    messages.insert(messages.end(), rest.begin(), rest.end());
    ASSERT_EQ(messages.size(), 3u) << "split at " << split << ": " << reader.error();
    EXPECT_EQ(std::get<Request>(messages[0]), q);
    EXPECT_EQ(std::get<Answer>(messages[1]), a);
    EXPECT_EQ(std::get<Request>(messages[2]), q);
  }
}

TEST(FetchProtocol, ByteByByteFeedingYieldsEachMessageAtItsLastByte) {
  std::string first = encode(sample_request());
  std::string wire = first + encode(sample_answer());
  FrameReader reader;
  std::vector<std::size_t> yielded_at;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    feed(reader, wire.substr(i, 1));
    while (reader.next()) yielded_at.push_back(i + 1);
  }
  EXPECT_EQ(yielded_at, (std::vector<std::size_t>{first.size(), wire.size()}));
  EXPECT_TRUE(reader.error().empty());
}

TEST(FetchProtocol, SeveralFramesInOneFeedComeOutInOrder) {
  std::string wire;
  for (std::uint32_t id = 1; id <= 5; ++id) {
    Request q = sample_request();
    q.id = id;
    wire += encode(q);
  }
  FrameReader reader;
  feed(reader, wire);
  auto messages = read_all(reader);
  ASSERT_EQ(messages.size(), 5u);
  for (std::uint32_t id = 1; id <= 5; ++id) EXPECT_EQ(std::get<Request>(messages[id - 1]).id, id);
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.error().empty());
}

TEST(FetchProtocol, ManySmallFeedsOverSeveralFrameSizesKeepTheirOrder) {
  // More bytes than kMaxFrame pass through one reader, fed in odd-sized pieces, so the buffer is
  // compacted while a frame is half read.
  Answer a = sample_answer();
  a.body.assign(30000, 'b');
  std::string wire;
  for (std::uint32_t id = 0; id < 12; ++id) {
    a.id = id;
    wire += encode(a);
  }
  FrameReader reader;
  std::vector<std::uint32_t> ids;
  for (std::size_t at = 0; at < wire.size(); at += 7919) {
    feed(reader, wire.substr(at, 7919));
    while (auto m = reader.next()) ids.push_back(std::get<Answer>(*m).id);
  }
  ASSERT_EQ(ids.size(), 12u) << reader.error();
  for (std::uint32_t id = 0; id < 12; ++id) EXPECT_EQ(ids[id], id);
}

TEST(FetchProtocol, ZeroLengthFrameIsAnError) {
  EXPECT_NE(error_of(u32(0)), "");
}

TEST(FetchProtocol, OversizeLengthIsAnErrorBeforeThePayloadArrives) {
  EXPECT_NE(error_of(u32(kMaxFrame + 1)), "");
  EXPECT_NE(error_of(u32(0xffffffff)), "");
  // The largest legal length only waits for its bytes.
  FrameReader reader;
  feed(reader, u32(kMaxFrame));
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_EQ(reader.error(), "");
}

TEST(FetchProtocol, UnknownTypeIsAnError) {
  std::string payload = encode(sample_request()).substr(4);
  for (char type : {'X', 'q', 'a', '\0'}) {
    payload[0] = type;
    EXPECT_NE(error_of(frame(payload)), "") << "type " << int(type);
  }
}

TEST(FetchProtocol, UnknownOutcomeIsAnError) {
  EXPECT_NE(error_of(frame(answer_payload(0))), "");
  EXPECT_NE(error_of(frame(answer_payload(8))), "");
  EXPECT_NE(error_of(frame(answer_payload(0xff))), "");
  FrameReader reader;
  feed(reader, frame(answer_payload(7)));
  EXPECT_EQ(read_all(reader).size(), 1u) << reader.error();
}

TEST(FetchProtocol, TrailingBytesInAFrameAreAnError) {
  EXPECT_NE(error_of(frame(encode(sample_request()).substr(4) + "x")), "");
  EXPECT_NE(error_of(frame(answer_payload(1) + '\0')), "");
}

TEST(FetchProtocol, FieldRunningPastTheFrameIsAnError) {
  // The domain claims 1000 bytes; the frame ends first.
  std::string payload = "Q"s + u32(1) + u32(1000) + "example.org";
  EXPECT_NE(error_of(frame(payload)), "");
  // A frame that stops inside a fixed-size field.
  EXPECT_NE(error_of(frame("Q"s + u32(1) + str("example.org") + '\x01')), "");
  EXPECT_NE(error_of(frame("A"s + "\0\0"s)), "");
}

TEST(FetchProtocol, MoreThan64AddressesIsAnError) {
  auto with_addresses = [](std::uint32_t count) {
    std::string payload = "Q"s + u32(1) + str("example.org") + u16(443) + u32(count);
    for (std::uint32_t i = 0; i < count; ++i) payload += str("192.0.2.1");
    return frame(payload + str("/ca.pem") + u32(1000) + u32(2000));
  };
  EXPECT_NE(error_of(with_addresses(kMaxAddresses + 1)), "");
  // A count alone, without the addresses, is refused as soon as it is read.
  EXPECT_NE(error_of(frame("Q"s + u32(1) + str("example.org") + u16(443) + u32(0xffffffff))), "");
  FrameReader reader;
  feed(reader, with_addresses(kMaxAddresses));
  auto messages = read_all(reader);
  ASSERT_EQ(messages.size(), 1u) << reader.error();
  EXPECT_EQ(std::get<Request>(messages[0]).addresses.size(), kMaxAddresses);
}

TEST(FetchProtocol, BodyOver64KiBIsAnError) {
  Answer a = sample_answer();
  a.body.assign(kMaxBody + 1, 'x');
  std::string wire = encode(a);
  ASSERT_LE(wire.size() - 4, kMaxFrame);   // the frame itself is legal: the body is the problem
  EXPECT_NE(error_of(wire), "");
}

TEST(FetchProtocol, EmptyPayloadDoesNotDecode) {
  EXPECT_TRUE(std::holds_alternative<std::string>(decode_payload("")));
}

TEST(FetchProtocol, ErrorStopsTheReaderForGood) {
  Request q = sample_request();
  FrameReader reader;
  feed(reader, encode(q) + frame("X") + encode(q));
  auto messages = read_all(reader);
  ASSERT_EQ(messages.size(), 1u) << "the frame before the broken one is still delivered";
  std::string error = reader.error();
  EXPECT_NE(error, "");
  feed(reader, encode(q));
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_EQ(reader.error(), error);
}

TEST(FetchProtocol, OutcomesHaveNames) {
  EXPECT_EQ(to_string(Outcome::Http), "http");
  EXPECT_EQ(to_string(Outcome::TooLarge), "too-large");
  EXPECT_EQ(to_string(Outcome::Certificate), "certificate");
  EXPECT_EQ(to_string(Outcome::Tls), "tls");
  EXPECT_EQ(to_string(Outcome::Connect), "connect");
  EXPECT_EQ(to_string(Outcome::Timeout), "timeout");
  EXPECT_EQ(to_string(Outcome::Failed), "failed");
}

}  // namespace
}  // namespace mxguard::fetch
