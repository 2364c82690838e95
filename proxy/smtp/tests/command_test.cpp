#include "proxy/smtp/command.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::smtp {
namespace {

TEST(Command, MailFromIsMailWithPathAsArgs) {
  Command c = classify("MAIL FROM:<a@b>");
  EXPECT_EQ(c.verb, Verb::Mail);
  EXPECT_EQ(c.verb_text, "MAIL");
  EXPECT_EQ(c.args, "FROM:<a@b>");
}

TEST(Command, VerbsAreCaseInsensitiveAndVerbTextKeepsTheClientsSpelling) {
  Command c = classify("eHlO client.example");
  EXPECT_EQ(c.verb, Verb::Ehlo);
  EXPECT_EQ(c.verb_text, "eHlO");
  EXPECT_EQ(c.args, "client.example");
  EXPECT_EQ(classify("starttls").verb, Verb::Starttls);
  EXPECT_EQ(classify("rcpt TO:<x@y>").verb, Verb::Rcpt);
}

TEST(Command, EveryVerbIsRecognised) {
  const std::pair<std::string_view, Verb> table[] = {
      {"HELO", Verb::Helo}, {"EHLO", Verb::Ehlo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
      {"DATA", Verb::Data}, {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
      {"QUIT", Verb::Quit}, {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn}, {"HELP", Verb::Help},
      {"STARTTLS", Verb::Starttls}, {"AUTH", Verb::Auth}, {"XCLIENT", Verb::Xclient},
      {"XFORWARD", Verb::Xforward}, {"ETRN", Verb::Etrn}};
  for (auto [text, verb] : table) {
    EXPECT_EQ(classify(text).verb, verb) << text;
    EXPECT_EQ(to_string(verb), text);
  }
  EXPECT_EQ(to_string(Verb::Unknown), "UNKNOWN");
}

TEST(Command, StarttlsWithSuffixIsUnknown) {
  EXPECT_EQ(classify("STARTTLSX").verb, Verb::Unknown);
  EXPECT_EQ(classify("STARTTL").verb, Verb::Unknown);
  EXPECT_EQ(classify("MAILFROM:<a@b>").verb, Verb::Unknown);
}

TEST(Command, StarttlsWithArgumentsKeepsThemForTheSyntaxCheck) {
  Command c = classify("STARTTLS now");
  EXPECT_EQ(c.verb, Verb::Starttls);
  EXPECT_EQ(c.args, "now");
}

TEST(Command, LeadingSpaceMakesTheLineUnknown) {
  Command c = classify(" QUIT");
  EXPECT_EQ(c.verb, Verb::Unknown);
  EXPECT_EQ(c.verb_text, "");
}

TEST(Command, TabIsNotAVerbSeparator) {
  EXPECT_EQ(classify("MAIL\tFROM:<a@b>").verb, Verb::Unknown);
}

TEST(Command, SeparatingAndTrailingSpacesAreNotPartOfArgs) {
  Command c = classify("HELO   host.example   ");
  EXPECT_EQ(c.verb, Verb::Helo);
  EXPECT_EQ(c.args, "host.example");
  Command quit = classify("QUIT   ");
  EXPECT_EQ(quit.verb, Verb::Quit);
  EXPECT_EQ(quit.verb_text, "QUIT");
  EXPECT_EQ(quit.args, "");
}

TEST(Command, EmptyLineIsUnknown) {
  Command c = classify("");
  EXPECT_EQ(c.verb, Verb::Unknown);
  EXPECT_EQ(c.args, "");
}

TEST(MailFromDomain, DomainIsLowerCased) {
  EXPECT_EQ(mail_from_domain("FROM:<a@Example.COM>"), "example.com");
}

TEST(MailFromDomain, FromKeywordIsCaseInsensitive) {
  EXPECT_EQ(mail_from_domain("from:<a@b.c>"), "b.c");
}

TEST(MailFromDomain, SpaceAfterColonIsTolerated) {
  EXPECT_EQ(mail_from_domain("FROM: <a@b.c>"), "b.c");
}

TEST(MailFromDomain, NullReversePathIsEmpty) {
  EXPECT_EQ(mail_from_domain("FROM:<>"), "");
  EXPECT_EQ(mail_from_domain("FROM:<> SIZE=10"), "");
}

TEST(MailFromDomain, SourceRouteIsSkipped) {
  EXPECT_EQ(mail_from_domain("FROM:<@route,@r2:a@b.c>"), "b.c");
  EXPECT_EQ(mail_from_domain("FROM:<@route.example:a@B.c>"), "b.c");
}

TEST(MailFromDomain, QuotedLocalPartMayContainAt) {
  EXPECT_EQ(mail_from_domain(R"(FROM:<"a@x"@b.c>)"), "b.c");
  EXPECT_EQ(mail_from_domain(R"(FROM:<"a\"@x>"@b.c>)"), "b.c");
}

TEST(MailFromDomain, ParametersAfterThePathAreIgnored) {
  EXPECT_EQ(mail_from_domain("FROM:<a@b.c> SIZE=1000 BODY=8BITMIME"), "b.c");
}

TEST(MailFromDomain, AddressLiteralIsReturnedInBrackets) {
  EXPECT_EQ(mail_from_domain("FROM:<a@[1.2.3.4]>"), "[1.2.3.4]");
  EXPECT_EQ(mail_from_domain("FROM:<a@[IPv6:2001:DB8::1]>"), "[ipv6:2001:db8::1]");
}

TEST(MailFromDomain, InternationalisedAddressesAreAccepted) {
  EXPECT_EQ(mail_from_domain("FROM:<\xc3\xa9@\xc3\xa9xample.com> SMTPUTF8"), "\xc3\xa9xample.com");
}

TEST(MailFromDomain, GarbageIsRejected) {
  for (std::string_view args : {"", "FROM:", "FROM:<", "TO:<a@b.c>", "FROM <a@b.c>", "FROM:<a@b.c",
                                "FROM:<a@>", "FROM:<@b.c>", "FROM:<a@b..c>", "FROM:<a@-b.c>", "FROM:<a@b.c->",
                                "FROM:<a@b.c>x", "FROM:<a b@c.d>", "FROM:<a@b@c.d>", "FROM:<\"a@c.d>",
                                "FROM:<a@[]>", "FROM:<a@[1.2.3.4>", "FROM:<@r:>", "FROM:<@r a@b.c>",
                                "FROM:<postmaster>", "FROM:<a@b.c>>"}) {
    EXPECT_EQ(mail_from_domain(args), std::nullopt) << args;
  }
}

TEST(MailFromDomain, MissingBracketsAreRejected) {
  EXPECT_EQ(mail_from_domain("FROM:a@b.c"), std::nullopt);
  EXPECT_EQ(mail_from_domain("FROM: a@b.c"), std::nullopt);
}

TEST(MailFromDomain, WorksOnClassifiedArgs) {
  Command c = classify("mail from:<Someone@Mail.Example.ORG>  BODY=8BITMIME  ");
  EXPECT_EQ(mail_from_domain(c.args), "mail.example.org");
}

TEST(ForbiddenControl, NulBareCrAndControlsAreForbidden) {
  EXPECT_TRUE(has_forbidden_control(std::string("MAIL\0", 5)));
  EXPECT_TRUE(has_forbidden_control("MAIL\rRCPT"));
  EXPECT_TRUE(has_forbidden_control("NOOP \x1b"));
  EXPECT_TRUE(has_forbidden_control("NOOP\n"));
}

TEST(ForbiddenControl, TabPrintableAndUtf8AreAllowed) {
  EXPECT_FALSE(has_forbidden_control("NOOP\tx"));
  EXPECT_FALSE(has_forbidden_control("MAIL FROM:<\xc3\xa9@b.c>"));
  EXPECT_FALSE(has_forbidden_control(""));
}

TEST(RcptToDomain, RecipientDomainsAreLowerCasedAndStrict) {
  EXPECT_EQ(rcpt_to_domain("TO:<User@Example.COM>"), "example.com");
  EXPECT_EQ(rcpt_to_domain("to:<a@b.example> NOTIFY=NEVER"), "b.example");
  EXPECT_EQ(rcpt_to_domain("TO:<@relay.example:a@b.example>"), "b.example");
  EXPECT_EQ(rcpt_to_domain("TO:<a@[192.0.2.1]>"), "[192.0.2.1]");
  EXPECT_EQ(rcpt_to_domain("TO:<>"), std::nullopt);
  EXPECT_EQ(rcpt_to_domain("TO:<Postmaster>"), std::nullopt);
  EXPECT_EQ(rcpt_to_domain("TO:a@b.example"), std::nullopt);
  EXPECT_EQ(rcpt_to_domain("FROM:<a@b.example>"), std::nullopt);
  EXPECT_EQ(rcpt_to_domain("TO:<a@b.example>x"), std::nullopt);
}

}  // namespace
}  // namespace mxguard::smtp
