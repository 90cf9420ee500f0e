#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine, then the npm
# dependencies. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the real browser the lab graph test drives through puppeteer-core (which never downloads one);
# python3: the daemon test's stand-in for systemd's notify socket (a unix datagram socket); procps: ps;
# openssl: the CA and certificates of the etcd-over-TLS tests and labs (overlay/membership/etcd-certs.ts).
packages=(gcc libc6-dev iproute2 nftables containernetworking-plugins iputils-ping graphviz etcd-server tcpdump chromium python3 procps openssl)
missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == *"ok installed"* ]] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "installing ${missing[*]}"
  # An offline or flaky index refresh must not stop us: the install may still succeed from cache.
  apt-get update -qq >/dev/null || echo "apt-get update failed; trying the install anyway" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
