#!/usr/bin/env bash
# Packs a root filesystem directory into an OCI image archive (oci-layout, index.json, blobs) that
# `ctr images import` and `skopeo copy oci-archive:` read. One uncompressed layer.
#
# determinism: the layer is tarred sorted by name, with owner 0:0 and mtime 0, and the JSON is
# written in a fixed key order with no timestamps, so the same rootfs gives the same digests.
#
# Usage: oci-tar.sh <rootfs-dir> <tag> <out.tar> <entrypoint-json-array> [<env-json-array>]
#   e.g. oci-tar.sh root 1 pause.tar '["/pause"]'
set -euo pipefail
rootfs="$1" tag="$2" out="$3" entrypoint="$4" env="${5:-[\"PATH=/bin\"]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
blobs="$work/blobs/sha256"
mkdir -p "$blobs"

put() { # file -> prints "<hex> <size>" and stores the blob
  local hex size
  hex="$(sha256sum "$1" | cut -d' ' -f1)"
  size="$(stat -c %s "$1")"
  mv "$1" "$blobs/$hex"
  echo "$hex $size"
}

tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$work/layer" .
read -r layer layer_size < <(put "$work/layer")

printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"kiln test/k8s/images/oci-tar.sh"}]}' \
  "$entrypoint" "$env" "$layer" > "$work/config"
read -r config config_size < <(put "$work/config")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" > "$work/manifest"
read -r manifest manifest_size < <(put "$work/manifest")

printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$tag" > "$work/index.json"

tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
echo "sha256:$manifest"
