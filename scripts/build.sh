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
# uncommitted change makes a new id too; native/build, the generated validators and the etcd
# descriptor (*.generated.json) are outputs.
CNIKIT_BUILD_ID=$(find src plugins overlay ipam native scripts package.json package-lock.json tsconfig.json tsconfig.build.json \
  -path native/build -prune -o -type f ! -name '*.validate.js' ! -name '*.validate.d.ts' ! -name '*.generated.json' -print0 |
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
# etcd3's gRPC definitions as JSON, embedded by the compiler (overlay/membership/etcd-protos.ts).
node scripts/etcd-descriptor.js

"$bin/tsc" -p tsconfig.json --noEmit
rm -rf dist/js
"$bin/tsc" -p tsconfig.build.json
mkdir -p dist/js/native/build
cp native/build/cnikit.node dist/js/native/build/
# tsc emits only .ts sources; the generated validators and descriptor ride along as they are.
find plugins overlay ipam -name '*.validate.js' | while read -r validator; do
  cp "$validator" "dist/js/$validator"
done
cp overlay/membership/etcd-rpc.generated.json dist/js/overlay/membership/

# Two executables from the same sources and native objects: the shipped dist/bin, and
# dist/test-bin, the test build, the only one with the crash and trace hooks of
# src/cni/test-hooks.ts (CNIKIT_TEST_HOOKS=true; false here makes Bun drop them). The test
# build has its own build id, so its front end and daemons never pair with shipped ones.
# The test build costs one more compile and front end: measured 2.7 s and 0.9 s (the build
# is mostly tsc); side by side they saved nothing on this 2-core machine, so one after the other.
# $1 the directory, $2 its build id, $3 whether the test hooks are compiled in.
build_executable() {
  local dir=$1 build_id=$2 test_hooks=$3
  mkdir -p "$dir"
  # --bytecode: the bundle (CLI, etcd client...) is parsed at every start otherwise; measured
  # VERSION start-up 30.9 ms without, 11.5 ms with (hyperfine, 80 runs; Go bridge 3.0 ms).
  # --compile-jit-policy=1000: a plugin lives for milliseconds, so tiering code up to the JIT
  # is wasted work; measured VERSION 8.8 -> 8.2 ms and bridge ADD 18.9 -> 17.6 ms (150/60 runs),
  # mostly less system time. (--compile-exec-argv=--smol was slower: 9.8 ms.) The daemon's
  # workers, which live for days, run the normal policy and warm up instead (src/daemon/jit.ts).
  # src/daemon/worker.ts is a second entry point: the daemon's worker threads start from it.
  "$bin/bun" build --compile --bytecode --compile-jit-policy=1000 --no-compile-autoload-dotenv \
    --no-compile-autoload-bunfig --define "CNIKIT_BUILD_ID=\"$build_id\"" \
    --define "CNIKIT_VERSION=\"$CNIKIT_VERSION\"" --define "CNIKIT_COMMIT=\"$CNIKIT_COMMIT\"" \
    --define "CNIKIT_TEST_HOOKS=$test_hooks" \
    --outfile "$dir/cnikit" src/main.ts src/daemon/worker.ts >/dev/null
  # Fallback for hosts whose $TMPDIR is noexec (Bun cannot extract the embedded addon there).
  cp native/build/cnikit.node "$dir/cnikit.node"
  # The front end the plugin names point to (native/cnikit_front.c): it hands a call to the
  # resident `cnikit daemon` of this network namespace, or execs cnikit when none serves it.
  # Static, because it runs before every plugin call and static glibc skips the dynamic loader:
  # measured with hyperfine -N (four rounds of 2000-3000 runs), with no daemon and a trivial
  # program in cnikit's place 0.71-0.96 ms static vs 1.00-1.29 ms dynamic, 0.23-0.37 ms less
  # in every round (the trivial program alone: 0.47-0.60 ms); answered by a fake daemon
  # 0.50-0.71 vs 0.88-1.46 ms. (With no daemon, the real cnikit VERSION behind it takes
  # 8-11 ms either way, and the difference is lost in its noise.)
  cc -static -O2 -Wall -Wextra -DCNIKIT_BUILD_ID="\"$build_id\"" -o "$dir/cnikit-front" native/cnikit_front.c
  for plugin in bridge veth vxlan-overlay host-local; do
    ln -sfn cnikit-front "$dir/$plugin"
  done
  echo "$build_id" >"$dir/BUILD_ID"
}
build_executable dist/bin "$CNIKIT_BUILD_ID" false
build_executable dist/test-bin "$CNIKIT_BUILD_ID-test" true
# The hooks' names are the mark of their code: none may be left in what ships.
if grep -q CNIKIT_TEST_ dist/bin/cnikit; then
  echo "dist/bin/cnikit contains test hooks (CNIKIT_TEST_): see src/cni/test-hooks.ts" >&2
  exit 1
fi
echo "built dist/bin/cnikit and dist/bin/cnikit-front (bridge, veth, vxlan-overlay, host-local), build $CNIKIT_BUILD_ID"
echo "built the test build in dist/test-bin, build $CNIKIT_BUILD_ID-test"
