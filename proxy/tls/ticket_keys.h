#pragma once
// Session-ticket keys for the inbound TLS server: one process-wide source that rotates them, and a cache
// per worker that copies them from the source once per period, so a ticket costs no lock and no write to
// memory another worker uses.
//
// Why 12 hours, and the previous period's key: a sending MTA comes back to the same MX many times a day
// (queue runs, retries, the next message), and a resumed session saves the handshake's signature. Before
// TLS 1.3, and for anyone who steals the key, a ticket key unlocks every TLS 1.2 session resumed under it,
// so it should not live long: a key encrypts tickets for one period and still opens them during the next,
// so a ticket is accepted for at least 12 hours (the lifetime ServerContext announces) and a key is gone
// at most 24 hours after it was made (BoringSSL's own default: 2 days, then 2 more as the previous key).
//
// Forward secrecy: every period's key is fresh from RAND_bytes, never derived from another, and the key of
// two periods ago is erased (OPENSSL_cleanse) from the source, and from a worker's cache at its next ticket,
// so what stays in memory cannot open older tickets. Keys are never logged.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace mxguard::tls {

struct TicketKey {
  std::uint8_t name[16] = {};       // sent in the clear at the front of each ticket: which key sealed it
  std::uint8_t aes_key[32] = {};    // AES-256-CBC
  std::uint8_t hmac_key[32] = {};   // HMAC-SHA256 over the ticket
};

// The keys in force during one period: `current` seals, both open.
struct TicketKeySet {
  std::int64_t period = INT64_MIN;   // the period they are for (INT64_MIN: none yet)
  TicketKey current;
  TicketKey previous;
  bool has_previous = false;         // false: no key of period - 1 exists (the first period, a clock jump)

  TicketKeySet() = default;
  TicketKeySet(const TicketKeySet&) = default;
  TicketKeySet& operator=(const TicketKeySet&) = default;
  ~TicketKeySet();
  void erase();   // OPENSSL_cleanse of both keys
};

// Process-wide; outlives every ServerContext that uses it (they share it), so a ticket issued before a
// reload still opens after it. Thread-safe: one mutex, taken by a worker once per period.
class TicketKeySource {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  static constexpr std::chrono::seconds kPeriod{12 * 60 * 60};

  // `clock`: the wall clock unless a test injects its own.
  explicit TicketKeySource(Clock clock = {});
  TicketKeySource(const TicketKeySource&) = delete;
  TicketKeySource& operator=(const TicketKeySource&) = delete;

  // The period the clock is in now (reads the clock only: no lock).
  std::int64_t period_now() const;
  // The keys for the period the clock is in, made the first time any worker asks in that period: the
  // current key becomes the previous one (one period later) and a new random one is made; after a longer
  // gap neither old key survives. A clock that went back gets the newest keys there are (never an old
  // one again). False: no random bytes (the caller then issues no ticket).
  bool keys(TicketKeySet& out);

 private:
  Clock clock_;
  std::mutex mutex_;
  TicketKeySet keys_;   // guarded by mutex_
};

// One worker's copy of the keys. Used only by its worker's thread: no lock, no atomic, no write to memory
// another thread touches. Each call checks the period and refreshes from the source when it changed.
class TicketKeyCache {
 public:
  explicit TicketKeyCache(std::shared_ptr<TicketKeySource> source);

  // SSL_CTX_set_tlsext_ticket_key_cb's contract. Sealing: a fresh IV, the current key; 1, or -1 when no
  // key can be had. Opening: 1 with the current key, 2 with the previous one (BoringSSL then issues a
  // ticket under the current key), 0 for an unknown key name (a full handshake).
  int on_ticket(std::uint8_t* key_name, std::uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, bool seal);

 private:
  bool refresh();

  std::shared_ptr<TicketKeySource> source_;
  TicketKeySet keys_;
};

}  // namespace mxguard::tls
