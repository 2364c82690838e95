#!/bin/sh
# iptables equivalent of tproxy-inbound.nft (IPv4 and IPv6): marks the backend's replies to mxguard's
# transparent sockets; tproxy-routing.sh then delivers marked packets to this host. Run as root.
#   BACKEND_PORT=25 TPROXY_MARK=0x1 sh tproxy-inbound.iptables.sh     # ... remove: takes the rules out
# The rules live in a chain of their own (MXGUARD_TPROXY), emptied first: running it twice is harmless.
set -eu
BACKEND_PORT=${BACKEND_PORT:-25}
TPROXY_MARK=${TPROXY_MARK:-0x1}
CHAIN=MXGUARD_TPROXY
for ipt in iptables ip6tables; do
  $ipt -t mangle -D PREROUTING -p tcp --sport "$BACKEND_PORT" -j "$CHAIN" 2>/dev/null || true
  $ipt -t mangle -F "$CHAIN" 2>/dev/null || true
  $ipt -t mangle -X "$CHAIN" 2>/dev/null || true
  [ "${1:-}" = remove ] && continue
  $ipt -t mangle -N "$CHAIN"
  $ipt -t mangle -A "$CHAIN" -m socket --transparent -j MARK --set-mark "$TPROXY_MARK"
  $ipt -t mangle -A "$CHAIN" -m mark --mark "$TPROXY_MARK" -j ACCEPT
  $ipt -t mangle -A PREROUTING -p tcp --sport "$BACKEND_PORT" -j "$CHAIN"
done
