// MxDialogue rule by rule: each test scripts what the remote says and checks every action, the state,
// the observation, the verdict and the text.
#include "proxy/outbound/mx_dialogue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/outbound/tests/dialogue_script.h"

namespace mxguard::outbound {
namespace {

using namespace testing;
using policy::Outcome;
using policy::ResultType;
using policy::TlsLevel;
using Handshake = policy::Observation::Handshake;
using Cert = policy::Observation::CertProblem;

MxDialogue dialogue(TlsLevel level, bool testing = false, bool plaintext_retry = false) {
  return MxDialogue(make_policy(level, testing), std::string(kMx), std::string(kHelo), plaintext_retry);
}

// Greeting, EHLO offering STARTTLS, the 220: the dialogue now waits for the handshake.
void up_to_handshake(MxDialogue& d, bool verify) {
  ASSERT_EQ(d.on_bytes(kGreeting), send(kEhloCommand));
  ASSERT_EQ(d.on_bytes(kEhloWithStarttls), send(kStarttlsCommand));
  ASSERT_EQ(d.on_bytes(kStarttlsGo), start_tls(verify));
  ASSERT_EQ(d.state(), DialogueState::Handshake);
}

void expect_verdict_is_decided(const MxDialogue& d) {
  ASSERT_TRUE(d.verdict().has_value());
  EXPECT_EQ(*d.verdict(), policy::decide(d.policy(), d.observation()));
}

TEST(MxDialogue, VerifiedTlsSessionAfterStarttlsIsReadyWithTheSecondEhlosCapabilities) {
  MxDialogue d = dialogue(TlsLevel::Verify);
  EXPECT_EQ(d.state(), DialogueState::Greeting);
  EXPECT_EQ(d.on_bytes(kGreeting), send(kEhloCommand));
  EXPECT_EQ(d.state(), DialogueState::Ehlo);
  EXPECT_EQ(d.on_bytes(kEhloWithStarttls), send(kStarttlsCommand));
  EXPECT_EQ(d.state(), DialogueState::StarttlsReply);
  Capabilities before = d.capabilities();
  EXPECT_TRUE(before.esmtp && before.starttls && before.pipelining && before.size && before.eightbitmime);
  EXPECT_EQ(before.max_size, 10240000u);
  EXPECT_FALSE(d.verdict().has_value());

  EXPECT_EQ(d.on_bytes(kStarttlsGo), start_tls(true));
  EXPECT_EQ(d.state(), DialogueState::Handshake);
  EXPECT_FALSE(d.tls_active());

  TlsFacts facts = good_tls();
  EXPECT_EQ(d.on_tls_ready(facts), send(kEhloCommand));   // RFC 3207 §4.2: EHLO again
  EXPECT_EQ(d.state(), DialogueState::EhloAfterTls);
  EXPECT_TRUE(d.tls_active());
  EXPECT_EQ(d.capabilities(), Capabilities{});   // nothing from before TLS survives

  EXPECT_EQ(d.on_bytes(kEhloAfterTls), DialogueAction{});
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_TRUE(d.finished());
  const Capabilities& after = d.capabilities();
  EXPECT_TRUE(after.esmtp && after.chunking && after.smtputf8 && after.enhanced_status_codes);
  EXPECT_FALSE(after.starttls);
  EXPECT_EQ(after.max_size, 20480000u);

  const policy::Observation& o = d.observation();
  EXPECT_EQ(o.mx_host, kMx);
  EXPECT_TRUE(o.starttls_offered);
  EXPECT_EQ(o.handshake, Handshake::Succeeded);
  EXPECT_EQ(o.tls_version, "TLSv1.3");
  EXPECT_TRUE(o.chain_trusted);
  EXPECT_TRUE(o.host_matches);
  EXPECT_EQ(o.cert_problem, Cert::None);
  EXPECT_FALSE(o.injected_after_starttls);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverTls);
  ASSERT_TRUE(d.tls().has_value());
  EXPECT_EQ(d.tls()->cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_FALSE(d.wants_plaintext_retry());
  EXPECT_EQ(d.failure_text(), "");
  EXPECT_EQ(d.leftover(), "");
}

// ---- the greeting ----

TEST(MxDialogue, A5xxGreetingFailsTheMxWithQuitAndKeepsTheReply) {
  MxDialogue d = dialogue(TlsLevel::Verify);
  EXPECT_EQ(d.on_bytes("554-5.7.1 no mail here\r\n554 5.7.1 go away\r\n"), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  EXPECT_FALSE(d.verdict().has_value());   // not a policy failure: the driver tries the next MX
  ASSERT_TRUE(d.last_reply().has_value());
  EXPECT_EQ(d.last_reply()->code, 554);
  EXPECT_EQ(d.failure_text(), "mx1.example.org greeted with 554 5.7.1 no mail here 5.7.1 go away");
  EXPECT_FALSE(d.wants_plaintext_retry());
}

TEST(MxDialogue, A4xxGreetingFailsWithQuitAnd421ClosesWithoutIt) {
  MxDialogue busy = dialogue(TlsLevel::May);
  EXPECT_EQ(busy.on_bytes("450 4.3.2 try later\r\n"), close_with(kQuitCommand));
  EXPECT_EQ(busy.state(), DialogueState::Failed);
  EXPECT_EQ(busy.failure_text(), "mx1.example.org greeted with 450 4.3.2 try later");

  MxDialogue closing = dialogue(TlsLevel::May);
  EXPECT_EQ(closing.on_bytes("421 4.3.2 shutting down\r\n"), close_with(""));
  EXPECT_EQ(closing.state(), DialogueState::Failed);
}

TEST(MxDialogue, AGreetingThatIsNot220OrNotSmtpAtAllFailsWithoutQuit) {
  MxDialogue other = dialogue(TlsLevel::May);
  EXPECT_EQ(other.on_bytes("250 hello?\r\n"), close_with(""));
  EXPECT_EQ(other.state(), DialogueState::Failed);

  MxDialogue http = dialogue(TlsLevel::May);
  EXPECT_EQ(http.on_bytes("HTTP/1.1 400 Bad Request\r\n"), close_with(""));
  EXPECT_EQ(http.state(), DialogueState::Failed);
  EXPECT_EQ(http.failure_text(),
            "mx1.example.org sent an invalid reply in the greeting step (line 1: invalid reply code)");
}

TEST(MxDialogue, GarbageIsCaughtAtItsFirstByteWithoutALineEnd) {
  MxDialogue d = dialogue(TlsLevel::May);
  EXPECT_EQ(d.on_bytes("S"), close_with(""));   // "SSH-2.0-..." need not be read to its end
  EXPECT_EQ(d.state(), DialogueState::Failed);
}

TEST(MxDialogue, AHeloNameThatWouldAddArgumentsOrCommandsIsNeverSent) {
  const std::vector<std::string> bad_names = {"", "relay mxguard", "relay\r\nRCPT TO:<x@y>", std::string("a\0b", 3)};
  for (const std::string& bad : bad_names) {
    MxDialogue d(make_policy(TlsLevel::May), std::string(kMx), bad);
    EXPECT_EQ(d.on_bytes(kGreeting), close_with(kQuitCommand));
    EXPECT_EQ(d.state(), DialogueState::Failed);
    EXPECT_NE(d.failure_text().find("HELO name"), std::string::npos) << d.failure_text();
  }
}

// ---- EHLO and HELO ----

TEST(MxDialogue, Ehlo5xxFallsBackToHeloWhichOffersNoStarttls) {
  MxDialogue may = dialogue(TlsLevel::May);
  may.on_bytes(kGreeting);
  EXPECT_EQ(may.on_bytes("502 5.5.2 EHLO not implemented\r\n"), send(kHeloCommand));
  EXPECT_EQ(may.state(), DialogueState::Helo);
  EXPECT_EQ(may.on_bytes("250 mx1.example.org\r\n"), DialogueAction{});
  EXPECT_EQ(may.state(), DialogueState::Ready);
  EXPECT_FALSE(may.capabilities().esmtp);
  EXPECT_FALSE(may.observation().starttls_offered);
  expect_verdict_is_decided(may);
  EXPECT_EQ(may.verdict()->outcome, Outcome::DeliverPlaintext);
  EXPECT_EQ(may.verdict()->reason, ResultType::StarttlsNotSupported);
  EXPECT_EQ(may.failure_text(), "TLS policy of example.org (may, config): STARTTLS not offered by mx1.example.org");

  MxDialogue encrypt = dialogue(TlsLevel::Encrypt);
  encrypt.on_bytes(kGreeting);
  encrypt.on_bytes("500 5.5.1 what?\r\n");
  EXPECT_EQ(encrypt.on_bytes("250 mx1.example.org\r\n"), close_with(kQuitCommand));
  EXPECT_EQ(encrypt.state(), DialogueState::Refused);
  expect_verdict_is_decided(encrypt);
  EXPECT_EQ(encrypt.verdict()->smtp_code, 451);
  EXPECT_EQ(encrypt.verdict()->enhanced, "4.7.4");
  EXPECT_EQ(encrypt.failure_text(),
            "TLS policy of example.org (encrypt, config): STARTTLS not offered by mx1.example.org");
}

TEST(MxDialogue, Ehlo4xxAndRefusedHeloFailTheMx) {
  MxDialogue busy = dialogue(TlsLevel::May);
  busy.on_bytes(kGreeting);
  EXPECT_EQ(busy.on_bytes("451 4.3.0 later\r\n"), close_with(kQuitCommand));
  EXPECT_EQ(busy.state(), DialogueState::Failed);
  EXPECT_EQ(busy.failure_text(), "mx1.example.org answered EHLO with 451 4.3.0 later");

  MxDialogue closing = dialogue(TlsLevel::May);
  closing.on_bytes(kGreeting);
  EXPECT_EQ(closing.on_bytes("421 4.3.2 bye\r\n"), close_with(""));

  MxDialogue no_helo = dialogue(TlsLevel::May);
  no_helo.on_bytes(kGreeting);
  no_helo.on_bytes("550 no\r\n");
  EXPECT_EQ(no_helo.on_bytes("550 5.7.1 still no\r\n"), close_with(kQuitCommand));
  EXPECT_EQ(no_helo.state(), DialogueState::Failed);
  EXPECT_FALSE(no_helo.verdict().has_value());
  EXPECT_EQ(no_helo.failure_text(), "mx1.example.org answered EHLO and HELO with 550 5.7.1 still no");
}

TEST(MxDialogue, MultiLineEhloKeywordsAreCaseInsensitiveAndTheBannerIsNoKeyword) {
  MxDialogue d = dialogue(TlsLevel::None);
  d.on_bytes(kGreeting);
  // Bare LF line ends (old servers) are read too.
  d.on_bytes("250-mx1.example.org STARTTLS PIPELINING\n250-pipelining\r\n250-Size 1000\r\n250-8bitmime\r\n"
             "250-SmtpUtf8\r\n250-chunking\r\n250-EnhancedStatusCodes\r\n250-dsn\r\n250-X-UNKNOWN a b\r\n"
             "250 AUTH PLAIN\r\n");
  EXPECT_EQ(d.state(), DialogueState::Ready);
  const Capabilities& c = d.capabilities();
  EXPECT_TRUE(c.esmtp && c.pipelining && c.size && c.eightbitmime && c.smtputf8 && c.chunking &&
              c.enhanced_status_codes && c.dsn);
  EXPECT_EQ(c.max_size, 1000u);
  EXPECT_FALSE(c.starttls);   // only in the banner line

  MxDialogue tls = dialogue(TlsLevel::May);
  tls.on_bytes(kGreeting);
  EXPECT_EQ(tls.on_bytes("250-mx1.example.org\r\n250 StartTLS\r\n"), send(kStarttlsCommand));
  EXPECT_TRUE(tls.observation().starttls_offered);
}

TEST(MxDialogue, SizeWithoutANumberOrWithAnUnreadableOneAnnouncesNoLimit) {
  struct Case {
    const char* line;
    bool size;
    std::uint64_t max;
  };
  for (const Case& c : {Case{"250 SIZE", true, 0}, Case{"250 SIZE 0", true, 0}, Case{"250 SIZE 12x", true, 0},
                        Case{"250 SIZE 99999999999999999999999", true, 0}, Case{"250 SIZE  2048", true, 2048},
                        Case{"250 PIPELINING", false, 0}}) {
    MxDialogue d = dialogue(TlsLevel::None);
    d.on_bytes(kGreeting);
    d.on_bytes(std::string("250-mx1.example.org\r\n") + c.line + "\r\n");
    EXPECT_EQ(d.capabilities().size, c.size) << c.line;
    EXPECT_EQ(d.capabilities().max_size, c.max) << c.line;
  }
  // A repeated SIZE does not change the first.
  MxDialogue twice = dialogue(TlsLevel::None);
  twice.on_bytes(kGreeting);
  twice.on_bytes("250-mx1.example.org\r\n250-SIZE 1000\r\n250 SIZE 99999\r\n");
  EXPECT_EQ(twice.capabilities().max_size, 1000u);
}

// ---- level none ----

TEST(MxDialogue, LevelNoneNeverSendsStarttlsEvenWhenOffered) {
  MxDialogue d = dialogue(TlsLevel::None);
  Recorder r;
  r.add(d.on_bytes(kGreeting));
  r.add(d.on_bytes(kEhloWithStarttls));
  EXPECT_EQ(r.written, kEhloCommand);
  EXPECT_EQ(r.start_tls, 0);
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_FALSE(d.tls_active());
  EXPECT_TRUE(d.observation().starttls_offered);   // observed all the same, for the audit
  EXPECT_EQ(d.observation().handshake, Handshake::NotAttempted);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverPlaintext);
  EXPECT_EQ(d.verdict()->reason, ResultType::None);
  EXPECT_EQ(d.failure_text(), "");
}

// ---- STARTTLS and its reply ----

TEST(MxDialogue, Starttls454AtMayGoesOnInPlaintextWithTheFirstEhlosCapabilities) {
  MxDialogue d = dialogue(TlsLevel::May);
  d.on_bytes(kGreeting);
  d.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(d.on_bytes(kStarttls454), DialogueAction{});   // no second EHLO: nothing changed
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_FALSE(d.tls_active());
  EXPECT_TRUE(d.capabilities().starttls);
  EXPECT_EQ(d.capabilities().max_size, 10240000u);
  EXPECT_EQ(d.observation().handshake, Handshake::NotAttempted);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverPlaintext);
  EXPECT_EQ(d.verdict()->reason, ResultType::StarttlsNotSupported);
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (may, config): STARTTLS offered but refused by mx1.example.org "
            "(STARTTLS answered with 454 4.7.0 TLS not available due to local problem)");
}

