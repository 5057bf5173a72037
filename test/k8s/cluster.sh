#!/usr/bin/env bash
# The project's Kubernetes test cluster: one node (etcd, control plane, containerd, kubelet,
# kube-proxy and a registry) in a network namespace this script makes, from binaries test/k8s/build.sh
# builds or reuses. Run as root.
#
#   cluster.sh up       build-or-reuse the binaries, bring the node up (reuses a healthy one), wait
#                       for node Ready and the default ServiceAccount; prints what it did and the time
#   cluster.sh down     stop everything, remove the namespace, its state, mounts and cgroups, and
#                       restore the kernel settings the kubelet changed
#   cluster.sh status   each component and the node; exit 0 only when the cluster is healthy
#   cluster.sh env [--json]   KUBECONFIG and the rest a client needs
#   cluster.sh kubectl ARGS   kubectl with the cluster's kubeconfig
#   cluster.sh exec ARGV      run a command inside the node's network namespace (ClusterIPs, pod IPs)
set -Eeuo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for f in settings net pki configs components procs host; do . "$here/lib/$f.sh"; done
image_cache="${KILN_K8S_CACHE:-/var/cache/kiln/k8s}/images"
lock="/run/$k8s_ns.lock"
say() { echo "k8s cluster: $*" >&2; }
now_ms() { date +%s%3N; }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

bin_dir() { readlink -f "$k8s_run/bin" 2>/dev/null; }
# From inside the node's namespace: the cluster's addresses are reached only there.
kubectl_() { in_ns "$(bin_dir)/kubectl" --kubeconfig "$k8s_kubeconfig" "$@"; }

