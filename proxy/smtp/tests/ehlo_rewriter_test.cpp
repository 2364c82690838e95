#include "proxy/smtp/ehlo_rewriter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace mxguard::smtp {
namespace {

using Lines = std::vector<std::string>;

Reply postfix_reply() {
  return Reply{250, {"backend.example", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS", "AUTH PLAIN LOGIN",
                     "AUTH=PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING",
                     "XCLIENT NAME ADDR PROTO HELO", "XFORWARD NAME ADDR", "BINARYMIME", "X-EXPS LOGIN",
                     "REQUIRETLS"}};
}

bool has_keyword(const Reply& r, std::string_view keyword) {
  return std::any_of(r.lines.begin() + 1, r.lines.end(), [&](const std::string& l) {
    return std::string_view(l).substr(0, l.find(' ')) == keyword;
  });
}

TEST(EhloRewriter, PlaintextOfferKeepsSafeExtensionsAndAddsStarttlsAtTheEnd) {
  Reply out = rewrite_ehlo(postfix_reply(), {.tls_active = false, .starttls_available = true, .max_message_size = 0});
  EXPECT_EQ(out.code, 250);
  EXPECT_EQ(out.lines, (Lines{"backend.example", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN",
                              "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "STARTTLS"}));
}

TEST(EhloRewriter, AuthAndRequiretlsAreOfferedOnlyUnderTls) {
  Reply out = rewrite_ehlo(postfix_reply(), {.tls_active = true, .starttls_available = true, .max_message_size = 0});
  EXPECT_EQ(out.lines, (Lines{"backend.example", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "AUTH PLAIN LOGIN",
                              "AUTH=PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
                              "REQUIRETLS"}));
}

TEST(EhloRewriter, NeverOffersStarttlsUnderTls) {
  Reply out = rewrite_ehlo(postfix_reply(), {.tls_active = true, .starttls_available = true});
  EXPECT_FALSE(has_keyword(out, "STARTTLS"));
}

TEST(EhloRewriter, BackendStarttlsIsDroppedWithoutCertificate) {
  Reply out = rewrite_ehlo(postfix_reply(), {.tls_active = false, .starttls_available = false});
  EXPECT_FALSE(has_keyword(out, "STARTTLS"));
}

TEST(EhloRewriter, FramingAndIdentityExtensionsAreNeverOffered) {
  for (bool tls : {false, true}) {
    Reply out = rewrite_ehlo(postfix_reply(), {.tls_active = tls, .starttls_available = true});
    for (std::string_view kw : {"CHUNKING", "BINARYMIME", "XCLIENT", "XFORWARD", "X-EXPS"}) {
      EXPECT_FALSE(has_keyword(out, kw)) << kw;
    }
  }
}

TEST(EhloRewriter, KeywordsAreMatchedCaseInsensitivelyByFirstWordOnly) {
  Reply in{250, {"b.example", "pipelining", "Size 100", "starttls", "PIPELINING-X", "8BITMIMEX", "chunking"}};
  Reply out = rewrite_ehlo(in, {.tls_active = false, .starttls_available = false});
  EXPECT_EQ(out.lines, (Lines{"b.example", "pipelining", "SIZE 100"}));
}

TEST(EhloRewriter, FirstLineIsKeptVerbatim) {
  Reply in{250, {"STARTTLS greets you", "XCLIENT ADDR"}};
  Reply out = rewrite_ehlo(in, {.tls_active = true});
  EXPECT_EQ(out.lines, Lines{"STARTTLS greets you"});
}

TEST(EhloRewriter, SingleLineReplyBecomesMultiLineWithStarttls) {
  Reply out = rewrite_ehlo(Reply{250, {"host"}}, {.tls_active = false, .starttls_available = true});
  EXPECT_EQ(out.serialize(), "250-host\r\n250 STARTTLS\r\n");
}

TEST(EhloRewriter, SizeIsCappedAtTheMaximum) {
  Reply out = rewrite_ehlo(Reply{250, {"h", "SIZE 100000000"}}, {.max_message_size = 1000});
  EXPECT_EQ(out.lines, (Lines{"h", "SIZE 1000"}));
}

TEST(EhloRewriter, SmallerBackendSizeIsKept) {
  Reply out = rewrite_ehlo(Reply{250, {"h", "SIZE 500"}}, {.max_message_size = 1000});
  EXPECT_EQ(out.lines, (Lines{"h", "SIZE 500"}));
}

TEST(EhloRewriter, BackendSizeWithoutLimitAdvertisesTheMaximum) {
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h", "SIZE"}}, {.max_message_size = 1000}).lines, (Lines{"h", "SIZE 1000"}));
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h", "SIZE 0"}}, {.max_message_size = 1000}).lines, (Lines{"h", "SIZE 1000"}));
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h", "SIZE junk"}}, {.max_message_size = 1000}).lines,
            (Lines{"h", "SIZE 1000"}));
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h", "SIZE 99999999999999999999999"}}, {.max_message_size = 1000}).lines,
            (Lines{"h", "SIZE 1000"}));
}

TEST(EhloRewriter, MissingSizeIsAddedWhenThereIsAMaximum) {
  Reply out = rewrite_ehlo(Reply{250, {"h", "8BITMIME"}}, {.starttls_available = true, .max_message_size = 1000});
  EXPECT_EQ(out.lines, (Lines{"h", "8BITMIME", "SIZE 1000", "STARTTLS"}));
}

TEST(EhloRewriter, WithoutMaximumBackendSizeIsKeptAndNoneAdded) {
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h", "SIZE 1234"}}, {}).lines, (Lines{"h", "SIZE 1234"}));
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h", "SIZE"}}, {}).lines, (Lines{"h", "SIZE"}));
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h", "SIZE 0"}}, {}).lines, (Lines{"h", "SIZE 0"}));
  EXPECT_EQ(rewrite_ehlo(Reply{250, {"h"}}, {}).lines, Lines{"h"});
}

TEST(EhloRewriter, DuplicateKeywordsAreOfferedOnce) {
  Reply out = rewrite_ehlo(Reply{250, {"h", "SIZE 10", "SIZE 99999", "PIPELINING", "pipelining"}},
                           {.max_message_size = 1000});
  EXPECT_EQ(out.lines, (Lines{"h", "SIZE 10", "PIPELINING"}));
}

TEST(EhloRewriter, EmptyExtensionLinesAreDropped) {
  Reply out = rewrite_ehlo(Reply{250, {"h", "", " PIPELINING"}}, {});
  EXPECT_EQ(out.lines, Lines{"h"});
}

TEST(EhloRewriter, ErrorRepliesAreReturnedUnchanged) {
  Reply in{554, {"5.7.1 go away", "STARTTLS"}};
  Reply out = rewrite_ehlo(in, {.tls_active = false, .starttls_available = true, .max_message_size = 10});
  EXPECT_EQ(out.code, 554);
  EXPECT_EQ(out.lines, in.lines);
  Reply temp = rewrite_ehlo(Reply{421, {"busy"}}, {.starttls_available = true});
  EXPECT_EQ(temp.lines, Lines{"busy"});
}

TEST(EhloRewriter, SerializedRewriteIsAValidEhloReply) {
  Reply out = rewrite_ehlo(postfix_reply(), {.tls_active = false, .starttls_available = true, .max_message_size = 5});
  std::string wire = out.serialize();
  EXPECT_EQ(wire.substr(0, 20), "250-backend.example\r");
  EXPECT_NE(wire.find("250-SIZE 5\r\n"), std::string::npos);
  EXPECT_TRUE(wire.ends_with("250 STARTTLS\r\n"));
}

}  // namespace
}  // namespace mxguard::smtp
