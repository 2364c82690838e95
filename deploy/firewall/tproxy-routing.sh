#!/bin/sh
# Policy routing for inbound backend_protocol = "tproxy", with either tproxy-inbound.nft or
# tproxy-inbound.iptables.sh: packets they marked (the backend's replies to a client's address) are
# looked up in their own table, whose one route says every address is local, so the kernel hands them to
# mxguard's transparent socket instead of forwarding them to the client. IPv4 and IPv6. Run as root.
#   TPROXY_MARK=0x1 TPROXY_TABLE=100 sh tproxy-routing.sh        # ... remove: takes them out again
# Running it twice leaves one rule per family. Not persistent: run it at boot (a systemd unit before
# mxguard.service, or the distribution's network configuration).
set -eu
TPROXY_MARK=${TPROXY_MARK:-0x1}
TPROXY_TABLE=${TPROXY_TABLE:-100}
for family in -4 -6; do
  while ip "$family" rule del fwmark "$TPROXY_MARK" lookup "$TPROXY_TABLE" 2>/dev/null; do :; done
  ip "$family" route flush table "$TPROXY_TABLE" 2>/dev/null || true
  [ "${1:-}" = remove ] && continue
  ip "$family" rule add fwmark "$TPROXY_MARK" lookup "$TPROXY_TABLE"
done
[ "${1:-}" = remove ] && exit 0
ip -4 route add local 0.0.0.0/0 dev lo table "$TPROXY_TABLE"
ip -6 route add local ::/0 dev lo table "$TPROXY_TABLE"
