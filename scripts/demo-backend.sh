#!/usr/bin/env bash
# A private, plaintext Postfix as the demo "legacy MTA" behind mxguard (no systemd; it sends mail only to mxguard).
# Usage: scripts/demo-backend.sh start [PORT] [OUTBOUND] | stop | last USER | queue
# Accepts mail for example.test (bob, alice, postmaster; anything else to catchall) into Maildirs under
# $DEMO_DIR/mail, rejects every other domain, and never advertises STARTTLS: exactly a legacy server. It expects
# a PROXY protocol header (v1 or v2) first on every connection, as mxguard sends with backend_protocol = "proxy-v2",
# so it sees each client's real address; a client connecting to it directly is refused. Its outgoing mail for the
# demo remote domains (remote.test, notls.test) goes in plaintext to mxguard's outbound listener OUTBOUND (default
# 127.0.0.1:10025), a transport_maps entry; mail for any other domain is never sent out. Local mail enters with
# sendmail -C $DEMO_DIR/conf; `queue` shows what waits (postqueue -p).
set -euo pipefail
. "$(dirname "$0")/demo-postfix.sh"
DEMO_DIR=${DEMO_DIR:-/var/tmp/mxguard-demo/postfix}
CONF=$DEMO_DIR/conf

start() {
  local port=${1:-2525} outbound=${2:-127.0.0.1:10025}
  stop >/dev/null 2>&1 || true
  rm -rf "$DEMO_DIR/queue"
  mkdir -p "$CONF" "$DEMO_DIR/mail" "$DEMO_DIR/data" "$DEMO_DIR/queue"
  chown nobody:nogroup "$DEMO_DIR/mail"
  chown postfix "$DEMO_DIR/data"
  : > "$DEMO_DIR/maillog"
  cat > "$CONF/main.cf" <<CF
compatibility_level = 3.6
myhostname = legacy.example.test
mydomain = example.test
mydestination =
mynetworks = 127.0.0.0/8 [::1]/128
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
queue_directory = $DEMO_DIR/queue
data_directory = $DEMO_DIR/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = mxguard-demo-postfix
maillog_file = $DEMO_DIR/maillog
maillog_file_prefixes = $DEMO_DIR
smtpd_banner = \$myhostname ESMTP legacy demo backend
smtpd_tls_security_level = none
smtpd_discard_ehlo_keywords = starttls
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination
default_transport = error:the demo backend sends no mail out
relay_transport = error:the demo backend sends no mail out
# Mail for the demo remote domains leaves through mxguard (plaintext: mxguard adds STARTTLS per policy).
transport_maps = texthash:$CONF/transport
smtp_tls_security_level = none
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
smtpd_peername_lookup = no
notify_classes =
biff = no
virtual_mailbox_domains = example.test
virtual_mailbox_base = $DEMO_DIR/mail
virtual_mailbox_maps = texthash:$CONF/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
CF
  printf '%s\n' "bob@example.test bob/" "alice@example.test alice/" "postmaster@example.test postmaster/" \
    "@example.test catchall/" > "$CONF/vmailbox"
  local host=${outbound%:*}
  printf '%s\n' "remote.test smtp:[$host]:${outbound##*:}" "notls.test smtp:[$host]:${outbound##*:}" > "$CONF/transport"
  { echo "127.0.0.1:$port inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy"
    cat "$(dirname "$0")/postfix-services.cf"; } > "$CONF/master.cf"
  postfix_up "$CONF" "$DEMO_DIR/maillog"
  echo "demo backend: plaintext Postfix on 127.0.0.1:$port (PROXY protocol first), Maildirs in $DEMO_DIR/mail, log $DEMO_DIR/maillog;" \
    "mail for remote.test and notls.test goes to $outbound"
}

stop() { postfix_down "$CONF"; }

last() {
  local d=$DEMO_DIR/mail/${1:?USER}/new
  newest_mail "$d"
}

case ${1:-} in
  start) start "${2:-}" "${3:-}" ;;
  stop) stop ;;
  last) last "${2:-}" ;;
  queue) postqueue -c "$CONF" -p ;;
  *) sed -n '2,8p' "$0"; exit 2 ;;
esac
