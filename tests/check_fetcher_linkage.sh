#!/bin/sh
# mxguard-fetch links libcurl's GnuTLS build and never BoringSSL (dependencies.md: the fetcher may carry
# curl's TLS stack, the proxy only BoringSSL; no process both). Usage: check_fetcher_linkage.sh BINARY
set -eu
bin=$1
libs=$(ldd "$bin")
echo "$libs"
echo "$libs" | grep -q 'libcurl-gnutls\.so' || { echo "FAIL: $bin does not link libcurl-gnutls" >&2; exit 1; }
if echo "$libs" | grep -E 'android/|libssl\.so\.0|libcrypto\.so\.0' >/dev/null; then
  echo "FAIL: $bin links BoringSSL (android/libssl.so.0 or libcrypto.so.0)" >&2
  exit 1
fi
if echo "$libs" | grep -E '^\s*libcurl\.so' >/dev/null; then
  echo "FAIL: $bin links libcurl's OpenSSL build (libcurl.so.4), not the GnuTLS one" >&2
  exit 1
fi
echo "$libs" | grep -q 'not found' && { echo "FAIL: unresolved libraries" >&2; exit 1; }
echo "ok: $bin links libcurl-gnutls and no BoringSSL"