TEST(MxDialogue, Starttls454AtEncryptRefusesWithQuit) {
  MxDialogue d = dialogue(TlsLevel::Encrypt);
  d.on_bytes(kGreeting);
  d.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(d.on_bytes(kStarttls454), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->enhanced, "4.7.4");
  EXPECT_FALSE(d.wants_plaintext_retry());
}

TEST(MxDialogue, AnyReplyToStarttlsButA220IsARefusal) {
  for (std::string_view reply : {"502 5.5.1 unknown command\r\n", "250 2.0.0 sure\r\n", "554 5.7.3 no TLS\r\n"}) {
    MxDialogue d = dialogue(TlsLevel::Verify);
    d.on_bytes(kGreeting);
    d.on_bytes(kEhloWithStarttls);
    EXPECT_EQ(d.on_bytes(reply), close_with(kQuitCommand)) << reply;
    EXPECT_EQ(d.state(), DialogueState::Refused);
    EXPECT_EQ(d.verdict()->reason, ResultType::StarttlsNotSupported);
  }
}

TEST(MxDialogue, A421ToStarttlsEndsTheConnectionWhateverThePolicy) {
  MxDialogue may = dialogue(TlsLevel::May);
  may.on_bytes(kGreeting);
  may.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(may.on_bytes("421 4.3.2 closing\r\n"), close_with(""));
  EXPECT_EQ(may.state(), DialogueState::Failed);   // plaintext is allowed, but the server is gone
  EXPECT_FALSE(may.wants_plaintext_retry());
  EXPECT_EQ(may.failure_text(), "mx1.example.org answered STARTTLS with 421 4.3.2 closing");

  MxDialogue encrypt = dialogue(TlsLevel::Encrypt);
  encrypt.on_bytes(kGreeting);
  encrypt.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(encrypt.on_bytes("421 4.3.2 closing\r\n"), close_with(""));
  EXPECT_EQ(encrypt.state(), DialogueState::Refused);
}

