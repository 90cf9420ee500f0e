#!/usr/bin/env bash
# The native addon (native/build/cnikit.node): plain cc against node-api-headers, no node-gyp
# header download. Under a second, and skipped when no C source changed, so the unit tests
# (`npm run test:unit`, whose pretest step runs this) need no full build on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

out=native/build/cnikit.node
sources=(native/cnikit_native.c native/cnikit_unix.c native/cnikit_detached.c)
if [ -f "$out" ]; then
  stale=0
  for input in "${sources[@]}" native/*.h; do
    [ -e "$input" ] && [ "$input" -nt "$out" ] && stale=1
  done
  [ "$stale" = 1 ] || exit 0
fi
mkdir -p native/build
cc -shared -fPIC -O2 -Wall -Wextra -Wno-unused-parameter \
  -I node_modules/node-api-headers/include \
  -o "$out" "${sources[@]}" -pthread
