#!/usr/bin/env bash
# Quick start: install, build, bring up the default lab (2 hosts x 2 containers on a
# vxlan-overlay network, all network namespaces), probe every pair of containers, and
# take the lab down again. `--keep` leaves it up for `dist/bin/cnikit inspect lab` & co.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true

bash scripts/setup.sh
bash scripts/build.sh
cnikit=dist/bin/cnikit
"$cnikit" lab up
status=0
"$cnikit" probe --lab || status=$?
if $keep; then
  echo "lab left up: try '$cnikit inspect lab', '$cnikit lab diagram', then '$cnikit lab down'"
else
  "$cnikit" lab down
fi
exit "$status"
