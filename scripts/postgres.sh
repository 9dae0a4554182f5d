#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and the local cluster (scripts/test.sh, scripts/cluster.sh).
#   scripts/postgres.sh install          installs Debian's postgresql if its binaries are missing (needs root)
#   scripts/postgres.sh start DIR PORT   initdb into DIR (new, empty) and start the server on 127.0.0.1:PORT, trust auth;
#                                        prints the base connection string (Host=127.0.0.1;Port=PORT;Username=postgres)
#                                        (when DIR already holds a cluster, it is started again as it was)
#   scripts/postgres.sh halt DIR         stops the server of DIR (fast shutdown) and keeps its data, to start it again later
#   scripts/postgres.sh stop DIR         stops the server of DIR (fast shutdown) and removes DIR
#   scripts/postgres.sh freeport         prints a TCP port nothing listens on at 127.0.0.1
# With PG_NO_FSYNC=1 the cluster skips fsync (for test suites: faster, and nothing in it needs to survive a crash).
# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' system user the package creates.
set -euo pipefail

bindir() {
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] || { echo "PostgreSQL binaries not found (run: scripts/postgres.sh install)" >&2; exit 1; }
  echo "$d"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  install)
    if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then exit 0; fi
    [ "$(id -u)" -eq 0 ] || { echo "installing postgresql needs root (apt-get)" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y postgresql
    # The package starts a system cluster on 5432; tests use their own clusters, so it is not needed.
    (command -v pg_ctlcluster >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | while read -r v n; do pg_ctlcluster "$v" "$n" stop || true; done) || true
    ;;
  start)
    dir="${2:?DIR}"; port="${3:?PORT}"
    bin="$(bindir)"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    extra=""
    [ "${PG_NO_FSYNC:-0}" = "1" ] && extra="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300 $extra" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "Host=127.0.0.1;Port=$port;Username=postgres"
    ;;
  halt)
    dir="${2:?DIR}"
    bin="$(bindir)"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  stop)
    dir="${2:?DIR}"
    bin="$(bindir)"
    if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  freeport)
    for port in $(shuf -i 20000-60000 -n 50); do
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; exit 0; fi
    done
    echo "no free port found" >&2; exit 1
    ;;
  *)
    echo "usage: $0 install | start DIR PORT | halt DIR | stop DIR | freeport" >&2
    exit 2
    ;;
esac
