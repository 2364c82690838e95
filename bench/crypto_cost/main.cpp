// crypto_cost: what the TLS library in mxguard's process costs per STARTTLS session before mxguard does
// anything, so that bench/run.sh can print the floor under its CPU figures (docs/benchmarks.md, "What
// the TLS library costs"). It measures, with the benchmark's certificate and key, in this process and on
// this CPU, without sockets:
//   - the three public-key operations of a TLS 1.3 server handshake: an X25519 key pair, the X25519
//     shared secret and the ECDSA P-256 signature of CertificateVerify;
//   - a whole server side of the load generator's dialogue: the handshake with a BoringSSL client over
//     memory BIOs (X25519, TLS_AES_128_GCM_SHA256, session tickets) and the records of the SMTP exchanges
//     after it. Only the server's calls are timed.
// Prints one JSON object. Times are wall-clock microseconds of the timed calls, medians of --rounds rounds;
// run it pinned to an otherwise idle CPU. The session figure is a slight lower bound of what a server pays:
// creating and freeing the SSL object and the BIOs is not timed, and client and server share one CPU's
// caches.
#include <openssl/bio.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Microseconds per call of f, over n calls, median of `rounds` rounds.
template <class F>
double per_call(F&& f, int n, int rounds) {
  std::vector<double> r;
  for (int k = 0; k < rounds; ++k) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) f();
    r.push_back(micros(Clock::now() - t0) / n);
  }
  return median(r);
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "crypto_cost: %s\n", what.c_str());
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

// One side of a connection over a pair of memory BIOs: what one side writes, the other reads.
struct Pipe {
  bssl::UniquePtr<SSL> ssl;
  BIO* in = nullptr;    // owned by ssl
  BIO* out = nullptr;   // owned by ssl
  explicit Pipe(SSL_CTX* ctx) : ssl(SSL_new(ctx)) {
    if (!ssl) fail("SSL_new");
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), in, out);
  }
};

// Moves what `from` has written to `to`'s input.
void carry(Pipe& from, Pipe& to) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (BIO_mem_contents(from.out, &data, &len) != 1 || len == 0) return;
  BIO_write(to.in, data, static_cast<int>(len));
  BIO_reset(from.out);
}

