#include "proxy/app/policy_probe.h"

#include <uv.h>

#include <memory>
#include <optional>

#include "base/log_text.h"
#include "proxy/net/connection.h"
#include "proxy/outbound/mx_dialogue.h"
#include "proxy/smtp/proxy_header.h"
#include "proxy/tls/client_context.h"
#include "proxy/uv/timer.h"

namespace mxguard::app {
namespace {

using outbound::DialogueAction;
using outbound::DialogueState;
using outbound::MxDialogue;

// One connection to one address, driven like MxLink drives it, until the dialogue is final.
class Probe : public net::ConnectionEvents {
 public:
  Probe(uv_loop_t* loop, const tls::ClientContext* tls, MxDialogue dialogue, int timeout_seconds)
      : loop_(loop), tls_(tls), dialogue_(std::move(dialogue)), connection_(loop, *this) {
    timer_ = std::make_unique<uv::Timer>(loop_, [this] {
      timed_out_ = true;
      act(dialogue_.on_timeout());
      finish();
    });
    timer_->start(std::chrono::seconds(timeout_seconds));
  }

  void start(const sockaddr_storage& address) {
    if (int rc = connection_.connect(reinterpret_cast<const sockaddr*>(&address)); rc != 0) {
      connect_error_ = uv_strerror(rc);
      finish();
    }
  }

  bool done() const { return closed_; }
  const MxDialogue& dialogue() const { return dialogue_; }
  const std::string& connect_error() const { return connect_error_; }
  bool timed_out() const { return timed_out_; }

  void on_connected(net::Connection&, int status) override {
    if (status != 0) {
      connect_error_ = uv_strerror(status);
      finish();
      return;
    }
    connection_.start_reading();
  }
  void on_data(net::Connection&, std::string_view plaintext) override { act(dialogue_.on_bytes(plaintext)); }
  void on_eof(net::Connection&) override {
    act(dialogue_.on_closed());
    finish();
  }
  void on_error(net::Connection&, const std::string& reason) override {
    if (connect_error_.empty()) connect_error_ = reason;
    act(dialogue_.on_closed());
    finish();
  }
  void on_tls_ready(net::Connection& c) override { act(dialogue_.on_tls_ready(outbound::tls_facts(*c.tls()))); }
  void on_tls_failed(net::Connection& c, const std::string&) override {
    act(dialogue_.on_tls_failed(outbound::tls_facts(*c.tls())));
  }

 private:
  void act(const DialogueAction& action) {
    if (closing_) return;
    if (!action.write.empty()) connection_.write(action.write);
    if (action.start_tls) {
      bssl::UniquePtr<SSL> ssl;
      if (tls_ && action.dane) {
        ssl = tls_->new_dane_ssl(dialogue_.mx_host(), outbound::dane_expectation(dialogue_.policy(), dialogue_.mx_host()));
      } else if (tls_) {
        ssl = tls_->new_ssl(dialogue_.mx_host(), dialogue_.mx_host(), action.verify_certificate);
      }
      if (!ssl || !connection_.start_tls(std::move(ssl))) {
        outbound::TlsFacts facts;
        facts.failure = tls::FailureKind::Local;
        facts.failure_reason = "cannot start TLS";
        act(dialogue_.on_tls_failed(facts));
        return;
      }
    }
    if (action.close) {
      finish();
      return;
    }
    if (dialogue_.state() == DialogueState::Ready) {
      connection_.write("QUIT\r\n");   // decided: the probe never sends an envelope
      finish();
    }
  }

  void finish() {
    if (closing_) return;
    closing_ = true;
    timer_->stop();
    timer_->close();
    connection_.close_after_flush([this] { closed_ = true; });
  }

  uv_loop_t* loop_;
  const tls::ClientContext* tls_;
  MxDialogue dialogue_;
  net::Connection connection_;
  std::unique_ptr<uv::Timer> timer_;
  std::string connect_error_;
  bool timed_out_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

std::string report(const Probe& probe) {
  const MxDialogue& d = probe.dialogue();
  std::string out;
  auto line = [&out](const std::string& key, const std::string& value) {
    out += "    " + key + ": " + log_text::sanitize(value, 1024) + "\n";
  };
  if (!probe.connect_error().empty() && d.state() == DialogueState::Greeting) {
    line("connect", "failed: " + probe.connect_error());
    return out;
  }
  if (probe.timed_out()) line("timeout", "no answer in the " + std::string(to_string(d.state())) + " step");
  line("starttls", d.capabilities().starttls || d.tls() ? "offered" : "not offered");
  if (const auto& facts = d.tls()) {
    line("tls", facts->version.empty() ? "handshake failed: " + facts->failure_reason
                                       : facts->version + " " + facts->cipher);
    const tls::CertVerification& v = facts->verification;
    if (v.performed) {
      std::string names;
      for (const std::string& n : v.dns_names) names += (names.empty() ? "" : ", ") + n;
      line("certificate", "CN " + (v.subject_cn.empty() ? std::string("(none)") : v.subject_cn) +
                              "; names " + (names.empty() ? std::string("(none)") : names));
      line("chain", v.chain_trusted() ? "trusted (a chain to [outbound] ca_file)" : "NOT trusted: " + v.describe());
      if (!v.expected_host.empty()) {
        line("name", v.host_matches() ? "matches " + v.expected_host : "does NOT match " + v.expected_host);
      }
    }
  }
  std::string verdict;
  if (d.verdict()) {
    switch (d.verdict()->outcome) {
      case policy::Outcome::DeliverTls: verdict = "would deliver over TLS"; break;
      case policy::Outcome::DeliverPlaintext: verdict = "would deliver in plaintext"; break;
      case policy::Outcome::AllowedTesting: verdict = "would deliver (MTA-STS testing: enforcement would refuse)"; break;
      case policy::Outcome::Refuse: verdict = "would REFUSE"; break;
    }
    if (!d.failure_text().empty()) verdict += " (" + d.failure_text() + ")";
  } else {
    verdict = "no decision: " + (d.failure_text().empty() ? std::string(to_string(d.state())) : d.failure_text());
  }
  line("verdict", verdict);
  return out;
}

}  // namespace

std::string probe_next_hops(const config::Config& config, const policy::EffectivePolicy& policy,
                            const std::vector<ProbeTarget>& targets, int timeout_seconds) {
  auto made = tls::ClientContext::create(config.outbound.ca_file);
  if (auto* error = std::get_if<std::string>(&made)) return "connect: outbound.ca_file: " + *error + "\n";
  std::shared_ptr<const tls::ClientContext> tls = std::get<std::shared_ptr<const tls::ClientContext>>(made);
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::string out;
  int n = 0;
  for (const ProbeTarget& target : targets) {
    ++n;
    if (!policy::mx_allowed(policy, target.host)) {
      out += "connect " + std::to_string(n) + ": " + target.host + ": not tried (not allowed by the mx patterns)\n";
      continue;
    }
    for (const sockaddr_storage& address : target.addresses) {
      out += "connect " + std::to_string(n) + ": " + target.host + " " + smtp::address_with_port(address) + "\n";
      {
        Probe probe(&loop, tls.get(), MxDialogue(target.policy, target.host, config.server.hostname), timeout_seconds);
        probe.start(address);
        while (!probe.done() && uv_run(&loop, UV_RUN_ONCE) != 0) {
        }
        out += report(probe);
      }
      uv_run(&loop, UV_RUN_DEFAULT);   // the probe's closed handles
    }
  }
  uv_loop_close(&loop);
  return out;
}

}  // namespace mxguard::app
