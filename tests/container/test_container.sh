#!/usr/bin/env bash
# test_container.sh - end-to-end test of mxguard's container image (docker/Dockerfile) with podman.
#
# Builds the mxguard image and the legacy Postfix image (docker/legacy-postfix/Dockerfile), runs both with
# host networking on loopback-only free ports (Postfix plaintext behind mxguard, PROXY v2 header), waits
# for the image's HEALTHCHECK, sends a message with `swaks --tls` through mxguard and finds it byte-for-byte
# in the legacy Postfix's Maildir; checks the image runs unprivileged with cap_net_bind_service (and binds
# port 25 in a private network namespace), links no libcurl/libssh2/OpenSSL 3, and stops cleanly on SIGTERM.
# Prints `N passed, N failed`; exits 1 on failure, 77 when it cannot run here (not root).
#
# Environment:
#   MXGUARD_CONTAINER_DIR   podman's state/config/storage (default /var/tmp/mxguard-podman, see container.sh)
#   MXGUARD_IMAGE           tag for the mxguard image         (default localhost/mxguard:test)
#   LEGACY_IMAGE            tag for the legacy Postfix image  (default localhost/mxguard-legacy-postfix:test)
#   MXGUARD_TEST_KEEP=1     keep the work directory (configs, logs) for a post-mortem
#   MXGUARD_TEST_RMI=1      remove both images afterwards (the next run is cold again, except the base image)
# Needs root; installs podman & co. (container.sh setup) and swaks + libnet-ssleay-perl if missing.
# The checks pass values to `bash -c '...' _ "$value"` on purpose: single quotes are meant.
# shellcheck disable=SC2016
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=$ROOT/tests/container/container.sh
MXGUARD_IMAGE=${MXGUARD_IMAGE:-localhost/mxguard:test}
LEGACY_IMAGE=${LEGACY_IMAGE:-localhost/mxguard-legacy-postfix:test}
STOP_GRACE=45            # as docker/compose.yaml's stop_grace_period
SHUTDOWN_GRACE=20s       # mxguard's server.shutdown_grace: below STOP_GRACE, as it must be
PASSED=0 FAILED=0
T0=$(date +%s)

if [ "$(id -u)" -ne 0 ]; then echo "test_container: needs root (podman, setcap); skipped"; exit 77; fi

WORK=$(mktemp -d /tmp/mxguard-container-test.XXXXXX)
chmod 755 "$WORK"
TAG=mxgt-$$
LEGACY=$TAG-legacy PROXY=$TAG-proxy PORT25=$TAG-port25
CONTAINERS=("$LEGACY" "$PROXY" "$PORT25")

