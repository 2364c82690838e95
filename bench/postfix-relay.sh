# shellcheck shell=bash disable=SC2154  # $root and $stoppers come from the sourcing script
# Sourced by bench/outbound.sh: a private Postfix instance (no systemd, the system's Postfix untouched)
# configured as the same TLS-enforcing relay as mxguard's outbound side: it accepts plaintext mail from
# 127.0.0.0/8 on its own port and delivers the benchmark's domains to the MX with
# smtp_tls_security_level = verify against the benchmark's CA (chain and host name), TLS 1.2 at least.
#
# What the configuration gives Postfix, and why:
# - transport_maps sends each domain to [127.0.0.1]:MX_PORT, as mxguard's [outbound.route] does: no DNS
#   on either side. The next hop is an address, so smtp_tls_policy_maps names the host the certificate
#   must be for (match=mx.bench.test), where mxguard checks the address the route names.
# - No local queue delays: in_flow_delay = 0 (smtpd never pauses for the queue), and the destination may
#   take as many deliveries at once as the load generator has sessions, from the first message on
#   (initial_destination_concurrency), as mxguard opens one MX connection per client transaction.
# - One TLS connection per delivery: without tlsproxy (smtp_tls_connection_reuse) Postfix does not reuse
#   TLS connections, and smtp_connection_cache_on_demand = no says so explicitly. No TLS session cache,
#   as mxguard keeps none (and the benchmark's MX would not resume anyway).
# - The queue is Postfix's own, on the same file system as the run's directory: a message is fsync'd
#   before the client hears 250, because that is what a queueing MTA promises. Logging stays on (its
#   postlogd writes a file), as mxguard's audit log does.
#
#   postfix_relay_setup DIR PORT MX_PORT CA_FILE MX_NAME CONCURRENCY DOMAIN...   (needs $root, the repository)
#   postfix_relay_start DIR [PREFIX...]      e.g. postfix_relay_start "$dir" taskset -c 0
#   postfix_relay_master_pid DIR
#   postfix_relay_queued DIR                  messages in any queue (0 when everything is delivered)
#   postfix_relay_stop DIR

postfix_relay_setup() {
  local dir=$1 port=$2 mx_port=$3 ca=$4 mx_name=$5 concurrency=$6
  shift 6
  local conf=$dir/conf d
  mkdir -p "$conf" "$dir/queue" "$dir/data"
  chmod 755 "$dir" "$conf"
  chown postfix "$dir/data"
  : >"$dir/maillog"
  cat >"$conf/main.cf" <<CF
# Written by bench/postfix-relay.sh: the benchmark's Postfix as a TLS-enforcing relay.
compatibility_level = 3.6
myhostname = relay.bench.test
mydomain = relay.bench.test
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = bench-relay
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
smtpd_banner = \$myhostname ESMTP bench relay
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = none
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
notify_classes =
biff = no
append_dot_mydomain = no
in_flow_delay = 0s
default_process_limit = $((concurrency * 2 + 50))
default_destination_concurrency_limit = $concurrency
initial_destination_concurrency = $concurrency
default_transport = error:the benchmark relay sends nowhere else
relay_transport = error:the benchmark relay sends nowhere else
transport_maps = texthash:$conf/transport
smtp_dns_support_level = disabled
smtp_helo_name = relay.bench.test
smtp_connection_cache_on_demand = no
smtp_tls_connection_reuse = no
smtp_tls_security_level = verify
smtp_tls_mandatory_protocols = >=TLSv1.2
smtp_tls_CAfile = $ca
smtp_tls_policy_maps = texthash:$conf/tls_policy
smtp_tls_session_cache_database =
smtp_tls_loglevel = 0
CF
  : >"$conf/transport"
  for d in "$@"; do echo "$d smtp:[127.0.0.1]:$mx_port" >>"$conf/transport"; done
  echo "[127.0.0.1]:$mx_port verify match=$mx_name" >"$conf/tls_policy"
  { echo "127.0.0.1:$port inet n - n - - smtpd"
    cat "$root/scripts/postfix-services.cf"
    echo "tlsmgr     unix  -  -  n  1000? 1  tlsmgr"; } >"$conf/master.cf"
  postfix -c "$conf" check
}

postfix_relay_start() {   # DIR [PREFIX...]: the prefix (taskset) is inherited by the master and its children
  local dir=$1
  shift
  "$@" postfix -c "$dir/conf" start >"$dir/start.log" 2>&1 || { cat "$dir/start.log" "$dir/maillog" >&2; return 1; }
  stoppers+=("postfix_relay_stop '$dir'")
  for _ in $(seq 100); do
    [ -s "$dir/queue/pid/master.pid" ] && postfix -c "$dir/conf" status >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  log "Postfix in $dir did not start; see $dir/maillog"
  return 1
}

postfix_relay_master_pid() { tr -d ' \n' <"$1/queue/pid/master.pid"; }

postfix_relay_queued() {
  local q n=0
  for q in maildrop incoming active deferred hold; do
    [ -d "$1/queue/$q" ] && n=$((n + $(find "$1/queue/$q" -type f | wc -l)))
  done
  echo "$n"
}

# The PIDs of live processes of the instance: Postfix's daemons run in its queue directory.
postfix_relay_processes() {
  local queue=$1/queue p cwd
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    case $cwd in "$queue" | "$queue"/*) [ "$(awk '{ sub(/^.*\) /, ""); print $1 }' "$p/stat" 2>/dev/null)" != Z ] && echo "${p#/proc/}" ;; esac
  done
}

postfix_relay_stop() {   # postfix stop, then whatever of the instance is left is killed
  local dir=$1 p
  [ -f "$dir/conf/main.cf" ] || return 0
  postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
  for _ in $(seq 100); do [ -z "$(postfix_relay_processes "$dir")" ] && return 0; sleep 0.1; done
  for p in $(postfix_relay_processes "$dir"); do kill -KILL "$p" 2>/dev/null || true; done
}
