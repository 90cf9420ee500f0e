#!/usr/bin/env bash
# Builds everything offline: type-check, native addon from local headers, the JS for
# node, the single compiled executable, and the C front end its plugin links point to.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=node_modules/.bin
[ -x "$bin/tsc" ] || { echo "run 'npm ci' first" >&2; exit 1; }

# The build id pairs a front end with the daemon of its own build (src/daemon/PROTOCOL.md: a
# daemon of another build answers "N B" and the call runs standalone). It is computed before
# anything is compiled, from the contents of every input rather than from git, so that an
# uncommitted change makes a new id too; native/build and the generated validators are outputs.
CNIKIT_BUILD_ID=$(find src plugins ipam native scripts package.json package-lock.json tsconfig.json tsconfig.build.json \
  -path native/build -prune -o -type f ! -name '*.validate.js' ! -name '*.validate.d.ts' -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
export CNIKIT_BUILD_ID
# What the about line and `cnikit --version` print (src/cni/build-version.ts): the package
# version and the commit, marked -dirty when tracked files differ from it. Not part of the
# build id: a daemon of the same sources serves whatever commit they were committed in.
CNIKIT_VERSION=$(node -p 'require("./package.json").version')
CNIKIT_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$CNIKIT_COMMIT" != unknown ] && ! git diff --quiet HEAD --; then CNIKIT_COMMIT="$CNIKIT_COMMIT-dirty"; fi

bash scripts/build-native.sh

# Standalone validators: schemas are compiled here, never at plugin start-up.
node scripts/compile-schemas.js
# etcd3's gRPC definitions as JSON, embedded by the compiler (src/overlay/etcd-protos.ts).
node scripts/etcd-descriptor.js

"$bin/tsc" -p tsconfig.json --noEmit
rm -rf dist/js
"$bin/tsc" -p tsconfig.build.json
mkdir -p dist/js/native/build
cp native/build/cnikit.node dist/js/native/build/
# tsc emits only .ts sources; the generated validators ride along as they are.
find plugins ipam -name '*.validate.js' | while read -r validator; do
  cp "$validator" "dist/js/$validator"
done

mkdir -p dist/bin
# --bytecode: the bundle (CLI, etcd client...) is parsed at every start otherwise; measured
# VERSION start-up 30.9 ms without, 11.5 ms with (hyperfine, 80 runs; Go bridge 3.0 ms).
# --compile-jit-policy=1000: a plugin lives for milliseconds, so tiering code up to the JIT
# is wasted work; measured VERSION 8.8 -> 8.2 ms and bridge ADD 18.9 -> 17.6 ms (150/60 runs),
# mostly less system time. (--compile-exec-argv=--smol was slower: 9.8 ms.) The daemon, which
# lives for days, sets the normal policy back at start (src/daemon/daemon.ts).
# src/daemon/worker.ts is a second entry point: the daemon's worker threads start from it.
"$bin/bun" build --compile --bytecode --compile-jit-policy=1000 --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --define "CNIKIT_BUILD_ID=\"$CNIKIT_BUILD_ID\"" \
  --define "CNIKIT_VERSION=\"$CNIKIT_VERSION\"" --define "CNIKIT_COMMIT=\"$CNIKIT_COMMIT\"" \
  --outfile dist/bin/cnikit src/main.ts src/daemon/worker.ts >/dev/null
# Fallback for hosts whose $TMPDIR is noexec (Bun cannot extract the embedded addon there).
cp native/build/cnikit.node dist/bin/cnikit.node
# The front end the plugin names point to (native/cnikit_front.c): it hands a call to the
# resident `cnikit daemon` of this network namespace, or execs cnikit when none serves it.
# Static, because it runs before every plugin call and static glibc skips the dynamic loader:
# measured with hyperfine -N (four rounds of 2000-3000 runs), with no daemon and a trivial
# program in cnikit's place 0.71-0.96 ms static vs 1.00-1.29 ms dynamic, 0.23-0.37 ms less
# in every round (the trivial program alone: 0.47-0.60 ms); answered by a fake daemon
# 0.50-0.71 vs 0.88-1.46 ms. (With no daemon, the real cnikit VERSION behind it takes
# 8-11 ms either way, and the difference is lost in its noise.)
cc -static -O2 -Wall -Wextra -DCNIKIT_BUILD_ID="\"$CNIKIT_BUILD_ID\"" \
  -o dist/bin/cnikit-front native/cnikit_front.c
for plugin in bridge veth vxlan-overlay host-local; do
  ln -sfn cnikit-front "dist/bin/$plugin"
done
echo "$CNIKIT_BUILD_ID" >dist/bin/BUILD_ID
echo "built dist/bin/cnikit and dist/bin/cnikit-front (bridge, veth, vxlan-overlay, host-local), build $CNIKIT_BUILD_ID"