pod() { "$C" podman "$@"; }
log() { printf '[%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() {   # check "description" command... : pass if the command succeeds
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do
    if pod container exists "$c" 2>/dev/null; then
      if [ "$FAILED" -gt 0 ] || [ "${MXGUARD_TEST_KEEP:-0}" = 1 ]; then
        pod logs "$c" > "$WORK/$c.log" 2>&1 || true
      fi
      pod rm -f -v -t 5 "$c" >/dev/null 2>&1 || true
    fi
  done
  if [ "${MXGUARD_TEST_RMI:-0}" = 1 ]; then
    pod rmi -f "$MXGUARD_IMAGE" "$LEGACY_IMAGE" >/dev/null 2>&1 || true
  fi
  # Every rebuild leaves the previous images untagged; the build stage is untagged too but is the layer
  # cache of the next run: drop only untagged images older than a week.
  pod image prune -f --filter until=168h >/dev/null 2>&1 || true
  if [ "$FAILED" -gt 0 ] || [ "${MXGUARD_TEST_KEEP:-0}" = 1 ]; then
    echo "test_container: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
finish() {
  cleanup
  log "done"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
  exit $?
}
trap 'finish' EXIT
trap 'echo "test_container: interrupted"; FAILED=$((FAILED + 1)); exit 1' INT TERM

# Dump a container's recent log on failure, to make CI failures readable.
show_log() { echo "--- last lines of $1's log:"; pod logs --tail 30 "$1" 2>&1 | sed 's/^/    /'; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- prerequisites
"$C" setup || { fail "container.sh setup (podman, buildah, runc, debootstrap)"; exit 1; }
if ! command -v swaks >/dev/null || ! perl -MNet::SSLeay -e1 2>/dev/null; then
  log "installing swaks libnet-ssleay-perl"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends \
    swaks libnet-ssleay-perl >/dev/null || { fail "install swaks libnet-ssleay-perl"; exit 1; }
fi
# A stale container of an earlier, killed run must not hold a port or a name.
"$C" cleanup

# ---------------------------------------------------------------- images
log "base image (debootstrap on the first run)"
if ! "$C" base > "$WORK/base.log" 2>&1; then
  tail -20 "$WORK/base.log"; fail "base image debian:bookworm-slim"; exit 1
fi
log "building $LEGACY_IMAGE"
if "$C" build "$ROOT" "$LEGACY_IMAGE" -f docker/legacy-postfix/Dockerfile > "$WORK/build-legacy.log" 2>&1; then
  pass "build legacy Postfix image"
else
  tail -30 "$WORK/build-legacy.log"; fail "build legacy Postfix image"; exit 1
fi
log "building $MXGUARD_IMAGE"
if "$C" build "$ROOT" "$MXGUARD_IMAGE" -f docker/Dockerfile > "$WORK/build-mxguard.log" 2>&1; then
  pass "build mxguard image"
else
  tail -40 "$WORK/build-mxguard.log"; fail "build mxguard image"; exit 1
fi
log "images built"

check "image runs as user mxguard" \
  test "$(pod image inspect --format '{{.Config.User}}' "$MXGUARD_IMAGE")" = mxguard
check "image has a HEALTHCHECK that runs mxguard healthcheck" \
  grep -q 'mxguard healthcheck' <<< "$(pod image inspect --format '{{json .HealthCheck}}' "$MXGUARD_IMAGE" | tr '",[]' '    ' | tr -s ' ')"
volumes=$(pod image inspect --format '{{json .Config.Volumes}}' "$MXGUARD_IMAGE")
check "image declares volumes /var/lib/mxguard and /var/log/mxguard ($volumes)" \
  bash -c 'grep -qF "\"/var/lib/mxguard\"" <<< "$1" && grep -qF "\"/var/log/mxguard\"" <<< "$1"' _ "$volumes"
size=$(pod image inspect --format '{{.Size}}' "$MXGUARD_IMAGE")
log "mxguard image size: $((size / 1024 / 1024)) MiB"

# What the runtime image holds: the two executables' libraries and nothing of a toolchain. The proxy
# process links BoringSSL alone; libcurl (and the OpenSSL 3 that libssh2 drags in) is in the image for
# mxguard-fetch only, a process of its own that never holds a private key (dependencies.md).
ldd_out=$(pod run --rm --no-healthcheck --network none --entrypoint ldd "$MXGUARD_IMAGE" /usr/sbin/mxguard 2>&1)
printf '%s\n' "$ldd_out" | sed 's/^/    ldd: /'
check "ldd /usr/sbin/mxguard: every library found" bash -c '! grep -q "not found" <<< "$1" && [ -n "$1" ]' _ "$ldd_out"
check "ldd /usr/sbin/mxguard: no libcurl, libssh2, libcrypto.so.3/libssl.so.3" \
  bash -c '! grep -Eq "libcurl|libssh2|libcrypto\.so\.3|libssl\.so\.3" <<< "$1"' _ "$ldd_out"
check "ldd /usr/sbin/mxguard: BoringSSL (android/libssl.so.0)" grep -q 'android/libssl\.so\.0' <<< "$ldd_out"
fetch_ldd=$(pod run --rm --no-healthcheck --network none --entrypoint ldd "$MXGUARD_IMAGE" /usr/sbin/mxguard-fetch 2>&1)
check "ldd /usr/sbin/mxguard-fetch: every library found, libcurl-gnutls, no BoringSSL" \
  bash -c '! grep -q "not found" <<< "$1" && grep -q "libcurl-gnutls" <<< "$1" && ! grep -q "android/" <<< "$1"' _ "$fetch_ldd"
extra=$(pod run --rm --no-healthcheck --network none --entrypoint sh "$MXGUARD_IMAGE" -c \
  'for f in /usr/bin/gcc /usr/bin/g++ /usr/bin/cc /usr/bin/cmake /usr/bin/make /usr/sbin/setcap /usr/bin/openssl; do
     [ -e $f ] && echo $f; done; true' 2>&1)
check "runtime image has no toolchain, setcap or openssl${extra:+: ${extra//$'\n'/ }}" test -z "$extra"
check "runtime image has the CA bundle /etc/ssl/certs/ca-certificates.crt" \
  pod run --rm --no-healthcheck --network none --entrypoint grep "$MXGUARD_IMAGE" -q "BEGIN CERTIFICATE" /etc/ssl/certs/ca-certificates.crt

# ---------------------------------------------------------------- legacy Postfix on loopback
BACKEND_PORT=$(free_port)
PROXY_PORT=$(free_port)
while [ "$PROXY_PORT" = "$BACKEND_PORT" ]; do PROXY_PORT=$(free_port); done
log "legacy Postfix on 127.0.0.1:$BACKEND_PORT, mxguard on 127.0.0.1:$PROXY_PORT"
pod run -d --pull=never --label mxguard.test=1 --name "$LEGACY" --network host \
  -e SMTP_LISTEN="127.0.0.1:$BACKEND_PORT" "$LEGACY_IMAGE" >/dev/null 2>>"$WORK/podman.err" \
  || { cat "$WORK/podman.err"; fail "start legacy Postfix"; exit 1; }
listening() {   # listening ADDR:PORT -> an exact LISTEN socket exists on the host
  ss -Hltn "sport = :${1##*:}" 2>/dev/null | awk '{print $4}' | grep -qx "$1"
}
for _ in $(seq 100); do listening "127.0.0.1:$BACKEND_PORT" && break; sleep 0.2; done
check "legacy Postfix listens on 127.0.0.1:$BACKEND_PORT" listening "127.0.0.1:$BACKEND_PORT"
others=$(ss -Hltnp 2>/dev/null | grep "pid=$(pod inspect --format '{{.State.Pid}}' "$LEGACY")," | awk '{print $4}' | grep -v "^127\.0\.0\.1:$BACKEND_PORT\$" || true)
check "legacy Postfix listens nowhere else${others:+ ($others)}" test -z "$others"

# ---------------------------------------------------------------- mxguard
cat > "$WORK/mxguard.toml" <<EOF
# written by tests/container/test_container.sh
[server]
hostname = "mx.container.test"
workers = 1
state_dir = "/var/lib/mxguard"
shutdown_grace = "$SHUTDOWN_GRACE"

[inbound]
listen = ["127.0.0.1:$PROXY_PORT"]
backend = "127.0.0.1:$BACKEND_PORT"
backend_protocol = "proxy-v2"

[audit]
path = "/var/log/mxguard/audit.jsonl"
EOF
chmod 644 "$WORK/mxguard.toml"
# --health-interval=disable: no systemd timer (there is no systemd here); `podman healthcheck run` still runs
# the image's HEALTHCHECK command.
pod run -d --pull=never --label mxguard.test=1 --name "$PROXY" --network host --stop-timeout "$STOP_GRACE" \
  --health-interval=disable \
  -v "$WORK/mxguard.toml:/etc/mxguard/mxguard.toml:ro" "$MXGUARD_IMAGE" >/dev/null 2>>"$WORK/podman.err" \
  || { cat "$WORK/podman.err"; fail "start mxguard"; exit 1; }

log "waiting for the HEALTHCHECK"
healthy=0
for _ in $(seq 60); do
  if [ "$(pod inspect --format '{{.State.Status}}' "$PROXY")" != running ]; then break; fi
  if pod healthcheck run "$PROXY" > "$WORK/health.out" 2>&1; then healthy=1; break; fi
  sleep 1
done
if [ "$healthy" = 1 ]; then pass "podman healthcheck run: healthy"; else
  fail "podman healthcheck run: healthy ($(tail -1 "$WORK/health.out"))"; show_log "$PROXY"; show_log "$LEGACY"; fi
check "mxguard healthcheck --config /etc/mxguard/mxguard.toml (exec) exits 0" \
  pod exec "$PROXY" /usr/sbin/mxguard healthcheck --config /etc/mxguard/mxguard.toml
check "mxguard check-config accepts the mounted configuration" \
  pod exec "$PROXY" /usr/sbin/mxguard check-config --config /etc/mxguard/mxguard.toml

# ---------------------------------------------------------------- privileges
uid=$(pod exec "$PROXY" id -u 2>&1)
check "container runs as a non-root user (id -u = $uid)" bash -c '[ -n "$1" ] && [ "$1" != 0 ] && [ "$1" -eq "$1" ] 2>/dev/null' _ "$uid"
status=$(pod exec "$PROXY" cat /proc/1/status 2>&1)
puid=$(awk '/^Uid:/ {print $2}' <<< "$status")
capeff=$(awk '/^CapEff:/ {print $2}' <<< "$status")
check "PID 1 (mxguard) runs with a non-root uid ($puid)" bash -c '[ -n "$1" ] && [ "$1" != 0 ]' _ "$puid"
check "PID 1 has exactly cap_net_bind_service effective (CapEff $capeff)" \
  bash -c '[ -n "$1" ] && (( 16#$1 == 1 << 10 ))' _ "$capeff"
mnt=$(pod mount "$PROXY" 2>/dev/null)
fcaps=$( [ -n "$mnt" ] && getcap "$mnt/usr/sbin/mxguard" 2>&1)
pod umount "$PROXY" >/dev/null 2>&1 || true
check "getcap /usr/sbin/mxguard: cap_net_bind_service=ep (${fcaps##*/})" grep -q 'cap_net_bind_service=ep' <<< "$fcaps"
state_owner=$(pod exec "$PROXY" stat -c %U /var/lib/mxguard /var/log/mxguard 2>&1 | sort -u)
check "state and audit volumes are owned by mxguard ($state_owner)" test "$state_owner" = mxguard

# ---------------------------------------------------------------- a message through STARTTLS
TOKEN="mxguard-container-$$-$(date +%s%N)"
{
  printf 'From: Alice <alice@sender.test>\r\n'
  printf 'To: Bob <bob@example.test>\r\n'
  printf 'Subject: %s\r\n' "$TOKEN"
  printf 'Message-ID: <%s@sender.test>\r\n' "$TOKEN"
  printf 'Date: %s\r\n' "$(LC_ALL=C date -R)"
  printf 'MIME-Version: 1.0\r\n'
  printf 'Content-Type: text/plain; charset=utf-8\r\n'
  printf 'Content-Transfer-Encoding: 8bit\r\n'
  printf '\r\n'
} > "$WORK/message.eml"
{
  printf 'Hello Bob, %s\r\n' "$TOKEN"
  printf '\r\n'
  printf '.a line that starts with a dot (dot-stuffed on the wire)\r\n'
  printf '..two dots\r\n'
  printf '.\tdot, tab\r\n'
  printf 'trailing spaces   \r\n'
  printf '8bit: gr\xc3\xbc\xc3\x9fe, \xe2\x82\xac, \xf0\x9f\x93\xa7\r\n'
  printf 'From the start of a line\r\n'
  printf '%0900d\r\n' 0
  printf 'last line, no newline at the end of the file'
} > "$WORK/body.crlf"
cat "$WORK/body.crlf" >> "$WORK/message.eml"
# swaks adds CRLF.CRLF; Postfix stores LF line endings: that is what the Maildir must hold after the headers.
{ sed 's/\r$//' "$WORK/body.crlf"; printf '\n'; } > "$WORK/body.expected"

log "sending through mxguard with swaks --tls"
if swaks --server "127.0.0.1:$PROXY_PORT" --tls --helo client.sender.test \
     --from alice@sender.test --to bob@example.test --data "@$WORK/message.eml" \
     --timeout 60 > "$WORK/swaks.log" 2>&1; then
  pass "swaks --tls through mxguard: accepted"
else
  fail "swaks --tls through mxguard: accepted"; sed 's/^/    /' "$WORK/swaks.log" | tail -40; show_log "$PROXY"
fi
check "STARTTLS was advertised and the session ran over TLS" \
  bash -c 'grep -q "250.STARTTLS" "$1" && grep -q "TLS started" "$1"' _ "$WORK/swaks.log"
maildir_file=""
for _ in $(seq 50); do
  maildir_file=$(pod exec "$LEGACY" sh -c "grep -rl -- '$TOKEN' /var/mail/vhosts/bob/new 2>/dev/null | head -1" 2>/dev/null)
  [ -n "$maildir_file" ] && break
  sleep 0.2
done
if [ -n "$maildir_file" ]; then
  pass "message delivered to bob's Maildir ($maildir_file)"
  pod exec "$LEGACY" cat "$maildir_file" > "$WORK/delivered.eml"
  # The body: everything after the first empty line, as exact bytes.
  python3 - "$WORK/delivered.eml" "$WORK/body.delivered" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(data.split(b"\n\n", 1)[1] if b"\n\n" in data else b"")
PY
  if cmp -s "$WORK/body.expected" "$WORK/body.delivered"; then
    pass "delivered body is byte-for-byte the body sent"
  else
    fail "delivered body is byte-for-byte the body sent"; diff <(od -c "$WORK/body.expected") <(od -c "$WORK/body.delivered") | head -20
  fi
  check "delivered headers are the ones sent (Subject, Message-ID)" \
    bash -c 'grep -q "^Subject: $2\$" "$1" && grep -q "^Message-ID: <$2@sender.test>\$" "$1"' _ "$WORK/delivered.eml" "$TOKEN"
  # Postfix requires the PROXY v2 header (smtpd_upstream_proxy_protocol = haproxy): without it, nothing
  # would have been delivered at all.
else
  fail "message delivered to bob's Maildir"; show_log "$LEGACY"; show_log "$PROXY"
fi

audit=$(pod exec "$PROXY" cat /var/log/mxguard/audit.jsonl 2>/dev/null)
check "audit log in the /var/log/mxguard volume has a record ($(wc -l <<< "$audit") lines)" test -n "$audit"

# ---------------------------------------------------------------- SIGTERM
# A session in the middle of DATA when `podman stop` sends SIGTERM: mxguard must let it finish (the message
# is accepted and delivered), then close, and exit 0 well within the stop timeout.
TOKEN2="$TOKEN-inflight"
log "podman stop (SIGTERM, grace ${STOP_GRACE}s) with a session in DATA"
t_stop=$(date +%s)
python3 - "$PROXY_PORT" "$TOKEN2" "$C" "$PROXY" "$STOP_GRACE" > "$WORK/inflight.log" 2>&1 <<'PY'
import socket, ssl, subprocess, sys, time
port, token, helper, name, grace = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sock = socket.create_connection(("127.0.0.1", port), timeout=30)
f = sock.makefile("rb")
def reply(fh):
    lines = []
    while True:
        line = fh.readline()
        if not line:
            raise SystemExit("connection closed; got %r" % lines)
        lines.append(line.decode(errors="replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            print("<", " | ".join(lines), flush=True)
            return int(lines[-1][:3]), lines
def cmd(conn, fh, text, want):
    print(">", text, flush=True)
    conn.sendall(text.encode() + b"\r\n")
    code, lines = reply(fh)
    if code != want:
        raise SystemExit("%s: expected %d, got %r" % (text, want, lines))
assert reply(f)[0] == 220
cmd(sock, f, "EHLO inflight.sender.test", 250)
cmd(sock, f, "STARTTLS", 220)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
tls = ctx.wrap_socket(sock, server_hostname="mx.container.test")
f = tls.makefile("rb")
cmd(tls, f, "EHLO inflight.sender.test", 250)
cmd(tls, f, "MAIL FROM:<alice@sender.test>", 250)
cmd(tls, f, "RCPT TO:<bob@example.test>", 250)
cmd(tls, f, "DATA", 354)
tls.sendall(("Subject: %s\r\nFrom: alice@sender.test\r\nTo: bob@example.test\r\n\r\nfirst half\r\n" % token).encode())
print("stopping", flush=True)
stop = subprocess.Popen([helper, "podman", "stop", "-t", grace, name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2)
print("stopper still running after 2s:", stop.poll() is None, flush=True)
tls.sendall(b"second half, after SIGTERM\r\n.\r\n")
code, lines = reply(f)
print("END-OF-DATA", code, flush=True)
try:
    tls.sendall(b"QUIT\r\n")
    code2, lines2 = reply(f)
    print("QUIT", code2, flush=True)
except (SystemExit, OSError) as e:
    print("QUIT: connection closed (%s)" % e, flush=True)
stop.wait(timeout=int(grace) + 30)
print("stopper exit", stop.returncode, flush=True)
PY
rc=$?
elapsed=$(( $(date +%s) - t_stop ))
sed 's/^/    /' "$WORK/inflight.log"
check "in-flight session: the message begun before SIGTERM is accepted (250)" \
  bash -c '[ "$1" = 0 ] && grep -q "^END-OF-DATA 250" "$2"' _ "$rc" "$WORK/inflight.log"
check "in-flight session: SIGTERM did not stop the container before the session ended" \
  grep -q "stopper still running after 2s: True" "$WORK/inflight.log"
code=$(pod inspect --format '{{.State.ExitCode}}' "$PROXY" 2>&1)
state=$(pod inspect --format '{{.State.Status}}' "$PROXY" 2>&1)
check "SIGTERM: mxguard exits 0 (exit code $code, $state) within the grace (${elapsed}s < ${STOP_GRACE}s)" \
  bash -c '[ "$1" = 0 ] && [ "$2" = exited ] && [ "$3" -lt "$4" ]' _ "$code" "$state" "$elapsed" "$STOP_GRACE"
[ "$code" = 0 ] || show_log "$PROXY"
found=""
for _ in $(seq 50); do
  found=$(pod exec "$LEGACY" sh -c "grep -rl -- '$TOKEN2' /var/mail/vhosts/bob/new 2>/dev/null | head -1" 2>/dev/null)
  [ -n "$found" ] && break
  sleep 0.2
done
check "in-flight session: the message is in bob's Maildir" test -n "$found"

# ---------------------------------------------------------------- port 25 without root
# In a private network namespace (only its own loopback: nothing on the host is touched), the unprivileged
# mxguard must be able to bind port 25 through the file capability alone.
sed -e "s/^listen = .*/listen = [\"127.0.0.1:25\"]/" -e "s/^backend = .*/backend = \"127.0.0.1:2525\"/" \
  "$WORK/mxguard.toml" > "$WORK/mxguard-25.toml"
chmod 644 "$WORK/mxguard-25.toml"
pod run -d --pull=never --label mxguard.test=1 --name "$PORT25" --network none --stop-timeout "$STOP_GRACE" \
  --health-interval=disable \
  -v "$WORK/mxguard-25.toml:/etc/mxguard/mxguard.toml:ro" "$MXGUARD_IMAGE" >/dev/null 2>>"$WORK/podman.err" \
  || { cat "$WORK/podman.err"; fail "start mxguard in a private network namespace"; }
bound=0
for _ in $(seq 50); do
  pid=$(pod inspect --format '{{.State.Pid}}' "$PORT25" 2>/dev/null)
  # /proc/PID/net/tcp of the container's namespace: local 0100007F:0019 (127.0.0.1:25) in state 0A (LISTEN).
  if [ -n "$pid" ] && [ "$pid" != 0 ] && awk '$2 == "0100007F:0019" && $4 == "0A" {f = 1} END {exit !f}' "/proc/$pid/net/tcp" 2>/dev/null; then
    bound=1; break
  fi
  sleep 0.2
done
if [ "$bound" = 1 ]; then pass "unprivileged mxguard listens on 127.0.0.1:25 (cap_net_bind_service)"; else
  fail "unprivileged mxguard listens on 127.0.0.1:25 (cap_net_bind_service)"; show_log "$PORT25"; fi
pod stop -t "$STOP_GRACE" "$PORT25" >/dev/null 2>>"$WORK/podman.err"
code=$(pod inspect --format '{{.State.ExitCode}}' "$PORT25" 2>&1)
check "SIGTERM: mxguard on port 25 exits 0 (exit code $code)" test "$code" = 0

log "total"
