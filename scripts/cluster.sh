#!/usr/bin/env bash
# The production topology on one machine, without containers (the same shape as docker-compose.yml):
# one PostgreSQL, two stateless server nodes, and HAProxy terminating TLS in front of them.
#
#   scripts/cluster.sh install       installs Debian's postgresql and haproxy if they are missing (needs root)
#   scripts/cluster.sh up DIR        builds the Release server if needed and starts everything; state and logs go to DIR (new)
#   scripts/cluster.sh nodes-stop DIR    stops both server nodes (SIGTERM: in-flight requests finish), keeps the rest
#   scripts/cluster.sh nodes-start DIR   starts both server nodes again, at once, and waits until both are ready
#   scripts/cluster.sh down DIR      stops everything and removes DIR
#
# `up` prints, and writes to DIR/cluster.env, the issuer (https://localhost:PORT, the proxy), both nodes' own addresses, the
# PostgreSQL connection string and the proxy's certificate (self-signed, DIR/tls.crt). Settings for the nodes are taken from
# the environment as usual (IdentityServer__Clients__0__ClientId=…); the script sets only the issuer, the database and the ports.
# Optional: CLUSTER_PORT (the proxy's port; default a free one), CLUSTER_CONFIGURATION (Release).
#
# The nodes listen on 127.0.0.1 only, so only the proxy (and local probes) reach them; they trust X-Forwarded-* from loopback
# only, which is the proxy. The proxy replaces any X-Forwarded-For a client sends, sends no traffic to a node whose
# /health/ready is not 200, and does not pass /metrics on (scrape each node directly).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CONFIGURATION="${CLUSTER_CONFIGURATION:-Release}"
DLL="$ROOT/src/IdentityServer/bin/$CONFIGURATION/net10.0/IdentityServer.dll"

die() { echo "cluster.sh: $*" >&2; exit 1; }

haproxy_bin() {
  command -v haproxy 2>/dev/null || { [ -x /usr/sbin/haproxy ] && echo /usr/sbin/haproxy; } || die "haproxy not found (run: scripts/cluster.sh install)"
}

wait_ready() { # URL SECONDS [PIDFILE]
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1/health/ready" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    if [ -n "${3:-}" ] && ! kill -0 "$(cat "$3")" 2>/dev/null; then return 1; fi
    sleep 0.3
  done
}

start_node() { # DIR N
  local dir="$1" n="$2"
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  local port_var="NODE${n}_PORT"
  (
    export ASPNETCORE_URLS="http://127.0.0.1:${!port_var}"
    export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Production}"
    export IdentityServer__Issuer="$ISSUER"
    export IdentityServer__Database__Provider=PostgreSql
    export IdentityServer__Database__ConnectionString="$DATABASE"
    cd "$(dirname "$DLL")"
    exec nohup dotnet "$DLL" >>"$dir/node$n.log" 2>&1
  ) &
  echo $! >"$dir/node$n.pid"
}

stop_node() { # DIR N
  local pidfile="$1/node$2.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

nodes_start() { # DIR
  local dir="$1"
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  start_node "$dir" 1
  start_node "$dir" 2
  wait_ready "$NODE1" 90 "$dir/node1.pid" || { tail -50 "$dir/node1.log" >&2; die "node 1 did not become ready"; }
  wait_ready "$NODE2" 90 "$dir/node2.pid" || { tail -50 "$dir/node2.log" >&2; die "node 2 did not become ready"; }
}

case "${1:-}" in
  install)
    "$ROOT/scripts/postgres.sh" install
    if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
      [ "$(id -u)" -eq 0 ] || die "installing haproxy needs root (apt-get)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y --no-install-recommends haproxy || { apt-get update && apt-get install -y --no-install-recommends haproxy; }
      # The package may start its own service on the default configuration; the cluster runs its own instance.
      (command -v service >/dev/null 2>&1 && service haproxy stop) >/dev/null 2>&1 || true
    fi
    for tool in curl openssl; do
      command -v "$tool" >/dev/null 2>&1 && continue
      [ "$(id -u)" -eq 0 ] || die "installing $tool needs root (apt-get)"
      apt-get update && apt-get install -y --no-install-recommends "$tool"
    done
    ;;
  up)
    dir="${2:?DIR}"
    [ ! -e "$dir" ] || die "$dir exists; choose a new folder (or run: scripts/cluster.sh down $dir)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    trap 'status=$?; if [ $status -ne 0 ]; then "$0" down "$dir" >/dev/null 2>&1 || true; fi' EXIT
    haproxy="$(haproxy_bin)"
    [ -f "$DLL" ] || dotnet build "$ROOT/src/IdentityServer" -c "$CONFIGURATION" -v q -nologo >/dev/null

    freeport() { local p; while :; do p="$("$ROOT/scripts/postgres.sh" freeport)"; [[ " ${USED:-} " == *" $p "* ]] || { USED="${USED:-} $p"; echo "$p"; return; }; done; }
    USED=""
    pg_port="$(freeport)"; USED="$USED $pg_port"
    node1_port="$(freeport)"; USED="$USED $node1_port"
    node2_port="$(freeport)"; USED="$USED $node2_port"
    proxy_port="${CLUSTER_PORT:-$(freeport)}"

    pg="$("$ROOT/scripts/postgres.sh" start "$dir/pg" "$pg_port")"
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$dir/tls.key" -out "$dir/tls.crt" >/dev/null 2>&1
    cat "$dir/tls.crt" "$dir/tls.key" >"$dir/tls.pem"
    cat >"$dir/cluster.env" <<EOF
