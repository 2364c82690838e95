#!/bin/sh
# The full no-mail-lost run of issue 19: 1,000 messages per direction (by default) through mxguard with
# real Postfix on every side, fault proxies on three hops and mxguard restarted eight times (SIGTERM and
# SIGKILL in turn). Prints the figures; exits 1 if a message was lost, bounced, damaged or duplicated
# other than after a lost end-of-data reply. Needs root and what the integration tests need.
#
#   tests/soak/no_mail_lost.sh [--messages N] [--seed S] [--restarts R] [--fault-rate F] [--keep] [--json FILE]
#
# MXGUARD_BIN defaults to build/proxy/app/mxguard.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${MXGUARD_BIN:=$root/build/proxy/app/mxguard}"
export MXGUARD_BIN PYTHONDONTWRITEBYTECODE=1
cd "$root/tests"
exec python3 -m fixtures.no_mail_lost "$@"
