# The test cluster's fixed names, addresses and directories, in one place. Sourced by cluster.sh
# and its parts; test/support/k8s.ts reads the same values from `cluster.sh env --json`.
#
# Addresses: every address below lives only in the network namespace the cluster makes (and on the
# host end of its veth), so tests may send traffic to them. 10.213.0.0/16 is picked to stay clear
# of podman's 10.88.0.0/16 and of the usual cluster ranges; KILN_K8S_NET_PREFIX moves all of it.

k8s_ns="${KILN_K8S_NETNS:-kiln-k8s}"             # network namespace, also the node's name
k8s_netns_path="/run/netns/$k8s_ns"
prefix="${KILN_K8S_NET_PREFIX:-10.213}"

k8s_host_ip="$prefix.0.1"        # host end of the host<->node veth
k8s_node_ip="$prefix.0.2"        # node end: apiserver, kubelet, registry listen here
k8s_link_cidr=30
k8s_gw_ip="$prefix.0.5"          # a veth pair with both ends inside the namespace carries the
k8s_gw_peer="$prefix.0.6"        # default route (Service DNAT needs one); nothing leaves through it
k8s_service_cidr="$prefix.64.0/24"
k8s_service_ip="$prefix.64.1"    # the `kubernetes` Service
k8s_pod_cidr="$prefix.128.0/24"

k8s_host_if="${k8s_ns:0:13}-h"  # in the host namespace, so named for the cluster (15 characters at most)
k8s_node_if="kk-node"            # the rest live inside the namespace
k8s_gw_if="kk-gw0"
k8s_gw_peer_if="kk-gw1"
k8s_bridge="kk-br0"

k8s_apiserver_port=6443
k8s_registry_port=5000
k8s_registry="$k8s_node_ip:$k8s_registry_port"

# Run state lives outside the clone: a state dir (PKI, etcd, containerd, kubelet, registry data),
# sockets and pids under /run, logs of each component in one known dir.
k8s_state="${KILN_K8S_STATE:-/var/lib/kiln-k8s}"
k8s_run="${KILN_K8S_RUN:-/run/kiln-k8s}"
k8s_logs="${KILN_K8S_LOGS:-/var/log/kiln-k8s}"
k8s_pki="$k8s_state/pki"
k8s_kubeconfig="$k8s_state/admin.kubeconfig"
k8s_cgroup_root="/$k8s_ns"       # the kubelet's --cgroup-root: everything it makes is under it

k8s_containerd_sock="$k8s_run/containerd/containerd.sock"

# Pod images the cluster imports itself (built by the project, never pulled).
k8s_pause_image="localhost/kiln/pause:1"

# The order processes start in; down stops them in reverse.
k8s_components=(etcd kube-apiserver coredns containerd registry kube-controller-manager kube-scheduler kubelet kube-proxy)

# The cluster DNS: CoreDNS (build-dns.sh) on port 53 of the node address; its readiness on loopback.
k8s_cluster_domain=cluster.local
k8s_dns_ready_port=8181

# Kernel settings the kubelet rewrites on the shared VM (pkg/kubelet/cm setupKernelTunables):
# recorded before start, written back at teardown.
k8s_sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