ISSUER=https://localhost:$proxy_port
PROXY_PORT=$proxy_port
NODE1=http://127.0.0.1:$node1_port
NODE1_PORT=$node1_port
NODE2=http://127.0.0.1:$node2_port
NODE2_PORT=$node2_port
DATABASE='$pg;Database=identityserver'
POSTGRES='$pg'
CERTIFICATE=$dir/tls.crt
EOF
    # shellcheck disable=SC1091
    . "$dir/cluster.env"

    # The schema once, before any node starts (nodes migrate at start-up too, but one migrator is the rule in production).
    (cd "$(dirname "$DLL")" && IdentityServer__Issuer="$ISSUER" IdentityServer__Database__Provider=PostgreSql \
      IdentityServer__Database__ConnectionString="$DATABASE" ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Production}" \
      dotnet "$DLL" migrate >"$dir/migrate.log" 2>&1) || { cat "$dir/migrate.log" >&2; die "migrate failed"; }
    nodes_start "$dir"

    cat >"$dir/haproxy.cfg" <<EOF
global
  pidfile $dir/haproxy.pid
  # normalize-uri (below) is still marked experimental in HAProxy 2.6, Debian 12's version.
  expose-experimental-directives
  daemon
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-server-close

frontend https
  bind 127.0.0.1:$proxy_port ssl crt $dir/tls.pem
  # What the nodes believe: the client's address as the proxy saw it, and that the request came over TLS.
  http-request del-header X-Forwarded-For
  http-request set-header X-Forwarded-Proto https
  option forwardfor
  # Decoded and lower-cased, as the nodes compare paths: /METRICS or /%6Detrics are refused too.
  http-request normalize-uri path-strip-dot
  http-request normalize-uri path-strip-dotdot
  http-request normalize-uri path-merge-slashes
  http-request return status 404 if { path,url_dec,lower -m beg /metrics }
  default_backend nodes

backend nodes
  balance roundrobin
  option httpchk GET /health/ready
  http-check expect status 200
  default-server check inter 2s fall 2 rise 1
  server node1 127.0.0.1:$node1_port
  server node2 127.0.0.1:$node2_port
EOF
    "$haproxy" -c -f "$dir/haproxy.cfg" >/dev/null || die "haproxy configuration invalid"
    "$haproxy" -f "$dir/haproxy.cfg"
    deadline=$((SECONDS + 30))
    until curl -fsS --cacert "$dir/tls.crt" -o /dev/null "$ISSUER/health/ready" 2>/dev/null; do
      [ $SECONDS -lt $deadline ] || die "the proxy does not answer on $ISSUER"
      sleep 0.3
    done
    trap - EXIT
    cat "$dir/cluster.env"
    ;;
  nodes-stop)
    dir="${2:?DIR}"
    stop_node "$dir" 1 & stop_node "$dir" 2 & wait
    ;;
  nodes-start)
    dir="${2:?DIR}"
    # A node that does not become ready is not left running.
    trap 'status=$?; if [ $status -ne 0 ]; then stop_node "$dir" 1 || true; stop_node "$dir" 2 || true; fi' EXIT
    nodes_start "$dir"
    trap - EXIT
    ;;
  down)
    dir="${2:?DIR}"
    [ -d "$dir" ] || exit 0
    if [ -f "$dir/haproxy.pid" ]; then kill "$(cat "$dir/haproxy.pid")" 2>/dev/null || true; fi
    stop_node "$dir" 1 & stop_node "$dir" 2 & wait
    "$ROOT/scripts/postgres.sh" stop "$dir/pg" || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 install | up DIR | nodes-stop DIR | nodes-start DIR | down DIR" >&2
    exit 2
    ;;
esac
