#!/usr/bin/env bash
# Runs the side-by-side benchmark (bench.mjs): installs autocannon and oidc-provider, publishes the Release server ReadyToRun
# (as the Dockerfile does), starts PostgreSQL if its binaries are installed, measures our server against node-oidc-provider.
#   ./bench/run.sh [--duration 10] [--warmup 15] [--connections 32] [--rounds 1] [--only cc,es256,refresh,introspect,discovery,jwks,signin]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet publish src/IdentityServer/IdentityServer.csproj -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
  -o bench/.publish --nologo -v quiet >/dev/null
cd bench
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
exec node bench.mjs --dll "$(pwd)/.publish/IdentityServer.dll" "$@"
