# Sourced by the demo scripts (demo-backend.sh, demo-remote.sh): what running a private Postfix instance
# takes once its configuration is written.

# Checks and starts the instance in CONF and waits until it runs; on failure shows its log and exits.
postfix_up() {   # CONF LOG
  postfix -c "$1" check
  postfix -c "$1" start >/dev/null 2>&1 || { cat "$2"; exit 1; }
  for _ in $(seq 50); do postfix -c "$1" status >/dev/null 2>&1 && break; sleep 0.1; done
}

postfix_down() {   # CONF
  [ -f "$1/main.cf" ] || return 0
  postfix -c "$1" stop >/dev/null 2>&1 || true
}

# Prints the newest message in a Maildir's new/ folder.
newest_mail() {   # DIR
  local f; f=$(ls -t "$1" 2>/dev/null | head -1)
  [ -n "$f" ] || { echo "no mail in $1" >&2; return 1; }
  cat "$1/$f"
}
