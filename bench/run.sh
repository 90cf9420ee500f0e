#!/usr/bin/env bash
# Runs the benchmarks side by side with the Go reference plugins and writes
# BENCHMARKS.md. Root is needed for the benchmarks that use network namespaces.
# Usage: bash bench/run.sh [--runs N] [--warmup N] [benchmark id...]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v ip >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}" >&2
  # An offline or failing index update must not stop us when the packages can still be installed.
  apt-get update -qq >/dev/null || echo "bench: apt-get update failed, trying the install anyway" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x dist/bin/cnikit ] || [ ! -f dist/js/src/main.js ]; then
  bash scripts/build.sh
fi

exec node_modules/.bin/bun bench/main.ts "$@"
