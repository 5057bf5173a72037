# What the node changes outside its namespace, recorded before start and put back at teardown:
# the kernel settings the kubelet rewrites, fixed host paths, the kubelet's cgroup root and mounts
# under the state and run dirs.

# Fixed host paths the node writes to whatever its configuration says: containerd's shims put
# their sockets in /run/containerd/s, the kubelet links container logs into /var/log/containers and
# opens /var/lib/kubelet/device-plugins/kubelet.sock, and `ip netns add` makes /run/netns. A path
# that did not exist before is removed at teardown; in one that did, only what the node put there.
# (libcni's cache in /var/lib/cni is shared: see cni_results_remove.)
host_paths=(/run/containerd /var/log/containers /var/lib/kubelet /run/netns)

host_record() {
  local f="$k8s_run/host-before" k p
  [ -f "$f" ] && return 0          # recorded by the first start; a restart must not record ours
  mkdir -p "$k8s_run"
  { for k in "${k8s_sysctls[@]}"; do echo "sysctl $k $(sysctl -n "$k")"; done
    for p in "${host_paths[@]}"; do [ -e "$p" ] && echo "existed $p"; done
  } > "$f.tmp"
  mv "$f.tmp" "$f"
}

host_restore() {
  local f="$k8s_run/host-before" kind k v p
  [ -f "$f" ] || return 0
  while read -r kind k v; do
    if [ "$kind" = sysctl ] && [ "$(sysctl -n "$k")" != "$v" ]; then sysctl -q -w "$k=$v"; fi
  done < "$f"
  [ -d /var/log/containers ] && find /var/log/containers -maxdepth 1 -type l -lname "$k8s_state/*" -delete
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  cni_results_remove
  for p in "${host_paths[@]}"; do
    grep -qx "existed $p" "$f" && continue
    if [ "$p" = /run/netns ]; then # ip netns add made it a mount point of itself
      [ -z "$(ls -A "$p" 2>/dev/null)" ] && { umount "$p" 2>/dev/null; rmdir "$p" 2>/dev/null; }
    else rm -rf "$p"; fi
  done
  rm -f "$f"
}

# libcni's result cache is shared with any other CNI user (podman's CNI backend): only our
# network's results go, with the loopback results of the same sandboxes, then dirs left empty.
cni_results_remove() {
  local d=/var/lib/cni/results r id
  [ -d "$d" ] || return 0
  for r in "$d/$k8s_ns"-*-eth0; do
    [ -e "$r" ] || continue
    id="${r#"$d/$k8s_ns"-}"; id="${id%-eth0}"
    rm -f "$r" "$d/cni-loopback-$id-lo"
  done
  rmdir "$d" /var/lib/cni 2>/dev/null || true
}

# The kubelet's --cgroup-root must exist in every hierarchy. cpuset needs cpus/mems set before a
# task can join a child cgroup, so they are copied from the root.
cgroups_make() {
  local c
  for c in /sys/fs/cgroup/*/; do
    [ -f "$c/cgroup.procs" ] || continue
    mkdir -p "$c${k8s_cgroup_root#/}"
    case "$c" in
      */cpuset/) cat "$c/cpuset.cpus" > "$c${k8s_cgroup_root#/}/cpuset.cpus"; cat "$c/cpuset.mems" > "$c${k8s_cgroup_root#/}/cpuset.mems" ;;
    esac
  done
}

cgroups_remove() { # deepest first; a cgroup with tasks left fails loudly
  local c
  for c in /sys/fs/cgroup/*/; do
    [ -d "$c${k8s_cgroup_root#/}" ] || continue
    find "$c${k8s_cgroup_root#/}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [ -d "$c${k8s_cgroup_root#/}" ] && echo "k8s cluster: could not remove cgroup $c${k8s_cgroup_root#/} (tasks left?)" >&2
  done
  return 0
}

# Every mount under the state and run dirs (containerd's rootfs and shm mounts, the kubelet's
# Secret tmpfs), deepest first.
mounts_remove() {
  local m
  findmnt -rn -o TARGET | grep -E "^($k8s_state|$k8s_run)(/|$)" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2- |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "k8s cluster: could not unmount $m" >&2; done
}
