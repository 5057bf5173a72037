#!/bin/sh
# The test server inside the image: serves its pod name at / and "ok" at /healthz with busybox
# httpd, on $PORT (8080). /healthz is left out when $FAIL_READY is set, so a readiness probe on it
# fails while / still answers (the probe, not the process, keeps the pod out of the endpoints).
port="${PORT:-8080}"
mkdir -p /tmp/www
echo "$HOSTNAME ${VERSION:-}" > /tmp/www/index.html
[ -n "${FAIL_READY:-}" ] || echo ok > /tmp/www/healthz
echo "serving $HOSTNAME on $port"
exec /bin/busybox httpd -f -p "$port" -h /tmp/www
