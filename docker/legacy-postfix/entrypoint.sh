#!/bin/sh
# Starts the legacy Postfix in the foreground. SMTP_LISTEN moves its plaintext smtpd: a port ("2525", the
# default, all interfaces) or "address:port" (e.g. "127.0.0.1:12525" when the container shares the host's
# network); the address then also becomes inet_interfaces, so nothing else listens elsewhere.
set -eu
listen=${SMTP_LISTEN:-2525}
current=$(postconf -M | awk '$2 == "inet" && $NF == "smtpd" {print $1; exit}')
if [ -n "$current" ] && [ "$current" != "$listen" ]; then
  postconf -MX "$current/inet"
  postconf -Me "$listen/inet = $listen inet n - n - - smtpd"
fi
case $listen in
  *:*) addr=${listen%:*}; addr=${addr#[}; postconf -e "inet_interfaces = ${addr%]}" ;;
esac
exec "$@"
