#!/bin/sh
# iptables equivalent of transparent-mode.nft (for hosts still on iptables). Run as root.
# The legacy MTA (user postfix) talking to remote port 25 is redirected to mxguard's outbound listener;
# mxguard's own connections (user mxguard) pass untouched.
set -e
LEGACY_USER=${LEGACY_USER:-postfix}
MXGUARD_USER=${MXGUARD_USER:-mxguard}
OUTBOUND_PORT=${OUTBOUND_PORT:-10025}
for ipt in iptables ip6tables; do
  $ipt -t nat -A OUTPUT -p tcp --dport 25 -m owner --uid-owner "$MXGUARD_USER" -j RETURN
  $ipt -t nat -A OUTPUT -p tcp --dport 25 -m owner --uid-owner "$LEGACY_USER" -j REDIRECT --to-ports "$OUTBOUND_PORT"
done
