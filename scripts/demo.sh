#!/usr/bin/env bash
# Quick start: build, then show that every plugin answers VERSION through the compiled executable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
for plugin in bridge veth vxlan-overlay host-local; do
  printf '%-14s ' "$plugin"
  echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION "dist/bin/$plugin"
  echo
done
