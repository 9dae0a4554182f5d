#!/usr/bin/env bash
# Runs the token-endpoint benchmark (bench.mjs) on the Release build: installs autocannon, builds, measures.
#   ./bench/run.sh [--duration 20] [--warmup 5] [--connections 32]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/IdentityServer/IdentityServer.csproj -c Release --nologo -v quiet >/dev/null
cd bench
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
exec node bench.mjs "$@"
