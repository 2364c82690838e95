#!/usr/bin/env bash
# Installs the dependencies, builds mxguard and runs it in the foreground (Ctrl-C stops it).
#   MXGUARD_CONFIG=/etc/mxguard/mxguard.toml scripts/run.sh   -> your configuration
#   scripts/run.sh                                             -> the demo: mxguard on 127.0.0.1:8025 (STARTTLS,
#      self-signed certificate) in front of a private plaintext Postfix on 127.0.0.1:2525 as the legacy MTA,
#      which learns each client's real address from a PROXY v2 header
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
if [ -n "${MXGUARD_CONFIG:-}" ]; then
  exec build/proxy/app/mxguard run --config "$MXGUARD_CONFIG"
fi

demo=/var/tmp/mxguard-demo
mkdir -p "$demo/state"
scripts/demo-backend.sh start 2525
pid=
# Whatever ends this script (Ctrl-C, SIGTERM, an error) stops mxguard gracefully and the demo backend.
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid"; scripts/demo-backend.sh stop' EXIT
trap 'exit 0' INT TERM
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

[audit]
path = "$demo/audit.jsonl"
TOML
echo "mxguard demo: send a message with"
echo "  swaks --tls --server 127.0.0.1:8025 --from alice@example.org --to bob@example.test"
echo "then read it with: scripts/demo-backend.sh last bob    (audit log: $demo/audit.jsonl)"
build/proxy/app/mxguard run --config "$demo/mxguard.toml" &
pid=$!
wait "$pid" || true
