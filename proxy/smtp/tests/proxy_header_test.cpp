#include "proxy/smtp/proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace mxguard::smtp {
namespace {

sockaddr_storage v4(const char* ip, int port) {
  sockaddr_storage ss{};
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  EXPECT_EQ(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
  std::memcpy(&ss, &sin, sizeof sin);
  return ss;
}

sockaddr_storage v6(const char* ip, int port) {
  sockaddr_storage ss{};
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(static_cast<std::uint16_t>(port));
  EXPECT_EQ(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
  std::memcpy(&ss, &sin6, sizeof sin6);
  return ss;
}

sockaddr_storage unix_socket() {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  return ss;
}

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

const std::string kSignature = bytes({0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});

TEST(ProxyV1, Tcp4Line) {
  EXPECT_EQ(proxy_v1_header(v4("1.2.3.4", 1111), v4("5.6.7.8", 2222)), "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n");
}

TEST(ProxyV1, Tcp6Line) {
  EXPECT_EQ(proxy_v1_header(v6("2001:db8::1", 40000), v6("2001:db8::25", 25)),
            "PROXY TCP6 2001:db8::1 2001:db8::25 40000 25\r\n");
}

TEST(ProxyV1, MappedIpv4IsSentAsTcp4) {
  EXPECT_EQ(proxy_v1_header(v6("::ffff:192.0.2.7", 5000), v6("::ffff:192.0.2.1", 25)),
            "PROXY TCP4 192.0.2.7 192.0.2.1 5000 25\r\n");
}

TEST(ProxyV1, MixedOrUnknownFamiliesAreUnknown) {
  EXPECT_EQ(proxy_v1_header(v4("1.2.3.4", 1), v6("2001:db8::1", 2)), "PROXY UNKNOWN\r\n");
  EXPECT_EQ(proxy_v1_header(unix_socket(), unix_socket()), "PROXY UNKNOWN\r\n");
  EXPECT_EQ(proxy_v1_header(sockaddr_storage{}, v4("1.2.3.4", 1)), "PROXY UNKNOWN\r\n");
}

TEST(ProxyV2, Tcp4Header) {
  std::string h = proxy_v2_header(v4("1.2.3.4", 1111), v4("5.6.7.8", 2222));
  EXPECT_EQ(h, kSignature + bytes({0x21, 0x11, 0x00, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 0x04, 0x57, 0x08, 0xAE}));
}

TEST(ProxyV2, Tcp6Header) {
  std::string h = proxy_v2_header(v6("2001:db8::1", 443), v6("2001:db8::2", 25));
  std::string expected = kSignature + bytes({0x21, 0x21, 0x00, 0x24});
  expected += bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  expected += bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
  expected += bytes({0x01, 0xBB, 0x00, 0x19});
  EXPECT_EQ(h, expected);
  EXPECT_EQ(h.size(), 16u + 36u);
}

TEST(ProxyV2, MappedIpv4IsSentAsTcp4) {
  std::string h = proxy_v2_header(v6("::ffff:10.0.0.1", 1), v6("::ffff:10.0.0.2", 2));
  EXPECT_EQ(h, kSignature + bytes({0x21, 0x11, 0x00, 0x0C, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2}));
}

TEST(ProxyV2, InexpressibleFamiliesGiveLocalWithoutAddresses) {
  EXPECT_EQ(proxy_v2_header(unix_socket(), unix_socket()), kSignature + bytes({0x20, 0x00, 0x00, 0x00}));
  EXPECT_EQ(proxy_v2_header(v4("1.2.3.4", 1), v6("2001:db8::1", 2)), kSignature + bytes({0x20, 0x00, 0x00, 0x00}));
}

TEST(AddressText, FormatsBothFamiliesAndUnwrapsMappedIpv4) {
  EXPECT_EQ(address_text(v4("192.0.2.1", 25)), "192.0.2.1");
  EXPECT_EQ(address_port(v4("192.0.2.1", 25)), 25);
  EXPECT_EQ(address_text(v6("2001:db8::1", 65535)), "2001:db8::1");
  EXPECT_EQ(address_port(v6("2001:db8::1", 65535)), 65535);
  EXPECT_EQ(address_text(v6("::ffff:192.0.2.1", 1)), "192.0.2.1");
  EXPECT_EQ(address_text(unix_socket()), "?");
  EXPECT_EQ(address_port(unix_socket()), 0);
}

TEST(Xclient, Ipv4CommandWithUnavailableNames) {
  sockaddr_storage client = v4("203.0.113.9", 51234);
  EXPECT_EQ(xclient_command({.client = &client, .helo = {}, .name = {}, .esmtp = true}),
            "XCLIENT ADDR=203.0.113.9 PORT=51234 PROTO=ESMTP HELO=[UNAVAILABLE] NAME=[UNAVAILABLE]\r\n");
}

TEST(Xclient, Ipv6AddressGetsPrefix) {
  sockaddr_storage client = v6("2001:db8::1", 25000);
  EXPECT_EQ(xclient_command({.client = &client, .helo = "client.example", .name = "rdns.example", .esmtp = false}),
            "XCLIENT ADDR=IPV6:2001:db8::1 PORT=25000 PROTO=SMTP HELO=client.example NAME=rdns.example\r\n");
}

TEST(Xclient, MappedIpv4HasNoIpv6Prefix) {
  sockaddr_storage client = v6("::ffff:198.51.100.4", 7);
  EXPECT_EQ(xclient_command({.client = &client, .helo = {}, .name = {}, .esmtp = true}),
            "XCLIENT ADDR=198.51.100.4 PORT=7 PROTO=ESMTP HELO=[UNAVAILABLE] NAME=[UNAVAILABLE]\r\n");
}

TEST(Xclient, HostileHeloCannotInjectAttributesOrLines) {
  sockaddr_storage client = v4("192.0.2.1", 1);
  std::string cmd = xclient_command({.client = &client, .helo = "x ADDR=127.0.0.1\r\nRCPT TO:<a+b@c>", .name = {}, .esmtp = true});
  EXPECT_EQ(cmd, "XCLIENT ADDR=192.0.2.1 PORT=1 PROTO=ESMTP HELO=x+20ADDR+3D127.0.0.1+0D+0ARCPT+20TO:<a+2Bb@c> "
                 "NAME=[UNAVAILABLE]\r\n");
  EXPECT_EQ(cmd.find('\r'), cmd.size() - 2);
}

TEST(Xclient, EightBitBytesAreHexEncodedInUpperCase) {
  sockaddr_storage client = v4("192.0.2.1", 1);
  std::string cmd = xclient_command({.client = &client, .helo = "\xc3\xa9", .name = "a=b", .esmtp = true});
  EXPECT_NE(cmd.find("HELO=+C3+A9 "), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("NAME=a+3Db\r\n"), std::string::npos) << cmd;
}

TEST(Xclient, UnknownClientAddressIsUnavailable) {
  sockaddr_storage client = unix_socket();
  EXPECT_EQ(xclient_command({.client = &client, .helo = {}, .name = {}, .esmtp = true}),
            "XCLIENT ADDR=[UNAVAILABLE] PORT=[UNAVAILABLE] PROTO=ESMTP HELO=[UNAVAILABLE] NAME=[UNAVAILABLE]\r\n");
  EXPECT_EQ(xclient_command(XclientInfo{}),
            "XCLIENT ADDR=[UNAVAILABLE] PORT=[UNAVAILABLE] PROTO=ESMTP HELO=[UNAVAILABLE] NAME=[UNAVAILABLE]\r\n");
}

}  // namespace
}  // namespace mxguard::smtp