node_ready() {
  [ "$(kubectl_ get node "$k8s_ns" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# What a running cluster was made from: these scripts and the images' sources. A cluster made by
# other scripts is not reused (a changed kubelet setting must not be silently ignored).
config_key() { cat "$here/cluster.sh" "$here"/lib/*.sh "$here"/images/* "$here/build.sh" "$here/build-dns.sh" "$here"/dns/* | sha256sum | cut -c1-16; }

healthy() {
  local c
  [ -x "$(bin_dir)/kubectl" ] && net_exists || return 1
  [ "$(cat "$k8s_run/config-key" 2>/dev/null)" = "$(config_key)" ] || { say "the running cluster was made by other scripts: recreating it"; return 1; }
  for c in "${k8s_components[@]}"; do proc_alive "$c" || return 1; done
  kubectl_ get --raw /readyz >/dev/null 2>&1 && node_ready
}

with_lock() { mkdir -p "$(dirname "$lock")"; exec 9>"$lock"; flock 9; }

cmd_up() {
  with_lock
  local t0; t0="$(now_ms)"
  if healthy; then say "already up and healthy (reused) in $(secs_since "$t0") s"; print_env; return 0; fi
  if [ -e "$k8s_run" ] || [ -e "$k8s_netns_path" ] || [ -e "$k8s_state" ]; then
    say "a previous cluster is partly there: tearing it down first"; teardown
  fi

  # build.sh prints the cache entry on stdout and its progress on stderr (shown as it comes: a
  # cold build takes a quarter of an hour or more).
  local tb entry blog; tb="$(now_ms)"; blog="$(mktemp)"
  entry="$( { "$here/build.sh" 2>&1 1>&3 | tee "$blog" >&2; } 3>&1 )" || { rm -f "$blog"; say "building the binaries failed (above)"; return 1; }
  if grep -q 'cache hit' "$blog"; then echo "k8s cluster binaries: cache hit ($(secs_since "$tb") s) $entry" >&2
  else echo "k8s cluster binaries: built in $(secs_since "$tb") s $entry" >&2; fi
  rm -f "$blog"
  bin="$entry/bin"
  tb="$(now_ms)"
  dns_bin="$("$here/build-dns.sh")" || { say "building the cluster DNS failed (above)"; return 1; }
  echo "k8s cluster DNS: $dns_bin ($(secs_since "$tb") s)" >&2

  local tu; tu="$(now_ms)"
  trap 'say "bring-up failed: tearing down (logs stay in $k8s_logs)"; teardown' ERR
  mkdir -p "$k8s_run" "$k8s_state" "$k8s_logs"; chmod 700 "$k8s_state" "$k8s_run"
  ln -sfn "$bin" "$k8s_run/bin"
  ln -sfn "$dns_bin" "$k8s_run/coredns"
  config_key > "$k8s_run/config-key"
  for c in "${k8s_components[@]}"; do : > "$k8s_logs/$c.log"; done
  host_record
  net_up
  pki_make
  configs_write
  cgroups_make

  start etcd;           wait_for "etcd" 60 etcd in_ns curl -sf http://127.0.0.1:2379/health
  start kube-apiserver; wait_for "the apiserver" 120 kube-apiserver kubectl_ get --raw /readyz
  start coredns;        wait_for "the cluster DNS" 60 coredns in_ns curl -sf "http://127.0.0.1:$k8s_dns_ready_port/ready"
  start containerd;     wait_for "containerd" 60 containerd ctr --address "$k8s_containerd_sock" version
  import_image pause
  start registry;       wait_for "the registry" 30 registry in_ns curl -sf --cacert "$k8s_pki/ca.crt" "https://$k8s_registry/v2/"
  start kube-controller-manager
  start kube-scheduler
  start kubelet
  start kube-proxy
  wait_for "node $k8s_ns to be Ready" 180 kubelet node_ready
  wait_for "kube-proxy's first sync" 60 kube-proxy in_ns curl -sf http://127.0.0.1:10256/healthz
  wait_for "the default ServiceAccount" 120 kube-controller-manager kubectl_ get serviceaccount default -n default
  trap - ERR
  say "up in $(secs_since "$tu") s (node $k8s_ns Ready; total $(secs_since "$t0") s)"
  print_env
}

start() { local argv; component_argv "$1"; proc_start "$1" "${argv[@]}"; }

import_image() { # name: build-or-reuse the archive, import it (re-imported at every start: see notes)
  local tar
  read -r tar _ < <("$here/images/build.sh" "$1" "$image_cache")
  ctr --address "$k8s_containerd_sock" -n k8s.io images import --base-name "localhost/kiln/$1" "$tar" >/dev/null
}

# Best effort, step by step: a step that fails (a part that never started) must not stop the rest,
# so it runs in a subshell without -e.
teardown() (
  set +e; trap - ERR
  local pids i
  procs_stop 10 kubelet kube-proxy kube-scheduler kube-controller-manager
  # Pods outlive the kubelet and containerd (their shims are separate processes): kill them.
  for i in 1 2 3; do
    pids="$(pod_pids | tr '\n' ' ')"
    [ -n "${pids// /}" ] || break
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  procs_stop 10 coredns containerd registry kube-apiserver
  procs_stop 10 etcd
  mounts_remove
  net_down
  cgroups_remove
  host_restore
  rm -rf "$k8s_run" "$k8s_state"
)

cmd_down() {
  with_lock
  local t0; t0="$(now_ms)"
  teardown
  say "down in $(secs_since "$t0") s (logs kept in $k8s_logs)"
}

cmd_status() {
  local c ok=0
  for c in "${k8s_components[@]}"; do
    if proc_alive "$c"; then printf '%-24s running (pid %s)\n' "$c" "$(proc_pid "$c")"; else printf '%-24s not running\n' "$c"; ok=1; fi
  done
  if [ -x "$(bin_dir)/kubectl" ] && node_ready; then echo "node $k8s_ns                Ready"; else echo "node $k8s_ns                not Ready"; ok=1; fi
  return $ok
}

print_env() {
  if [ "${1:-}" = "--json" ]; then
    printf '{"kubeconfig":"%s","kubectlBin":"%s","netns":"%s","netnsPath":"%s","nodeIp":"%s","hostIp":"%s","apiserver":"https://%s:%s","registry":"%s","registryCertDir":"%s","caFile":"%s","containerdAddress":"%s","serviceCidr":"%s","podCidr":"%s","logs":"%s","state":"%s"}\n' \
      "$k8s_kubeconfig" "$(bin_dir)/kubectl" "$k8s_ns" "$k8s_netns_path" "$k8s_node_ip" "$k8s_host_ip" "$k8s_node_ip" "$k8s_apiserver_port" \
      "$k8s_registry" "$k8s_state/registry-ca" "$k8s_pki/ca.crt" "$k8s_containerd_sock" "$k8s_service_cidr" "$k8s_pod_cidr" "$k8s_logs" "$k8s_state"
  else
    echo "export KUBECONFIG=$k8s_kubeconfig"
    echo "export PATH=$(bin_dir):\$PATH"
    echo "# registry: https://$k8s_registry (CA: $k8s_pki/ca.crt; skopeo --dest-cert-dir $k8s_state/registry-ca)"
    echo "# in the node namespace: nsenter --net=$k8s_netns_path <command>   (or: $0 exec <command>)"
    echo "# logs: $k8s_logs/<component>.log"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) shift; [ -x "$(bin_dir)/kubectl" ] || { say "not up: run $0 up"; exit 1; }; print_env "$@" ;;
  kubectl) shift; kubectl_ "$@" ;;
  exec) shift; in_ns "$@" ;;
  *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
