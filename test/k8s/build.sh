#!/usr/bin/env bash
# Builds the test cluster's binaries (Kubernetes v1.37.2, etcd v3.7.3) from their Go modules, through
# the wrapper modules in test/k8s/modules, into a cache outside the clone, and prints the directory.
#
# The cache key hashes everything that decides the output: the wrapper modules (versions and sums),
# the Go version and this script. A build takes a lock, writes into a temporary directory next to
# the cache entry and renames it into place, so a reader sees a whole entry or none, and a build
# killed half-way leaves nothing a later run would mistake for a result.
#
# Usage: test/k8s/build.sh [--quiet]      (KILN_K8S_CACHE overrides /var/cache/kiln/k8s)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${KILN_K8S_CACHE:-/var/cache/kiln/k8s}"
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1
say() { [ $quiet = 1 ] || echo "k8s build: $*" >&2; }

k8s_version=v1.37.2
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

key="$( { go version; cat "$here/build.sh" "$here"/modules/*/go.mod "$here"/modules/*/go.sum; } | sha256sum | cut -c1-16)"
entry="$cache_root/$key"

if [ -f "$entry/READY" ]; then
  say "cache hit ($entry)"
  echo "$entry"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
say "waiting for the build lock" 
flock 9
if [ -f "$entry/READY" ]; then   # another build finished while we waited
  say "cache hit after wait ($entry)"
  echo "$entry"
  exit 0
fi

free_kb=$(df -Pk "$cache_root" | awk 'NR==2 {print $4}')
# On a new machine Go's cache directory does not exist yet (go creates it on first use): make it,
# so the free-space check has something to measure.
gocache="$(go env GOCACHE)"
mkdir -p "$gocache"
gocache_kb=$(df -Pk "$gocache" | awk 'NR==2 {print $4}')
for kb in "$free_kb" "$gocache_kb"; do
  if [ "$kb" -lt $((12 * 1024 * 1024)) ]; then
    echo "k8s build: less than 12 GB free ($((kb / 1024)) MB) for the Go caches and binaries; free some disk and run again" >&2
    exit 1
  fi
done

start=$(date +%s)
tmp="$(mktemp -d "$cache_root/.build-$key.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"

# cgo stays on, as in Kubernetes' own kubelet build (its user and DNS lookups use libc).
# Version stamps: the kubelet reports its version to the apiserver and kubectl compares them; a
# binary built outside Kubernetes' own make would say v0.0.0-master.
ldv() { echo "-X $1.gitVersion=$k8s_version -X $1.gitMajor=1 -X $1.gitMinor=37 -X $1.gitTreeState=clean -X $1.buildDate=1970-01-01T00:00:00Z"; }
ldflags="-s -w $(ldv k8s.io/component-base/version) $(ldv k8s.io/client-go/pkg/version)"

say "building Kubernetes $k8s_version (${binaries[*]}) — 20-45 min cold on 2 cores"
pkgs=(); for b in "${binaries[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
(cd "$here/modules/kubernetes" && go build -p 2 -trimpath -ldflags "$ldflags" -o "$tmp/bin/" "${pkgs[@]}")

say "building etcd"
(cd "$here/modules/etcd" && go build -p 2 -trimpath -ldflags "-s -w" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3)

for b in "${binaries[@]}" etcd; do [ -x "$tmp/bin/$b" ] || { echo "k8s build: $b was not built" >&2; exit 1; }; done
echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - start )) s with $(go version)" > "$tmp/BUILD-INFO"
touch "$tmp/READY"
rm -rf "$entry"
mv "$tmp" "$entry"
trap - EXIT
say "built in $(( $(date +%s) - start )) s ($entry)"
echo "$entry"
