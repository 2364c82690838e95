#!/usr/bin/env bash
# Installs everything mxguard needs to build, run and test, from Debian 12's packages. Idempotent; needs root.
set -euo pipefail

PACKAGES=(
  # build
  cmake g++ make pkg-config
  libuv1-dev android-libboringssl-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libgtest-dev libc-ares-dev libcurl4-gnutls-dev zlib1g-dev
  # FuzzedDataProvider.h for the fuzz targets' replay tests (and libFuzzer itself, with clang, for fuzz/run.sh)
  libclang-rt-14-dev
  # tests: real peers and clients (swaks --tls needs Net::SSLeay, a Recommends that is not installed by default)
  python3 postfix swaks libnet-ssleay-perl openssl ca-certificates iproute2 procps
  # the transparent modes' tests: the firewall rules of deploy/firewall/, loaded in network namespaces
  nftables iptables
  # the resolver tests' DNS server: unbound (validating), ldnsutils to sign its zones
  unbound ldnsutils
  # the MTA-STS fetcher tests' web server (bench/run.sh adds libnginx-mod-mail to the same nginx)
  nginx
  # the HTML audit report rendered in a real browser (tests/integration/test_audit_tool.py), with a font
  chromium fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them yourself)" >&2
  exit 1
fi

# Postfix asks a question at install time; we only ever run private instances, never the system one.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

# Right after boot another apt may hold the lock: wait for it rather than fail.
apt_get() {
  for attempt in $(seq 1 30); do
    if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@"; then return 0; fi
    echo "install-deps: apt-get $1 failed (attempt $attempt), retrying" >&2
    sleep 5
  done
  return 1
}
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${missing[@]}"
