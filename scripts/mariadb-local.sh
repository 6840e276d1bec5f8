#!/usr/bin/env bash
# A private MariaDB 11.8 (with the VECTOR type) for development and tests.
#
# Debian 12 ships MariaDB 10.11, which has no VECTOR type, and the system's
# 10.11 already owns port 3306. This script takes MariaDB 11.8 from Debian
# trixie's packages WITHOUT installing them: it resolves their Depends closure
# with a private apt configuration that reads only trixie, unpacks the .debs with
# dpkg-deb -x into .local/mariadb/root and runs the binaries through trixie's
# own dynamic loader. Nothing outside the repository's .local/ folder is touched.
#
# Usage: scripts/mariadb-local.sh [start|stop|status|url|sql ARGS...]
#   start   provision (first time) and start; returns at once if already running
#   stop    stop the server (by the pid in its pid file)
#   status  print whether it runs; exit 0 if it answers SQL, 3 otherwise
#   url     print the connection URL the tests use
#   sql     run the 11.8 `mariadb` client against it, e.g. sql -e "select version()"
#
# Environment: MARIADB_LOCAL_PORT (default 3307).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL_BASE="$REPO/.local"
BASE="$LOCAL_BASE/mariadb"            # unpacked binaries, data, config, logs
CACHE="$LOCAL_BASE/cache/mariadb-trixie" # apt lists and downloaded .debs
ROOT="$BASE/root"
DATA="$BASE/data"
RUN="$BASE/run"
LOGDIR="$BASE/log"
TMPD="$BASE/tmp"
CNF="$BASE/my.cnf"
PIDFILE="$RUN/mariadbd.pid"
ERRLOG="$LOGDIR/error.log"
PORT="${MARIADB_LOCAL_PORT:-3307}"
DATABASE=vector_gateway
LIB="$ROOT/usr/lib/x86_64-linux-gnu"
LOADER="$LIB/ld-linux-x86-64.so.2"
PACKAGES=(mariadb-server-core mariadb-client-core)

# Unix sockets are limited to 107 bytes: fall back to /tmp for deep checkouts.
SOCKET="$RUN/mariadbd.sock"
if [ "${#SOCKET}" -gt 100 ]; then
  SOCKET="/tmp/vector-gateway-mariadb-$(printf '%s' "$REPO" | md5sum | cut -c1-12).sock"
fi

log() { printf '[mariadb-local] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Run an 11.8 binary through trixie's loader (plain exec fails: bookworm's libc is too old).
run_bin() {
  local bin=$1; shift
  "$LOADER" --library-path "$LIB" "$ROOT/usr/$bin" "$@"
}

client() { run_bin bin/mariadb --defaults-file="$CNF" "$@"; }

# ---------------------------------------------------------------- provisioning

# The Debian archive URI, read from the system's own apt sources (never hard-coded).
debian_mirror() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } else break } }' \
      /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources.list.d/debian.sources"
  printf '%s\n' "${uri%/}"
}

APT_OPTS=()
setup_apt() {
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || die "missing $keyring (package debian-archive-keyring)"
  mkdir -p "$CACHE/etc" "$CACHE/lists/partial" "$CACHE/apt-cache/archives/partial" "$CACHE/debs"
  : >"$CACHE/status"
  printf 'deb [signed-by=%s] %s trixie main\n' "$keyring" "$(debian_mirror)" >"$CACHE/etc/sources.list"
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$CACHE/etc/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State::Lists=$CACHE/lists"
    -o "Dir::State::status=$CACHE/status"
    -o "Dir::Cache=$CACHE/apt-cache"
    -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none"
    -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
    -o "Debug::NoLocking=true"
  )
}

# Download the Depends closure of the server and client into $CACHE/debs
# (skipped when a complete download from an earlier run is there).
download_debs() {
  local manifest="$CACHE/debs/MANIFEST"
  if [ -s "$manifest" ]; then
    local missing=0 f
    while read -r f; do [ -s "$CACHE/debs/$f" ] || missing=1; done <"$manifest"
    if [ "$missing" = 0 ]; then
      log "using cached packages ($(wc -l <"$manifest") .debs in ${CACHE#"$REPO"/}/debs)"
      return
    fi
  fi
  command -v apt-get >/dev/null || die "apt-get is required"
  setup_apt
  log "apt-get update (private config, trixie only)"
  apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update for trixie failed"
  local pkgs
  pkgs=$(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests \
           --no-conflicts --no-breaks --no-replaces --no-enhances "${PACKAGES[@]}" \
         | grep -v '^ ' | grep -v '^<' | sort -u)
  [ -n "$pkgs" ] || die "could not resolve the dependencies of ${PACKAGES[*]}"
  log "downloading $(wc -w <<<"$pkgs") packages from trixie"
  rm -f "$CACHE/debs/"*.deb "$manifest"
  # shellcheck disable=SC2086
  (cd "$CACHE/debs" && apt-get "${APT_OPTS[@]}" -qq download $pkgs >&2) || die "apt-get download failed"
  (cd "$CACHE/debs" && ls -1 -- *.deb) >"$manifest.tmp"
  mv "$manifest.tmp" "$manifest"
}

