#!/bin/sh
# iptables equivalent of transparent-mode.nft (for hosts still on iptables), IPv4 and IPv6. Run as root.
# The legacy MTA (user LEGACY_USER) talking to remote port 25 is redirected to mxguard's outbound listener
# on OUTBOUND_PORT (127.0.0.1 and [::1]); mxguard's own connections (user MXGUARD_USER) pass untouched.
# A user is a name or a uid. Rules go into a chain of their own (MXGUARD_TRANSPARENT), emptied first, so
# running the script twice leaves one set of rules.
#   LEGACY_USER=postfix MXGUARD_USER=mxguard OUTBOUND_PORT=10025 sh transparent-mode.iptables.sh
#   sh transparent-mode.iptables.sh remove       # takes them out again
set -eu
LEGACY_USER=${LEGACY_USER:-postfix}
MXGUARD_USER=${MXGUARD_USER:-mxguard}
OUTBOUND_PORT=${OUTBOUND_PORT:-10025}
CHAIN=MXGUARD_TRANSPARENT
for ipt in iptables ip6tables; do
  $ipt -t nat -D OUTPUT -p tcp --dport 25 -j "$CHAIN" 2>/dev/null || true
  $ipt -t nat -F "$CHAIN" 2>/dev/null || true
  $ipt -t nat -X "$CHAIN" 2>/dev/null || true
  [ "${1:-}" = remove ] && continue
  $ipt -t nat -N "$CHAIN"
  $ipt -t nat -A "$CHAIN" -m owner --uid-owner "$MXGUARD_USER" -j RETURN
  $ipt -t nat -A "$CHAIN" -m owner --uid-owner "$LEGACY_USER" -p tcp -j REDIRECT --to-ports "$OUTBOUND_PORT"
  $ipt -t nat -A OUTPUT -p tcp --dport 25 -j "$CHAIN"
done