// ---- response injection ----

TEST(MxDialogue, BytesAfterThe220InTheSameReadAbortTheConnectionAsATlsFailure) {
  MxDialogue d = dialogue(TlsLevel::Verify);
  d.on_bytes(kGreeting);
  d.on_bytes(kEhloWithStarttls);
  // An attacker in the path answers our EHLO-after-TLS before TLS exists.
  EXPECT_EQ(d.on_bytes("220 2.0.0 Ready\r\n250-mx1.example.org\r\n250 AUTH PLAIN\r\n"), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_TRUE(d.observation().injected_after_starttls);
  EXPECT_EQ(d.observation().handshake, Handshake::Failed);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->reason, ResultType::ValidationFailure);
  EXPECT_EQ(d.verdict()->enhanced, "4.7.5");
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (verify, config): mx1.example.org sent plaintext after its reply to "
            "STARTTLS (response injection) (37 bytes after the 220)");
  EXPECT_EQ(d.leftover(), "");   // never kept as anything
  EXPECT_EQ(d.capabilities().starttls, true);   // the injected EHLO reply was not read
  EXPECT_EQ(d.on_bytes("250 more\r\n"), DialogueAction{});
}

TEST(MxDialogue, InjectionAtMayRetriesInPlaintextAndOneByteIsEnough) {
  MxDialogue d = dialogue(TlsLevel::May);
  d.on_bytes(kGreeting);
  d.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(d.on_bytes("220 go ahead\r\nX"), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  EXPECT_TRUE(d.wants_plaintext_retry());
  EXPECT_TRUE(d.observation().injected_after_starttls);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverPlaintext);
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (may, config): mx1.example.org sent plaintext after its reply to STARTTLS "
            "(response injection) (1 byte after the 220); retrying mx1.example.org without STARTTLS");
}

