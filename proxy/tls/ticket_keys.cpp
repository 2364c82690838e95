#include "proxy/tls/ticket_keys.h"

#include <openssl/mem.h>
#include <openssl/rand.h>

#include <cstring>

namespace mxguard::tls {
namespace {

bool fill_random(TicketKey& key) {
  return RAND_bytes(key.name, sizeof key.name) == 1 && RAND_bytes(key.aes_key, sizeof key.aes_key) == 1 &&
         RAND_bytes(key.hmac_key, sizeof key.hmac_key) == 1;
}

bool use_key(const TicketKey& key, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, const std::uint8_t* iv, bool seal) {
  bool cipher_ok = seal ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) == 1
                        : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) == 1;
  return cipher_ok && HMAC_Init_ex(hmac, key.hmac_key, sizeof key.hmac_key, EVP_sha256(), nullptr) == 1;
}

}  // namespace

TicketKeySet::~TicketKeySet() { erase(); }

void TicketKeySet::erase() {
  OPENSSL_cleanse(&current, sizeof current);
  OPENSSL_cleanse(&previous, sizeof previous);
  has_previous = false;
}

TicketKeySource::TicketKeySource(Clock clock) : clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

std::int64_t TicketKeySource::period_now() const {
  auto since_epoch = std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch());
  std::int64_t seconds = since_epoch.count();
  std::int64_t period = kPeriod.count();
  return seconds >= 0 ? seconds / period : -((-seconds + period - 1) / period);   // floor, before 1970 too
}

bool TicketKeySource::keys(TicketKeySet& out) {
  std::int64_t now = period_now();
  std::lock_guard lock(mutex_);
  if (keys_.period == INT64_MIN || now > keys_.period) {
    TicketKeySet next;
    next.period = now;
    if (!fill_random(next.current)) return false;
    if (keys_.period != INT64_MIN && now == keys_.period + 1) {
      next.previous = keys_.current;
      next.has_previous = true;
    }
    keys_ = next;   // the replaced keys are overwritten here, and `next` erases its copy on the way out
  }
  out = keys_;
  return true;
}

TicketKeyCache::TicketKeyCache(std::shared_ptr<TicketKeySource> source) : source_(std::move(source)) {}

bool TicketKeyCache::refresh() {
  std::int64_t now = source_->period_now();
  if (keys_.period != INT64_MIN && now <= keys_.period) return true;   // the common case: no lock
  return source_->keys(keys_);
}

int TicketKeyCache::on_ticket(std::uint8_t* key_name, std::uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
                              bool seal) {
  if (!refresh()) return seal ? -1 : 0;   // no key: no ticket issued, a ticket offered is ignored
  if (seal) {
    // 16 bytes: AES-CBC's IV (EVP_CIPHER_iv_length), what BoringSSL reads back behind the key name.
    if (RAND_bytes(iv, 16) != 1 || !use_key(keys_.current, cipher, hmac, iv, true)) return -1;
    std::memcpy(key_name, keys_.current.name, sizeof keys_.current.name);
    return 1;
  }
  if (std::memcmp(key_name, keys_.current.name, sizeof keys_.current.name) == 0) {
    return use_key(keys_.current, cipher, hmac, iv, false) ? 1 : -1;
  }
  if (keys_.has_previous && std::memcmp(key_name, keys_.previous.name, sizeof keys_.previous.name) == 0) {
    return use_key(keys_.previous, cipher, hmac, iv, false) ? 2 : -1;
  }
  return 0;
}

}  // namespace mxguard::tls
