#!/usr/bin/env bash
# Builds the cluster's own images as OCI archives, never pulled from anywhere:
#   pause  the pod sandbox image (pause.c, gcc -static)
#   httpd  the tests' HTTP server (busybox-static's httpd and httpd.sh)
# An archive is rebuilt only when its inputs change (the file name carries their hash).
# Prints "<archive path> <manifest digest>".
#
# Usage: images/build.sh pause|httpd <out-dir>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
what="$1" out="$2"
mkdir -p "$out"

case "$what" in
  pause) inputs=("$here/pause.c" "$here/oci-tar.sh" "$here/build.sh") ;;
  httpd) inputs=("$here/httpd.sh" "/bin/busybox" "$here/oci-tar.sh" "$here/build.sh")
         # Not grep -q: it stops reading at the first match, busybox then dies of SIGPIPE, and
         # with pipefail the check fails on a loaded machine although httpd is there.
         [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null \
           || { echo "images: the httpd image needs a static busybox with httpd: apt-get install -y busybox-static" >&2; exit 1; } ;;
  *) echo "images: unknown image '$what' (pause or httpd)" >&2; exit 2 ;;
esac
key="$(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
tar="$out/$what-$key.tar"
if [ -f "$tar" ] && [ -f "$tar.digest" ]; then echo "$tar $(cat "$tar.digest")"; exit 0; fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{dev,proc,sys,etc,tmp}
chmod 1777 "$root/tmp"
case "$what" in
  pause)
    gcc -static -Os -s -Wall -Werror -o "$root/pause" "$here/pause.c"
    entry='["/pause"]' ;;
  httpd)
    mkdir -p "$root/bin" "$root/app"
    cp /bin/busybox "$root/bin/busybox"
    for a in sh cat echo mkdir ls sleep; do ln -s busybox "$root/bin/$a"; done
    install -m 755 "$here/httpd.sh" "$root/app/httpd.sh"
    echo 'nobody:x:65534:65534:nobody:/:/bin/sh' > "$root/etc/passwd"
    entry='["/bin/sh","/app/httpd.sh"]' ;;
esac
digest="$("$here/oci-tar.sh" "$root" 1 "$tar.new" "$entry")"
echo "$digest" > "$tar.digest"
mv "$tar.new" "$tar"
echo "$tar $digest"