TEST(MxDialogue, PlaintextReachingTheDialogueDuringTheHandshakeCountsAsInjection) {
  MxDialogue d = dialogue(TlsLevel::Encrypt);
  up_to_handshake(d, false);
  EXPECT_EQ(d.on_bytes("250 ok\r\n"), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_TRUE(d.observation().injected_after_starttls);
  EXPECT_EQ(d.on_tls_ready(good_tls()), DialogueAction{});   // too late: nothing changes
  EXPECT_EQ(d.state(), DialogueState::Refused);
}

TEST(MxDialogue, A220SplitAcrossReadsIsNoInjection) {
  MxDialogue d = dialogue(TlsLevel::Verify);
  d.on_bytes(kGreeting);
  d.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(d.on_bytes("220 2.0.0 Rea"), DialogueAction{});
  EXPECT_EQ(d.on_bytes("dy\r\n"), start_tls(true));
  EXPECT_FALSE(d.observation().injected_after_starttls);
}

// ---- the handshake ----

TEST(MxDialogue, AFailedHandshakeAtMayAsksForAPlaintextRetryOfTheSameAddress) {
  MxDialogue d = dialogue(TlsLevel::May);
  up_to_handshake(d, false);
  EXPECT_EQ(d.on_tls_failed(failed_tls(tls::FailureKind::PeerAlert, "handshake: TLSV1_ALERT_HANDSHAKE_FAILURE")),
            close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  EXPECT_TRUE(d.wants_plaintext_retry());
  EXPECT_EQ(d.observation().handshake, Handshake::Failed);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverPlaintext);
  EXPECT_EQ(d.verdict()->reason, ResultType::ValidationFailure);
  ASSERT_TRUE(d.tls().has_value());
  EXPECT_EQ(d.tls()->failure_reason, "handshake: TLSV1_ALERT_HANDSHAKE_FAILURE");
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (may, config): TLS handshake with mx1.example.org failed (peer alert); "
            "retrying mx1.example.org without STARTTLS");
}

TEST(MxDialogue, TheRetryNeverSendsStarttlsAndSaysWhyItIsPlaintext) {
  MxDialogue d = dialogue(TlsLevel::May, false, /*plaintext_retry=*/true);
  Recorder r;
  r.add(d.on_bytes(kGreeting));
  r.add(d.on_bytes(kEhloWithStarttls));
  EXPECT_EQ(r.written, kEhloCommand);
  EXPECT_EQ(r.start_tls, 0);
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_TRUE(d.plaintext_retry());
  EXPECT_FALSE(d.wants_plaintext_retry());
  EXPECT_TRUE(d.observation().starttls_offered);
  EXPECT_EQ(d.observation().handshake, Handshake::Failed);   // what the attempt before this one saw
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverPlaintext);
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (may, config): TLS handshake with mx1.example.org failed (plaintext retry "
            "after a failed TLS attempt)");
}

TEST(MxDialogue, ARetryWhereThePolicyNeedsTlsIsStillRefused) {
  MxDialogue d = dialogue(TlsLevel::Encrypt, false, /*plaintext_retry=*/true);
  d.on_bytes(kGreeting);
  EXPECT_EQ(d.on_bytes(kEhloWithStarttls), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Refused);
}