unpack() {
  log "unpacking into ${ROOT#"$REPO"/}"
  rm -rf "$ROOT.tmp"
  mkdir -p "$ROOT.tmp"
  local f
  while read -r f; do dpkg-deb -x "$CACHE/debs/$f" "$ROOT.tmp"; done <"$CACHE/debs/MANIFEST"
  [ -x "$ROOT.tmp/usr/sbin/mariadbd" ] || die "mariadbd missing after unpacking"
  [ -e "$ROOT.tmp/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] || die "trixie's loader missing after unpacking"
  rm -rf "$ROOT"
  mv "$ROOT.tmp" "$ROOT"
}

write_cnf() {
  mkdir -p "$RUN" "$LOGDIR" "$TMPD"
  local user_line=""
  [ "$(id -u)" = 0 ] && user_line="user = root"
  cat >"$CNF.tmp" <<EOF
# Generated by scripts/mariadb-local.sh: edits are overwritten at the next start.
[mariadbd]
$user_line
basedir = $ROOT/usr
datadir = $DATA
tmpdir = $TMPD
lc-messages-dir = $ROOT/usr/share/mariadb
character-sets-dir = $ROOT/usr/share/mariadb/charsets
plugin-dir = $ROOT/usr/lib/mysql/plugin
port = $PORT
bind-address = 127.0.0.1
socket = $SOCKET
pid-file = $PIDFILE
log-error = $ERRLOG
skip-name-resolve
skip-log-bin
# vector work: keep HNSW graphs and the table data in memory, allow big batches
mhnsw_max_cache_size = 1G
innodb_buffer_pool_size = 1G
max_allowed_packet = 256M
max_connections = 500

[client]
user = root
port = $PORT
socket = $SOCKET
max_allowed_packet = 256M
EOF
  mv "$CNF.tmp" "$CNF"
}

# Create the system tables without mariadb-install-db (which would run the system's binaries).
bootstrap() {
  log "initialising the data directory"
  rm -rf "$DATA"
  mkdir -p "$DATA"
  local s="$ROOT/usr/share/mariadb" f
  for f in mariadb_system_tables mariadb_performance_tables mariadb_system_tables_data \
           fill_help_tables maria_add_gis_sp_bootstrap mariadb_sys_schema; do
    [ -r "$s/$f.sql" ] || die "missing $s/$f.sql"
  done
  if ! {
    printf 'create database if not exists mysql;\nuse mysql;\nSET @auth_root_socket=NULL;\n'
    for f in mariadb_system_tables mariadb_performance_tables mariadb_system_tables_data \
             fill_help_tables maria_add_gis_sp_bootstrap mariadb_sys_schema; do
      grep -v '@current_hostname' "$s/$f.sql"
    done
  } | run_bin sbin/mariadbd --defaults-file="$CNF" --bootstrap --log-error="$LOGDIR/bootstrap.log" >>"$LOGDIR/bootstrap.log" 2>&1
  then
    tail -n 30 "$LOGDIR/bootstrap.log" >&2 || true
    die "bootstrap of the data directory failed (log: $LOGDIR/bootstrap.log)"
  fi
  touch "$DATA/.vector-gateway-bootstrapped"
}

provision() {
  if [ ! -x "$ROOT/usr/sbin/mariadbd" ] || [ ! -e "$LOADER" ]; then
    download_debs
    unpack
  fi
  write_cnf
  [ -e "$DATA/.vector-gateway-bootstrapped" ] || bootstrap
}

# ---------------------------------------------------------------- process state

# The pid from the pid file, if that process is alive and really is our server.
server_pid() {
  [ -s "$PIDFILE" ] || return 1
  local pid
  pid=$(tr -dc '0-9' <"$PIDFILE")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--defaults-file=$CNF" || return 1
  printf '%s\n' "$pid"
}

# true if the process exists and is not a zombie
alive() {
  [ -n "${1:-}" ] || return 1
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

answers_sql() {
  [ -e "$CNF" ] && [ -e "$LOADER" ] || return 1
  client --protocol=TCP --host=127.0.0.1 --port="$PORT" --user=root --connect-timeout=2 \
    -N -B -e 'SELECT 1' >/dev/null 2>&1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

print_log_tail() {
  if [ -s "$ERRLOG" ]; then
    log "last lines of $ERRLOG:"
    tail -n 25 "$ERRLOG" >&2
  fi
}

# Accounts and database the project uses (idempotent, run through the socket).
setup_accounts() {
  client --protocol=SOCKET --user=root -N -B <<SQL
CREATE DATABASE IF NOT EXISTS \`$DATABASE\`;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
CREATE USER IF NOT EXISTS 'root'@'::1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'root'@'::1' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'127.0.0.1' WITH GRANT OPTION;
SQL
}

# ---------------------------------------------------------------- commands

cmd_start() {
  mkdir -p "$LOCAL_BASE"
  exec 9>"$LOCAL_BASE/mariadb-local.lock"
  flock -w 600 9 || die "another mariadb-local.sh holds $LOCAL_BASE/mariadb-local.lock"

  local t0=$SECONDS pid bgpid=""
  if pid=$(server_pid) && answers_sql; then
    log "already running (pid $pid, port $PORT)"
    return 0
  fi
  if pid=$(server_pid); then
    local running_port
    running_port=$(awk '$1=="port" { print $3; exit }' "$CNF")
    if [ "$running_port" != "$PORT" ]; then
      die "already running on port $running_port (pid $pid); run 'scripts/mariadb-local.sh stop' first to change the port"
    fi
    log "pid $pid exists but does not answer on 127.0.0.1:$PORT yet; waiting for it"
  else
    rm -f "$PIDFILE"
    provision
    if port_busy "$PORT"; then
      die "port $PORT on 127.0.0.1 is already used by another process; set MARIADB_LOCAL_PORT to a free port"
    fi
    [ "$SOCKET" = "$RUN/mariadbd.sock" ] || rm -f "$SOCKET"
    log "starting MariaDB on 127.0.0.1:$PORT"
    # setsid: own session, so it outlives the shell that started it; fd 9 (the lock) is not inherited.
    setsid "$LOADER" --library-path "$LIB" "$ROOT/usr/sbin/mariadbd" --defaults-file="$CNF" \
      </dev/null >>"$LOGDIR/stdout.log" 2>&1 9>&- &
    bgpid=$!
  fi

  local deadline=$((SECONDS + ${MARIADB_LOCAL_TIMEOUT:-60}))
  until client --protocol=SOCKET --user=root --connect-timeout=2 -N -B -e 'SELECT 1' >/dev/null 2>&1; do
    if ! server_pid >/dev/null && ! alive "$bgpid"; then
      print_log_tail
      die "mariadbd exited during start-up"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      print_log_tail
      die "MariaDB did not answer within ${MARIADB_LOCAL_TIMEOUT:-60}s"
    fi
    sleep 0.1
  done
  setup_accounts || { print_log_tail; die "could not create the database and accounts"; }
  answers_sql || { print_log_tail; die "MariaDB answers on its socket but not on 127.0.0.1:$PORT"; }
  log "ready in $((SECONDS - t0))s: $(client -N -B -e 'SELECT VERSION()') on 127.0.0.1:$PORT (pid $(server_pid))"
}

cmd_stop() {
  local pid
  if ! pid=$(server_pid); then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "stopping pid $pid"
  kill -TERM "$pid"
  local i
  for ((i = 0; i < 600; i++)); do
    [ -d "/proc/$pid" ] || { log "stopped"; return 0; }
    sleep 0.1
  done
  log "pid $pid did not stop after 60s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_status() {
  local pid
  if pid=$(server_pid); then
    if answers_sql; then
      echo "running: pid $pid, $(client -N -B -e 'SELECT VERSION()'), mariadb://root@127.0.0.1:$PORT/$DATABASE"
      return 0
    fi
    echo "pid $pid alive but not answering on 127.0.0.1:$PORT"
    return 3
  fi
  if [ -x "$ROOT/usr/sbin/mariadbd" ]; then echo "stopped (provisioned in ${BASE#"$REPO"/})"; else echo "not provisioned"; fi
  return 3
}

cmd_sql() {
  [ -e "$CNF" ] && [ -e "$LOADER" ] || die "not provisioned: run scripts/mariadb-local.sh start first"
  exec "$LOADER" --library-path "$LIB" "$ROOT/usr/bin/mariadb" --defaults-file="$CNF" "$@"
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) echo "mariadb://root@127.0.0.1:$PORT/$DATABASE" ;;
  sql) shift; cmd_sql "$@" ;;
  -h|--help|help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (use start, stop, status, url or sql)" ;;
esac
