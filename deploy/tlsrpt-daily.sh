#!/bin/sh
# Yesterday's TLS-RPT reports (RFC 8460), made from the audit log and sent: the emails through the local
# MTA's sendmail (it DKIM-signs them, as RFC 8460 §5.3 requires), the https: destinations with curl when
# it is installed. Run daily by deploy/mxguard-tlsrpt.timer (or cron: see docs/operations.md).
#
# Environment (all optional): MXGUARD_CONFIG, TLSRPT_DIR (the reports are kept there), TLSRPT_ORGANIZATION,
# TLSRPT_CONTACT (organization-name and contact-info of the reports), SENDMAIL, AUDIT_DIR, MXGUARD.
set -eu
config=${MXGUARD_CONFIG:-/etc/mxguard/mxguard.toml}
dir=${TLSRPT_DIR:-/var/lib/mxguard/tlsrpt}
sendmail=${SENDMAIL:-/usr/sbin/sendmail}
logs=${AUDIT_DIR:-/var/log/mxguard}
day=$(date -u -d yesterday +%F)
out="$dir/$day"

# Yesterday's events are in the live file, or in the one logrotate just moved aside (delaycompress).
files=""
for f in "$logs/audit.jsonl" "$logs/audit.jsonl.1" "$logs/audit.jsonl.1.gz" "$logs/audit.jsonl.2.gz"; do
  [ -r "$f" ] && files="$files $f"
done
[ -n "$files" ] || { echo "tlsrpt-daily: no audit file to read" >&2; exit 1; }

set -- --tlsrpt "$out" --config "$config" --since "$day" --until "$day"
[ -n "${TLSRPT_ORGANIZATION:-}" ] && set -- "$@" --organization "$TLSRPT_ORGANIZATION"
[ -n "${TLSRPT_CONTACT:-}" ] && set -- "$@" --contact "$TLSRPT_CONTACT"
# shellcheck disable=SC2086  # the file list is meant to be split
"${MXGUARD:-/usr/sbin/mxguard}" audit "$@" $files

mkdir -p "$out/sent"
status=0
for mail in "$out"/*.eml; do
  [ -e "$mail" ] || continue
  if "$sendmail" -oi -t < "$mail"; then mv "$mail" "$out/sent/"; else status=1; fi
done
for list in "$out"/*.https; do
  [ -e "$list" ] || continue
  command -v curl >/dev/null || { echo "tlsrpt-daily: curl is not installed: not posting $list" >&2; continue; }
  report="${list%.https}.json.gz"
  while read -r url; do
    curl --fail --silent --show-error --max-time 60 -H 'Content-Type: application/tlsrpt+gzip' \
      --data-binary "@$report" "$url" || status=1
  done < "$list"
  mv "$list" "$out/sent/"
done
exit $status