TEST(MxDialogue, ACloseDuringTheHandshakeIsAFailedHandshake) {
  MxDialogue may = dialogue(TlsLevel::May);
  up_to_handshake(may, false);
  EXPECT_EQ(may.on_closed(), close_with(""));
  EXPECT_EQ(may.state(), DialogueState::Failed);
  EXPECT_TRUE(may.wants_plaintext_retry());
  EXPECT_EQ(may.observation().handshake, Handshake::Failed);
  EXPECT_EQ(may.tls()->failure, tls::FailureKind::UnexpectedEof);

  MxDialogue encrypt = dialogue(TlsLevel::Encrypt);
  up_to_handshake(encrypt, false);
  EXPECT_EQ(encrypt.on_closed(), close_with(""));
  EXPECT_EQ(encrypt.state(), DialogueState::Refused);
  EXPECT_EQ(encrypt.failure_text(),
            "TLS policy of example.org (encrypt, config): TLS handshake with mx1.example.org failed (connection "
            "closed during the TLS handshake)");
}

TEST(MxDialogue, ACloseInsteadOfAReplyToStarttlsIsATlsFailure) {
  MxDialogue may = dialogue(TlsLevel::May);
  may.on_bytes(kGreeting);
  may.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(may.on_closed(), close_with(""));
  EXPECT_TRUE(may.wants_plaintext_retry());

  MxDialogue verify = dialogue(TlsLevel::Verify);
  verify.on_bytes(kGreeting);
  verify.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(verify.on_closed(), close_with(""));
  EXPECT_EQ(verify.state(), DialogueState::Refused);
  EXPECT_EQ(verify.verdict()->reason, ResultType::StarttlsNotSupported);
  EXPECT_EQ(verify.failure_text(),
            "TLS policy of example.org (verify, config): STARTTLS offered but refused by mx1.example.org "
            "(connection closed after STARTTLS)");
}

TEST(MxDialogue, ACloseBeforeOrAfterTheTlsStepsFailsTheMx) {
  for (int step = 0; step < 3; ++step) {
    MxDialogue d = dialogue(TlsLevel::Verify);
    if (step >= 1) d.on_bytes(kGreeting);
    if (step >= 2) {
      d.on_bytes(kEhloWithStarttls);
      d.on_bytes(kStarttlsGo);
      d.on_tls_ready(good_tls());
    }
    EXPECT_EQ(d.on_closed(), close_with(""));
    EXPECT_EQ(d.state(), DialogueState::Failed);
    EXPECT_FALSE(d.wants_plaintext_retry());
  }
  MxDialogue greeting = dialogue(TlsLevel::May);
  greeting.on_closed();
  EXPECT_EQ(greeting.failure_text(), "mx1.example.org closed the connection in the greeting step");
}

TEST(MxDialogue, ATimeoutIsJudgedLikeACloseWithItsOwnText) {
  MxDialogue greeting = dialogue(TlsLevel::Verify);
  EXPECT_EQ(greeting.on_timeout(), close_with(""));
  EXPECT_EQ(greeting.state(), DialogueState::Failed);
  EXPECT_EQ(greeting.failure_text(), "mx1.example.org did not answer in time in the greeting step");

  MxDialogue starttls = dialogue(TlsLevel::Encrypt);
  starttls.on_bytes(kGreeting);
  starttls.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(starttls.on_timeout(), close_with(""));
  EXPECT_EQ(starttls.state(), DialogueState::Refused);
  EXPECT_EQ(starttls.failure_text(),
            "TLS policy of example.org (encrypt, config): STARTTLS offered but refused by mx1.example.org (no reply "
            "to STARTTLS in time)");

  MxDialogue verify = dialogue(TlsLevel::Verify);
  up_to_handshake(verify, true);
  EXPECT_EQ(verify.on_timeout(), close_with(""));
  EXPECT_EQ(verify.state(), DialogueState::Refused);
  EXPECT_EQ(verify.observation().handshake, Handshake::Failed);
  EXPECT_EQ(verify.failure_text(),
            "TLS policy of example.org (verify, config): TLS handshake with mx1.example.org failed (the TLS "
            "handshake timed out)");

  MxDialogue may = dialogue(TlsLevel::May);
  up_to_handshake(may, false);
  EXPECT_EQ(may.on_timeout(), close_with(""));
  EXPECT_TRUE(may.wants_plaintext_retry());

  MxDialogue ready = dialogue(TlsLevel::None);
  ready.on_bytes(kGreeting);
  ready.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(ready.on_timeout(), DialogueAction{});   // the session's timers from now on
  EXPECT_EQ(ready.state(), DialogueState::Ready);
}