// Reads what is there on `p` (the records carried to it) and returns the plaintext.
std::string read_all(Pipe& p) {
  std::string got;
  char buf[16384];
  while (true) {
    int n = SSL_read(p.ssl.get(), buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void write_all(Pipe& p, const std::string& s) {
  if (SSL_write(p.ssl.get(), s.data(), static_cast<int>(s.size())) != static_cast<int>(s.size())) fail("SSL_write");
}

// The load generator's dialogue after STARTTLS (bench/loadgen/session.cpp), with the sink's replies as
// mxguard relays them.
struct Exchange {
  std::string command, reply;
};
std::vector<Exchange> dialogue() {
  std::string message = "From: <loadgen@bench.test>\r\nTo: <rcpt1@bench.test>\r\nSubject: bench\r\n\r\n";
  while (message.size() < 4096) message += std::string(76, 'x') + "\r\n";
  message.resize(4096 - 2);
  message += "\r\n.\r\n";
  return {
      {"EHLO loadgen.bench.test\r\n",
       "250-mx.bench.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"},
      {"MAIL FROM:<loadgen@bench.test>\r\n", "250 2.0.0 Ok\r\n"},
      {"RCPT TO:<rcpt1@bench.test>\r\n", "250 2.0.0 Ok\r\n"},
      {"DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n"},
      {message, "250 2.0.0 Ok: queued by the bench sink\r\n"},
      {"QUIT\r\n", "221 2.0.0 Bye\r\n"},
  };
}

struct Negotiated {
  std::string version, cipher, group;
};

// One session's server side; returns the microseconds spent in the server's calls.
double one_session(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const std::vector<Exchange>& exchanges,
                   Negotiated* negotiated = nullptr) {
  Pipe server(server_ctx), client(client_ctx);
  SSL_set_accept_state(server.ssl.get());
  SSL_set_connect_state(client.ssl.get());
  Clock::duration spent{};
  auto timed = [&spent](auto&& f) {
    auto t0 = Clock::now();
    f();
    spent += Clock::now() - t0;
  };
  bool server_done = false;
  for (int step = 0; step < 10 && !server_done; ++step) {
    SSL_do_handshake(client.ssl.get());
    carry(client, server);
    timed([&] { server_done = SSL_do_handshake(server.ssl.get()) == 1; });
    carry(server, client);
  }
  if (!server_done) fail("the handshake did not complete");
  // What the figures are labelled with: a TLS 1.3 handshake over X25519.
  if (SSL_version(server.ssl.get()) != TLS1_3_VERSION || SSL_get_curve_id(server.ssl.get()) != SSL_CURVE_X25519) {
    fail("the handshake was not TLS 1.3 over X25519");
  }
  if (negotiated) {
    *negotiated = {SSL_get_version(server.ssl.get()), SSL_CIPHER_standard_name(SSL_get_current_cipher(server.ssl.get())),
                   SSL_get_curve_name(SSL_get_curve_id(server.ssl.get()))};
  }
  for (const Exchange& e : exchanges) {
    write_all(client, e.command);
    carry(client, server);
    std::string got;
    timed([&] { got = read_all(server); });
    if (got != e.command) fail("the server read something else than was sent");
    timed([&] { write_all(server, e.reply); });
    carry(server, client);
    if (read_all(client) != e.reply) fail("the client read something else than was sent");
  }
  return micros(spent);
}

}  // namespace

int main(int argc, char** argv) {
  std::string cert_file, key_file;
  int rounds = 5, sessions = 2000;
  CLI::App app("the TLS library's cost per STARTTLS session, in process (bench/run.sh prints it)");
  app.add_option("--cert", cert_file, "the benchmark's certificate (PEM)")->required();
  app.add_option("--key", key_file, "its ECDSA P-256 key (PEM)")->required();
  app.add_option("--sessions", sessions, "sessions per round (the primitives run as often)")->check(CLI::Range(1, 1000000));
  app.add_option("--rounds", rounds, "rounds; the median is printed")->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);

  bssl::UniquePtr<BIO> key_bio(BIO_new_file(key_file.c_str(), "r"));
  if (!key_bio) fail("cannot read " + key_file);
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_EC) fail(key_file + ": not an EC private key");
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key.get());
  if (EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) != NID_X9_62_prime256v1) fail(key_file + ": not a P-256 key");

  uint8_t peer_public[32], peer_private[32], my_public[32], my_private[32], shared[32];
  X25519_keypair(peer_public, peer_private);
  X25519_keypair(my_public, my_private);
  double keypair_us = per_call([&] { X25519_keypair(my_public, my_private); }, sessions, rounds);
  double shared_us = per_call([&] {
    if (X25519(shared, my_private, peer_public) != 1) fail("X25519");
  }, sessions, rounds);
  // What CertificateVerify signs is a SHA-256 digest; its value does not change the cost.
  uint8_t digest[32] = {1};
  std::vector<uint8_t> signature(ECDSA_size(ec));
  double sign_us = per_call([&] {
    unsigned int length = 0;
    if (ECDSA_sign(0, digest, sizeof digest, signature.data(), &length, ec) != 1) fail("ECDSA_sign");
  }, sessions, rounds);

  bssl::UniquePtr<SSL_CTX> server_ctx(SSL_CTX_new(TLS_method())), client_ctx(SSL_CTX_new(TLS_method()));
  if (!server_ctx || !client_ctx) fail("SSL_CTX_new");
  if (SSL_CTX_use_certificate_chain_file(server_ctx.get(), cert_file.c_str()) != 1) fail("cannot use " + cert_file);
  if (SSL_CTX_use_PrivateKey(server_ctx.get(), key.get()) != 1) fail("cannot use " + key_file);
  SSL_CTX_set_session_cache_mode(server_ctx.get(), SSL_SESS_CACHE_OFF);   // as mxguard: tickets only
  SSL_CTX_set_min_proto_version(client_ctx.get(), TLS1_3_VERSION);
  auto exchanges = dialogue();
  Negotiated negotiated;
  one_session(server_ctx.get(), client_ctx.get(), exchanges, &negotiated);   // warm up, and what is measured
  std::vector<double> round_us;
  for (int k = 0; k < rounds; ++k) {
    double total = 0;
    for (int i = 0; i < sessions; ++i) total += one_session(server_ctx.get(), client_ctx.get(), exchanges);
    round_us.push_back(total / sessions);
  }

  nlohmann::json out = {
      {"library", "BoringSSL"},
      {"api_version", BORINGSSL_API_VERSION},
      {"x25519_keypair_us", keypair_us},
      {"x25519_shared_us", shared_us},
      {"ecdsa_p256_sign_us", sign_us},
      {"public_key_us", keypair_us + shared_us + sign_us},
      {"server_session_us", median(round_us)},
      {"tls_version", negotiated.version},
      {"cipher", negotiated.cipher},
      {"group", negotiated.group},
      {"sessions", sessions},
      {"rounds", rounds},
  };
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
