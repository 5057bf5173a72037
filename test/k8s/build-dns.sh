#!/usr/bin/env bash
# Builds the test cluster's DNS (CoreDNS, through the wrapper module in test/k8s/dns) into a cache
# outside the clone, and prints the binary's path. Its own cache entry, beside the Kubernetes
# binaries of build.sh: a change here never rebuilds Kubernetes. Same discipline as build.sh: the
# key hashes the module (versions and sums), the Go version and this script; a lock; the result
# renamed into place whole.
#
# Usage: test/k8s/build-dns.sh [--quiet]      (KILN_K8S_CACHE overrides /var/cache/kiln/k8s)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${KILN_K8S_CACHE:-/var/cache/kiln/k8s}/dns"
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1
say() { [ $quiet = 1 ] || echo "k8s dns build: $*" >&2; }

key="$( { go version; cat "$here/build-dns.sh" "$here"/dns/go.mod "$here"/dns/go.sum "$here"/dns/main.go; } | sha256sum | cut -c1-16)"
entry="$cache_root/$key"
if [ -x "$entry/coredns" ]; then say "cache hit ($entry)"; echo "$entry/coredns"; exit 0; fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
if [ -x "$entry/coredns" ]; then say "cache hit after wait ($entry)"; echo "$entry/coredns"; exit 0; fi

start=$(date +%s)
tmp="$(mktemp -d "$cache_root/.build-$key.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
say "building CoreDNS (its kubernetes plugin) — a few minutes cold"
(cd "$here/dns" && go build -p 2 -trimpath -ldflags "-s -w" -o "$tmp/coredns" .)
rm -rf "$entry"
mv "$tmp" "$entry"
trap - EXIT
say "built in $(( $(date +%s) - start )) s ($entry)"
echo "$entry/coredns"