TEST(MxDialogue, ACertificateProblemTheVerifierOnlyRecordedStillRefusesAtVerify) {
  // Defence in depth: a driver that started TLS without verification gets the same verdict.
  MxDialogue d = dialogue(TlsLevel::Verify);
  up_to_handshake(d, true);
  EXPECT_EQ(d.on_tls_ready(cert_problem_tls(tls::CertProblem::Expired, false)), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_TRUE(d.tls_active());   // QUIT goes over TLS
  EXPECT_EQ(d.verdict()->reason, ResultType::CertificateExpired);
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (verify, config): certificate of mx1.example.org has expired");
}

TEST(MxDialogue, AChainProblemIsReportedAheadOfAHostMismatchFoundFirst) {
  MxDialogue d = dialogue(TlsLevel::Verify);
  up_to_handshake(d, true);
  TlsFacts facts = cert_problem_tls(tls::CertProblem::HostMismatch, true);
  add_problem(facts.verification, tls::CertProblem::Expired, 10, "certificate has expired");
  d.on_tls_failed(facts);
  EXPECT_EQ(d.observation().cert_problem, Cert::Expired);
  EXPECT_EQ(d.verdict()->reason, ResultType::CertificateExpired);
}

TEST(MxDialogue, TheNameTheVerifierCheckedMustBeThisMx) {
  MxDialogue other = dialogue(TlsLevel::Verify);
  up_to_handshake(other, true);
  TlsFacts facts = good_tls();
  facts.verification.expected_host = "mx.elsewhere.test";   // a driver passing the wrong name to new_ssl
  EXPECT_EQ(other.on_tls_ready(facts), close_with(kQuitCommand));
  EXPECT_FALSE(other.observation().host_matches);
  EXPECT_EQ(other.verdict()->reason, ResultType::CertificateHostMismatch);

  // Case and the root's dot do not make another name.
  MxDialogue same(make_policy(TlsLevel::Verify), "MX1.Example.org.", std::string(kHelo));
  up_to_handshake(same, true);
  EXPECT_EQ(same.on_tls_ready(good_tls()), send(kEhloCommand));
  EXPECT_TRUE(same.observation().host_matches);
}

TEST(MxDialogue, Tls11NegotiatedAtMayQuitsOverTlsAndRetriesInPlaintext) {
  MxDialogue d = dialogue(TlsLevel::May);
  up_to_handshake(d, false);
  TlsFacts facts = good_tls(false);
  facts.version = "TLSv1.1";
  EXPECT_EQ(d.on_tls_ready(facts), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  EXPECT_TRUE(d.wants_plaintext_retry());
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverPlaintext);
  EXPECT_EQ(d.verdict()->detail, "mx1.example.org negotiated TLSv1.1: TLS 1.2 or later is required");
}

TEST(MxDialogue, EhloRefusedAfterTlsFailsTheMxAndKeepsTheTlsVerdict) {
  MxDialogue d = dialogue(TlsLevel::Verify);
  up_to_handshake(d, true);
  d.on_tls_ready(good_tls());
  EXPECT_EQ(d.on_bytes("554 5.7.0 no\r\n"), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  ASSERT_TRUE(d.verdict().has_value());
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverTls);
  EXPECT_FALSE(d.wants_plaintext_retry());
  EXPECT_EQ(d.failure_text(), "mx1.example.org answered EHLO after TLS with 554 5.7.0 no");
}

TEST(MxDialogue, DaneWithoutDaneFactsIsRefusedBeforeEhlo) {
  // A driver that forgot to look the TLSA records up (mx_dialogue_dane_test.cpp has DANE proper).
  MxDialogue d = dialogue(TlsLevel::Dane);
  EXPECT_EQ(d.on_bytes(kGreeting), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_EQ(d.verdict()->reason, ResultType::DaneRequired);
}

// ---- mx patterns ----

TEST(MxDialogue, AnMxThePolicyDoesNotAllowIsRefusedBeforeEhlo) {
  MxDialogue d(make_policy(TlsLevel::MtaSts), "mx.attacker.test", std::string(kHelo));
  EXPECT_EQ(d.on_bytes("220 mx.attacker.test ESMTP\r\n"), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  expect_verdict_is_decided(d);
  EXPECT_EQ(d.verdict()->reason, ResultType::ValidationFailure);
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (mta-sts, mta-sts): mx.attacker.test is not an MX host allowed by the policy");

  // A may-level domain does not fall back to plaintext on it either.
  policy::EffectivePolicy may = make_policy(TlsLevel::May);
  may.mx_patterns = {"mx1.example.org"};
  MxDialogue plain(may, "mx2.example.org", std::string(kHelo));
  EXPECT_EQ(plain.on_bytes(kGreeting), close_with(kQuitCommand));
  EXPECT_EQ(plain.state(), DialogueState::Refused);
}

TEST(MxDialogue, AnMxOutsideATestingPolicyIsOnlyReported) {
  MxDialogue d(make_policy(TlsLevel::MtaSts, /*testing=*/true), "mx.other.test", std::string(kHelo));
  EXPECT_EQ(d.on_bytes(kGreeting), send(kEhloCommand));
  d.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(d.on_bytes(kStarttlsGo), start_tls(false));
  TlsFacts facts = good_tls(false);
  facts.verification.expected_host = "mx.other.test";
  d.on_tls_ready(facts);
  d.on_bytes(kEhloAfterTls);
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_EQ(d.verdict()->outcome, Outcome::AllowedTesting);
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (mta-sts, mta-sts): mx.other.test is not an MX host allowed by the policy");
}

// ---- the reply parser's bounds, unsolicited and leftover bytes ----

TEST(MxDialogue, AReplyThatDoesNotParseFailsTheMx) {
  MxDialogue d = dialogue(TlsLevel::May);
  d.on_bytes(kGreeting);
  EXPECT_EQ(d.on_bytes("250-mx1.example.org\r\n251 PIPELINING\r\n"), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  EXPECT_EQ(d.failure_text(),
            "mx1.example.org sent an invalid reply in the ehlo step (line 2: reply code differs between lines)");
}

TEST(MxDialogue, AnOverlongReplyLineFailsTheMxEvenWithoutALineEnd) {
  MxDialogue d(make_policy(TlsLevel::May), std::string(kMx), std::string(kHelo), false,
               DialogueLimits{.max_reply_line = 512, .max_reply_lines = 100});
  EXPECT_EQ(d.on_bytes("220 " + std::string(300, 'a')), DialogueAction{});
  EXPECT_EQ(d.on_bytes(std::string(300, 'a')), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  EXPECT_NE(d.failure_text().find("longer than 512 bytes"), std::string::npos) << d.failure_text();
}

TEST(MxDialogue, TooManyReplyLinesFailTheMx) {
  MxDialogue d(make_policy(TlsLevel::May), std::string(kMx), std::string(kHelo), false,
               DialogueLimits{.max_reply_line = 512, .max_reply_lines = 3});
  d.on_bytes(kGreeting);
  EXPECT_EQ(d.on_bytes("250-a\r\n250-b\r\n250-c\r\n250 d\r\n"), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Failed);
}

TEST(MxDialogue, AReplyBeforeTheCommandItCouldAnswerFailsTheMxAndTheCommandIsNotSent) {
  MxDialogue d = dialogue(TlsLevel::May);
  EXPECT_EQ(d.on_bytes(std::string(kGreeting) + "250 pre-answered EHLO\r\n"), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Failed);
  EXPECT_EQ(d.failure_text(), "mx1.example.org sent a reply nobody asked for after its reply in the greeting step");
}

TEST(MxDialogue, BytesAfterTheLastReplyAreLeftOverForTheDriver) {
  MxDialogue d = dialogue(TlsLevel::Encrypt);
  up_to_handshake(d, false);
  d.on_tls_ready(good_tls(false));
  EXPECT_EQ(d.on_bytes(std::string(kEhloAfterTls) + "250 2.1.0 Ok\r\n"), DialogueAction{});
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_EQ(d.leftover(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(d.on_bytes("more"), DialogueAction{});
  EXPECT_EQ(d.leftover(), "250 2.1.0 Ok\r\nmore");
}

// ---- events the driver should not send ----

TEST(MxDialogue, TlsEventsWithoutAStarttlsFailTheMxAndEventsAfterTheEndChangeNothing) {
  MxDialogue early = dialogue(TlsLevel::Verify);
  early.on_bytes(kGreeting);
  EXPECT_EQ(early.on_tls_ready(good_tls()), close_with(""));
  EXPECT_EQ(early.state(), DialogueState::Failed);
  EXPECT_FALSE(early.tls_active());
  EXPECT_FALSE(early.verdict().has_value());

  MxDialogue failed = dialogue(TlsLevel::May);
  EXPECT_EQ(failed.on_tls_failed(failed_tls(tls::FailureKind::Protocol)), close_with(""));
  EXPECT_EQ(failed.state(), DialogueState::Failed);
  EXPECT_FALSE(failed.wants_plaintext_retry());

  MxDialogue ready = dialogue(TlsLevel::None);
  ready.on_bytes(kGreeting);
  ready.on_bytes(kEhloWithoutStarttls);
  ASSERT_EQ(ready.state(), DialogueState::Ready);
  EXPECT_EQ(ready.on_tls_ready(good_tls()), DialogueAction{});
  EXPECT_EQ(ready.on_tls_failed(good_tls()), DialogueAction{});
  EXPECT_EQ(ready.on_closed(), DialogueAction{});
  EXPECT_EQ(ready.state(), DialogueState::Ready);
  EXPECT_FALSE(ready.tls_active());
}

// ---- split reads ----

// The whole verified dialogue with every reply fed one byte at a time: the same commands, one start_tls,
// the same end.
TEST(MxDialogue, RepliesSplitByteByByteGiveTheSameDialogue) {
  MxDialogue whole = dialogue(TlsLevel::Verify);
  Recorder w;
  w.add(whole.on_bytes(kGreeting));
  w.add(whole.on_bytes(kEhloWithStarttls));
  w.add(whole.on_bytes(kStarttlsGo));
  w.add(whole.on_tls_ready(good_tls()));
  w.add(whole.on_bytes(kEhloAfterTls));

  MxDialogue split = dialogue(TlsLevel::Verify);
  Recorder s;
  feed_bytewise(split, s, kGreeting);
  feed_bytewise(split, s, kEhloWithStarttls);
  feed_bytewise(split, s, kStarttlsGo);
  s.add(split.on_tls_ready(good_tls()));
  feed_bytewise(split, s, kEhloAfterTls);

  EXPECT_EQ(s.written, w.written);
  EXPECT_EQ(s.written, std::string(kEhloCommand) + std::string(kStarttlsCommand) + std::string(kEhloCommand));
  EXPECT_EQ(s.start_tls, 1);
  EXPECT_TRUE(s.verify_certificate);
  EXPECT_FALSE(s.closed);
  EXPECT_EQ(split.state(), DialogueState::Ready);
  EXPECT_EQ(split.capabilities(), whole.capabilities());
  EXPECT_EQ(split.observation().starttls_offered, whole.observation().starttls_offered);
  EXPECT_EQ(split.verdict(), whole.verdict());
  // Each reply acts exactly at its last byte (greeting, EHLO, 220), plus on_tls_ready's EHLO; the last
  // byte of the second EHLO reply makes it Ready without an action.
  std::size_t acting = 0;
  for (const DialogueAction& a : s.actions) acting += a.empty() ? 0 : 1;
  EXPECT_EQ(acting, 4u);
}

TEST(MxDialogue, RefusalsAndFailuresSplitByteByByteEndTheSameWay) {
  struct Script {
    TlsLevel level;
    std::vector<std::string> reads;
    DialogueState end;
  };
  std::vector<Script> scripts = {
      {TlsLevel::Encrypt, {std::string(kGreeting), std::string(kEhloWithoutStarttls)}, DialogueState::Refused},
      {TlsLevel::Encrypt, {std::string(kGreeting), std::string(kEhloWithStarttls), std::string(kStarttls454)},
       DialogueState::Refused},
      {TlsLevel::May, {std::string(kGreeting), std::string(kEhloWithStarttls), std::string(kStarttls454)},
       DialogueState::Ready},
      {TlsLevel::May, {"554-5.7.1 a\r\n554 5.7.1 b\r\n"}, DialogueState::Failed},
      {TlsLevel::May, {std::string(kGreeting), "502 no\r\n", "250 mx1\r\n"}, DialogueState::Ready},
  };
  for (const Script& script : scripts) {
    MxDialogue whole = dialogue(script.level);
    MxDialogue split = dialogue(script.level);
    Recorder w, s;
    for (const std::string& read : script.reads) {
      w.add(whole.on_bytes(read));
      feed_bytewise(split, s, read);
    }
    EXPECT_EQ(whole.state(), script.end);
    EXPECT_EQ(split.state(), script.end);
    EXPECT_EQ(s.written, w.written);
    EXPECT_EQ(s.closed, w.closed);
    EXPECT_EQ(split.verdict(), whole.verdict());
    EXPECT_EQ(split.failure_text(), whole.failure_text());
  }
}

// The largest reply the limits let through, dripped a byte at a time: read in linear time (parsing it
// again from the front at every byte would take minutes), and the same reply as in one read.
TEST(MxDialogue, ALargestReplyDrippedByteByByteIsReadOnce) {
  std::string reply = "250-mx1.example.org\r\n";
  for (int i = 0; i < 98; ++i) reply += "250-X-" + std::string(4000, 'a' + i % 26) + "\r\n";
  reply += "250 SIZE 1000\r\n";
  MxDialogue d = dialogue(TlsLevel::None);
  d.on_bytes(kGreeting);
  Recorder r;
  feed_bytewise(d, r, reply);
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_EQ(d.capabilities().max_size, 1000u);
}

// What became of TLS, for the metrics: independent of the verdict, one value per connection.
TEST(MxDialogue, TlsAttemptSaysWhatBecameOfTlsWhateverTheVerdict) {
  MxDialogue tls = dialogue(TlsLevel::Verify);
  EXPECT_EQ(tls.tls_attempt(), TlsAttempt::None);
  tls.on_bytes(kGreeting);
  tls.on_bytes(kEhloWithStarttls);
  EXPECT_EQ(tls.tls_attempt(), TlsAttempt::Sent);
  EXPECT_FALSE(tls.handshake_started());
  tls.on_bytes(kStarttlsGo);
  EXPECT_TRUE(tls.handshake_started());
  tls.on_tls_ready(good_tls());
  EXPECT_EQ(tls.tls_attempt(), TlsAttempt::Established);

  MxDialogue declined = dialogue(TlsLevel::May);
  declined.on_bytes(kGreeting);
  declined.on_bytes(kEhloWithStarttls);
  declined.on_bytes(kStarttls454);
  EXPECT_EQ(declined.state(), DialogueState::Ready);
  EXPECT_EQ(declined.tls_attempt(), TlsAttempt::Declined);
  EXPECT_FALSE(declined.handshake_started());

  MxDialogue failed = dialogue(TlsLevel::Encrypt);
  up_to_handshake(failed, false);
  failed.on_tls_failed(failed_tls(tls::FailureKind::Protocol));
  EXPECT_EQ(failed.state(), DialogueState::Refused);
  EXPECT_EQ(failed.tls_attempt(), TlsAttempt::Failed);
  EXPECT_TRUE(failed.handshake_started());

  MxDialogue lost = dialogue(TlsLevel::May);
  lost.on_bytes(kGreeting);
  lost.on_bytes(kEhloWithStarttls);
  lost.on_closed();
  EXPECT_EQ(lost.tls_attempt(), TlsAttempt::Failed) << "a connection lost around STARTTLS is a failed attempt";
  EXPECT_FALSE(lost.handshake_started());

  MxDialogue injected = dialogue(TlsLevel::May);
  injected.on_bytes(kGreeting);
  injected.on_bytes(kEhloWithStarttls);
  injected.on_bytes(std::string(kStarttlsGo) + "250 injected\r\n");
  EXPECT_EQ(injected.tls_attempt(), TlsAttempt::Failed);

  for (bool retry : {false, true}) {
    MxDialogue never = retry ? dialogue(TlsLevel::May, false, true) : dialogue(TlsLevel::None);
    never.on_bytes(kGreeting);
    never.on_bytes(kEhloWithStarttls);
    EXPECT_EQ(never.state(), DialogueState::Ready);
    EXPECT_EQ(never.tls_attempt(), TlsAttempt::None) << "retry " << retry;
  }

  MxDialogue not_offered = dialogue(TlsLevel::May);
  not_offered.on_bytes(kGreeting);
  not_offered.on_bytes(kEhloWithoutStarttls);
  EXPECT_EQ(not_offered.tls_attempt(), TlsAttempt::None);
}

TEST(MxDialogue, StatesHaveNames) {
  EXPECT_EQ(to_string(DialogueState::Greeting), "greeting");
  EXPECT_EQ(to_string(DialogueState::StarttlsReply), "starttls-reply");
  EXPECT_EQ(to_string(DialogueState::EhloAfterTls), "ehlo-after-tls");
  EXPECT_EQ(to_string(DialogueState::Refused), "refused");
}

}  // namespace
}  // namespace mxguard::outbound
