# The node's network namespace: a veth to the host (so the host reaches the apiserver and the
# registry at the node address) and a veth pair with both ends inside, carrying the default route.
# No `dummy` device exists in these kernels, and without a default route Service DNAT fails with
# "Network is unreachable". The host does not forward (ip_forward stays as it is), so nothing from
# a pod can leave through the host end.

# Runs argv inside the namespace. nsenter --net, not `ip netns exec`: the latter remounts /sys and
# runc then finds no cgroup mount.
in_ns() { nsenter --net="$k8s_netns_path" -- "$@"; }

net_exists() { [ -e "$k8s_netns_path" ] && in_ns true 2>/dev/null; }

net_up() {
  if net_exists; then return 0; fi
  ip netns add "$k8s_ns"
  ip link add "$k8s_host_if" type veth peer name "$k8s_node_if" netns "$k8s_ns"
  ip addr add "$k8s_host_ip/$k8s_link_cidr" dev "$k8s_host_if"
  ip link set "$k8s_host_if" up
  in_ns ip link set lo up
  in_ns ip addr add "$k8s_node_ip/$k8s_link_cidr" dev "$k8s_node_if"
  in_ns ip link set "$k8s_node_if" up
  in_ns ip link add "$k8s_gw_if" type veth peer name "$k8s_gw_peer_if"
  in_ns ip addr add "$k8s_gw_ip/$k8s_link_cidr" dev "$k8s_gw_if"
  in_ns ip link set "$k8s_gw_if" up
  in_ns ip link set "$k8s_gw_peer_if" up
  in_ns ip route add default via "$k8s_gw_peer" dev "$k8s_gw_if" onlink
}

net_down() {
  # Deleting the namespace removes its interfaces (and so the host end of the veth), the bridge,
  # and every iptables/nft rule the CNI plugins, the kubelet and kube-proxy wrote (they live in the
  # namespace, not on the host).
  if [ -e "$k8s_netns_path" ]; then ip netns del "$k8s_ns" 2>/dev/null || { umount "$k8s_netns_path" 2>/dev/null; rm -f "$k8s_netns_path"; }; fi
}
