#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install, lint, build, unit + integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Lint and format first: a tree Biome rejects fails here, before the 20 s build.
npm run --silent lint
bash scripts/build.sh
exec node_modules/.bin/vitest run "$@"
