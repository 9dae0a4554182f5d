#!/usr/bin/env bash
# The one command that runs every test of the project on a fresh Debian machine (as root):
#   1. installs what is missing (Debian's Chromium for the browser and interop tests, Debian's PostgreSQL and HAProxy),
#   2. builds the solution in Release,
#   3. starts a throwaway PostgreSQL cluster (stopped and removed at the end, even on failure),
#   4. runs the .NET tests (unit + integration) on SQLite, then again on PostgreSQL,
#   5. runs the interop tests (npm openid-client against the real server process).
# Any failure stops the run with a non-zero exit code.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO_ROOT="$(pwd)"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DEBIAN_FRONTEND=noninteractive

CHROMIUM=/usr/bin/chromium
PHASE="start"

banner() {
  PHASE="$1"
  printf '\n==============================================================================\n'
  printf '== %s\n' "$1"
  printf '==============================================================================\n'
}

die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# This run's temp folder (the tests' databases, clusters and server folders go under it through TMPDIR); traversable, so the
# postgres user can reach the clusters made inside it.
RUN_TMP="$(mktemp -d /tmp/idsrv-run-XXXXXX)"
chmod 711 "$RUN_TMP"
export TMPDIR="$RUN_TMP"

PG_DIR=""
on_exit() {
  local status=$?
  if [ -n "$PG_DIR" ]; then "$REPO_ROOT/scripts/postgres.sh" stop "$PG_DIR" || true; fi
  # Clusters the tests start themselves (multi-node, health, store specification) live in this run's own temp folder; they are
  # left there only when a test was killed. Other runs' and people's clusters are elsewhere and untouched.
  for d in "$RUN_TMP"/idsrv-cluster-*; do [ -d "$d" ] && "$REPO_ROOT/scripts/cluster.sh" down "$d" >/dev/null 2>&1 || true; done
  for d in "$RUN_TMP"/idsrv-pg-*; do [ -d "$d" ] && "$REPO_ROOT/scripts/postgres.sh" stop "$d" >/dev/null 2>&1 || true; done
  rm -rf "$RUN_TMP"
  if [ "$status" -ne 0 ]; then
    printf '\nFAILED in phase: %s (exit code %s)\n' "$PHASE" "$status" >&2
  fi
}
trap on_exit EXIT

banner "Prerequisites"
command -v dotnet >/dev/null 2>&1 || die "dotnet (the .NET 10 SDK) is not on PATH"
command -v node >/dev/null 2>&1 || die "node (Node.js 20 or later) is not on PATH"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or later is needed, found $(node --version)"

if [ ! -x "$CHROMIUM" ]; then
  echo "$CHROMIUM is missing: installing Debian's chromium"
  [ "$(id -u)" -eq 0 ] || die "installing chromium needs root (apt-get)"
  apt-get update || die "apt-get update failed"
  apt-get install -y chromium || die "apt-get install chromium failed"
  [ -x "$CHROMIUM" ] || die "chromium was installed but $CHROMIUM does not exist"
fi
# PostgreSQL (the second provider, and the multi-node test's database) and HAProxy (the multi-node test's TLS proxy).
"$REPO_ROOT/scripts/cluster.sh" install || die "installing postgresql and haproxy failed"
echo "dotnet   $(dotnet --version)"
echo "node     $(node --version), npm $(npm --version 2>/dev/null)"
echo "chromium $("$CHROMIUM" --version 2>/dev/null || echo '(version unknown)')"

banner "Build: dotnet build IdentityServer.sln -c Release"
dotnet build IdentityServer.sln -c Release

banner "Tests: dotnet test (unit + integration) on SQLite"
dotnet test IdentityServer.sln -c Release --no-build --logger "console;verbosity=normal"

banner "Tests: dotnet test (unit + integration) on PostgreSQL"
PG_DIR="$(mktemp -d /tmp/idsrv-pg-XXXXXX)"
PG_PORT="$("$REPO_ROOT/scripts/postgres.sh" freeport)"
IDSRV_TEST_POSTGRES="$(PG_NO_FSYNC=1 "$REPO_ROOT/scripts/postgres.sh" start "$PG_DIR" "$PG_PORT")"
export IDSRV_TEST_POSTGRES
echo "PostgreSQL: $IDSRV_TEST_POSTGRES"
dotnet test IdentityServer.sln -c Release --no-build --logger "console;verbosity=normal"
unset IDSRV_TEST_POSTGRES

banner "Tests: interop (openid-client + Chromium against the real server)"
cd "$REPO_ROOT/tests/interop"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
npm test

PHASE="done"
banner "All tests passed"
