#!/bin/sh
# The proxy process must carry exactly one TLS library, BoringSSL (dependencies.md: Debian's libcurl drags
# OpenSSL 3 in through libssh2, and its symbols collide with BoringSSL's). Usage: check_linkage.sh BINARY
set -eu
bin=$1
libs=$(ldd "$bin")
echo "$libs"
if echo "$libs" | grep -E 'libcurl|libssh2|libcrypto\.so\.3|libssl\.so\.3|libgnutls' >/dev/null; then
  echo "FAIL: $bin links a second TLS stack (libcurl/libssh2/OpenSSL 3/GnuTLS)" >&2
  exit 1
fi
echo "$libs" | grep -q 'android/libssl\.so\.0' || { echo "FAIL: $bin does not link BoringSSL's libssl.so.0" >&2; exit 1; }
echo "$libs" | grep -q 'not found' && { echo "FAIL: unresolved libraries" >&2; exit 1; }
echo "ok: $bin links BoringSSL only"
