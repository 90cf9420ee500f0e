#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install, build, unit + integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node_modules/.bin/vitest run "$@"
