#!/usr/bin/env bash
# A private Postfix as the demo "remote MX on the internet" that mxguard's outbound side delivers to (no systemd,
# nothing sent out). Usage: scripts/demo-remote.sh start [TLS_PORT] [PLAIN_PORT] | stop | last USER [DOMAIN]
# Accepts mail for remote.test on 127.0.0.1:TLS_PORT (default 2526) with STARTTLS, certificate for mx.remote.test
# and 127.0.0.1 from a demo CA made here with openssl ($DEMO_DIR/ca/ca.crt: mxguard's outbound ca_file), TLS details
# in its Received: header; and for notls.test on 127.0.0.1:PLAIN_PORT (default 2527) without STARTTLS. Maildirs under
# $DEMO_DIR/mail (remote.test: USER/, notls.test: notls.test/USER/); every other domain is refused.
set -euo pipefail
. "$(dirname "$0")/demo-postfix.sh"
DEMO_DIR=${DEMO_DIR:-/var/tmp/mxguard-demo/remote}
CONF=$DEMO_DIR/conf
CA=$DEMO_DIR/ca

# The demo CA and the MX's certificate, made once and again when the certificate is (nearly) expired.
make_certificates() {
  mkdir -p "$CA"
  if [ -f "$CA/mx.chain.crt" ] && [ -f "$CA/mx.key" ] &&
     openssl x509 -in "$CA/mx.crt" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  (umask 077
   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=mxguard demo CA" \
     -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
     -keyout "$CA/ca.key" -out "$CA/ca.crt"
   openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=mx.remote.test" \
     -keyout "$CA/mx.key" -out "$CA/mx.csr") 2>/dev/null
  # The IP SAN lets mxguard verify the certificate when the demo routes remote.test to the literal 127.0.0.1.
  printf '%s\n' "subjectAltName=DNS:mx.remote.test,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$CA/mx.ext"
  openssl x509 -req -in "$CA/mx.csr" -CA "$CA/ca.crt" -CAkey "$CA/ca.key" -CAcreateserial -days 365 \
    -extfile "$CA/mx.ext" -out "$CA/mx.crt" 2>/dev/null
  cat "$CA/mx.crt" "$CA/ca.crt" > "$CA/mx.chain.crt"
  chmod 644 "$CA/ca.crt" "$CA/mx.crt" "$CA/mx.chain.crt"
}

start() {
  local tls_port=${1:-2526} plain_port=${2:-2527}
  stop >/dev/null 2>&1 || true
  rm -rf "$DEMO_DIR/queue"
  mkdir -p "$CONF" "$DEMO_DIR/mail" "$DEMO_DIR/data" "$DEMO_DIR/queue"
  chown nobody:nogroup "$DEMO_DIR/mail"
  chown postfix "$DEMO_DIR/data"
  : > "$DEMO_DIR/maillog"
  make_certificates
  cat > "$CONF/main.cf" <<CF
compatibility_level = 3.6
myhostname = mx.remote.test
mydomain = remote.test
mydestination =
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
queue_directory = $DEMO_DIR/queue
data_directory = $DEMO_DIR/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = mxguard-demo-remote
maillog_file = $DEMO_DIR/maillog
maillog_file_prefixes = $DEMO_DIR
smtpd_banner = \$myhostname ESMTP remote demo MX
smtpd_tls_security_level = may
smtpd_tls_chain_files = $CA/mx.key, $CA/mx.chain.crt
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
smtpd_tls_session_cache_database =
smtpd_relay_restrictions = reject_unauth_destination
default_transport = error:the demo remote MX sends no mail out
relay_transport = error:the demo remote MX sends no mail out
alias_maps =
alias_database =
local_recipient_maps =
smtpd_peername_lookup = no
notify_classes =
biff = no
virtual_mailbox_domains = remote.test, notls.test
virtual_mailbox_base = $DEMO_DIR/mail
virtual_mailbox_maps = texthash:$CONF/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
CF
  printf '%s\n' "@remote.test catchall/" "@notls.test notls.test/catchall/" > "$CONF/vmailbox"
  for u in carol dave postmaster; do
    printf '%s\n' "$u@remote.test $u/" "$u@notls.test notls.test/$u/" >> "$CONF/vmailbox"
  done
  { echo "127.0.0.1:$tls_port inet n - n - - smtpd"
    # The same MX without STARTTLS: what mxguard refuses for a domain whose policy needs TLS.
    echo "127.0.0.1:$plain_port inet n - n - - smtpd -o smtpd_tls_security_level=none"
    cat "$(dirname "$0")/postfix-services.cf"
    echo "tlsmgr     unix  -  -  n  1000? 1  tlsmgr"; } > "$CONF/master.cf"
  postfix_up "$CONF" "$DEMO_DIR/maillog"
  echo "demo remote MX: Postfix for remote.test on 127.0.0.1:$tls_port (STARTTLS, CA $CA/ca.crt) and for notls.test" \
    "on 127.0.0.1:$plain_port (no STARTTLS), Maildirs in $DEMO_DIR/mail, log $DEMO_DIR/maillog"
}

stop() { postfix_down "$CONF"; }

last() {
  local d=$DEMO_DIR/mail/${1:?USER}/new
  [ "${2:-remote.test}" = remote.test ] || d=$DEMO_DIR/mail/$2/$1/new
  newest_mail "$d"
}

case ${1:-} in
  start) start "${2:-}" "${3:-}" ;;
  stop) stop ;;
  last) last "${2:-}" "${3:-}" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
