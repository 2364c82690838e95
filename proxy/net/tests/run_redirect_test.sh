#!/bin/sh
# Runs the one original_destination test that needs a real NAT redirect, inside a private network
# namespace so that the host's own rules are never touched. Needs root, iptables and ip6tables.
#   proxy/net/tests/run_redirect_test.sh build/proxy/net/net_test
set -eu
test_binary=$(realpath "${1:?usage: $0 path/to/net_test}")
exec unshare --net sh -euc '
  ip link set lo up
  ip route add 192.0.2.0/24 dev lo
  ip -6 route add 2001:db8::/64 dev lo
  iptables -t nat -A OUTPUT -p tcp -d 192.0.2.25 --dport 25 -j REDIRECT --to-ports 10025
  ip6tables -t nat -A OUTPUT -p tcp -d 2001:db8::25 --dport 25 -j REDIRECT --to-ports 10025
  MXGUARD_REDIRECT_TEST=1 "$1" --gtest_filter="OriginalDestination.*"
' sh "$test_binary"
