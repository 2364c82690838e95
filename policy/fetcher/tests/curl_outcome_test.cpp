// How curl's result codes reach mxguard: the Outcome each one is, and a detail text fit for the log.
#include <gtest/gtest.h>

#include "policy/fetcher/curl_outcome.h"

namespace mxguard::fetch {
namespace {

TEST(FetchCurlOutcome, VerificationFailuresAreCertificate) {
  EXPECT_EQ(outcome_of(CURLE_PEER_FAILED_VERIFICATION), Outcome::Certificate);
  EXPECT_EQ(outcome_of(CURLE_SSL_CACERT_BADFILE), Outcome::Certificate);
}

TEST(FetchCurlOutcome, OtherTlsFailuresAreTls) {
  for (CURLcode code : {CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CIPHER, CURLE_SSL_CERTPROBLEM, CURLE_SSL_SHUTDOWN_FAILED,
                        CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
                        CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_SSL_ENGINE_NOTFOUND}) {
    EXPECT_EQ(outcome_of(code), Outcome::Tls) << code;
  }
}

TEST(FetchCurlOutcome, ConnectTimeoutAndSize) {
  EXPECT_EQ(outcome_of(CURLE_COULDNT_CONNECT), Outcome::Connect);
  EXPECT_EQ(outcome_of(CURLE_OPERATION_TIMEDOUT), Outcome::Timeout);
  EXPECT_EQ(outcome_of(CURLE_FILESIZE_EXCEEDED), Outcome::TooLarge);
}

TEST(FetchCurlOutcome, EverythingElseIsFailed) {
  for (CURLcode code : {CURLE_OK, CURLE_COULDNT_RESOLVE_HOST, CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR,
                        CURLE_WRITE_ERROR, CURLE_UNSUPPORTED_PROTOCOL, CURLE_OUT_OF_MEMORY, CURLE_TOO_MANY_REDIRECTS}) {
    EXPECT_EQ(outcome_of(code), Outcome::Failed) << code;
  }
}

TEST(FetchCurlOutcome, DetailIsCurlsErrorBufferMadePrintable) {
  char buffer[CURL_ERROR_SIZE] = "SSL certificate problem: \x1b[31munable\r\n";
  EXPECT_EQ(detail_text(CURLE_PEER_FAILED_VERIFICATION, std::string_view(buffer, sizeof buffer)),
            "SSL certificate problem: ?[31munable");
}

TEST(FetchCurlOutcome, EmptyErrorBufferFallsBackToCurlsName) {
  char buffer[CURL_ERROR_SIZE] = "";
  EXPECT_EQ(detail_text(CURLE_COULDNT_CONNECT, std::string_view(buffer, sizeof buffer)),
            curl_easy_strerror(CURLE_COULDNT_CONNECT));
}

}  // namespace
}  // namespace mxguard::fetch
