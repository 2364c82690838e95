#!/usr/bin/env bash
# Installs the dependencies, builds mxguard and runs it in the foreground (Ctrl-C stops it).
#   MXGUARD_CONFIG=/etc/mxguard/mxguard.toml scripts/run.sh   -> your configuration
#   scripts/run.sh                                             -> the demo: mxguard on 127.0.0.1:8025 (STARTTLS,
#      self-signed certificate) in front of a private plaintext Postfix on 127.0.0.1:2525 as the legacy MTA,
#      which learns each client's real address from a PROXY v2 header; and outbound, that Postfix hands its mail
#      for remote.test and notls.test to mxguard on 127.0.0.1:10025 (plaintext), which delivers it with STARTTLS to
#      a second private Postfix acting as the remote MX (127.0.0.1:2526, certificate from a demo CA) or refuses
#      (notls.test: its MX on 127.0.0.1:2527 offers no STARTTLS, and its policy is "encrypt")
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
if [ -n "${MXGUARD_CONFIG:-}" ]; then
  exec build/proxy/app/mxguard run --config "$MXGUARD_CONFIG"
fi

demo=/var/tmp/mxguard-demo
mkdir -p "$demo/state"
pid=
# Whatever ends this script (Ctrl-C, SIGTERM, an error) stops mxguard gracefully and both demo Postfix instances.
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid"; scripts/demo-backend.sh stop; scripts/demo-remote.sh stop' EXIT
trap 'exit 0' INT TERM
scripts/demo-backend.sh start 2525 127.0.0.1:10025
scripts/demo-remote.sh start 2526 2527
cat > "$demo/mxguard.toml" <<TOML
# Demo configuration written by scripts/run.sh; see deploy/mxguard.toml for every key.
[server]
hostname = "mx.example.test"
workers = 2
state_dir = "$demo/state"

[inbound]
listen = ["127.0.0.1:8025"]
backend = "127.0.0.1:2525"
# The demo backend reads a PROXY v2 header first (smtpd_upstream_proxy_protocol = haproxy), so it applies its
# relay rules to the real client address, not to mxguard's.
backend_protocol = "proxy-v2"

[outbound]
# The demo legacy Postfix sends its mail for remote.test and notls.test here (transport_maps, plaintext).
listen = ["127.0.0.1:10025"]
allow = ["127.0.0.1/32"]
ca_file = "$demo/remote/ca/ca.crt"   # the demo CA that signed the demo remote MX's certificate

[outbound.route]
# Static next hops instead of MX records. Address literals: mxguard's resolver reads DNS, not /etc/hosts, and
# there is no DNS for .test; the demo MX's certificate carries the IP SAN 127.0.0.1, so "verify" checks it.
"remote.test" = "127.0.0.1:2526"
"notls.test" = "127.0.0.1:2527"

[policy]
default = "may"

[policy.domain."remote.test"]
level = "verify"     # TLS, a chain to ca_file and a certificate for the next hop (here its IP SAN)

[policy.domain."notls.test"]
level = "encrypt"    # TLS required; its MX offers no STARTTLS, so mail waits in the legacy queue with 451 4.7.4

[mta_sts]
cache_file = "$demo/state/mta-sts.cache"

[audit]
path = "$demo/audit.jsonl"
TOML
echo "mxguard demo: send a message with"
echo "  swaks --tls --server 127.0.0.1:8025 --from alice@example.org --to bob@example.test"
echo "then read it with: scripts/demo-backend.sh last bob    (audit log: $demo/audit.jsonl)"
echo "outbound: hand the legacy Postfix a message for the demo remote MX (over STARTTLS, verified) with"
echo "  printf 'Subject: hello\\n\\nHi Carol.\\n' | sendmail -C $demo/postfix/conf -F Alice -f alice@example.test carol@remote.test"
echo "then read it with: scripts/demo-remote.sh last carol;  one for notls.test waits: scripts/demo-backend.sh queue"
build/proxy/app/mxguard run --config "$demo/mxguard.toml" &
pid=$!
wait "$pid" || true
