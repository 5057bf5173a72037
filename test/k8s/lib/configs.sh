# Configuration files of the node's components, written from settings.sh before each start.
# The settings marked "sandbox" are what these machines need (see KUBERNETES-NOTES.md); each is
# harmless on a normal host.

kubeconfig_write() { # file user-cert-name server
  local f="$1" who="$2" server="$3" p="$k8s_pki"
  cat > "$f" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kiln-k8s
  cluster:
    server: $server
    certificate-authority: $p/ca.crt
users:
- name: $who
  user:
    client-certificate: $p/$who.crt
    client-key: $p/$who.key
contexts:
- name: kiln-k8s
  context: {cluster: kiln-k8s, user: $who}
current-context: kiln-k8s
KC
  chmod 600 "$f"
}

configs_write() {
  local s="$k8s_state" r="$k8s_run" p="$k8s_pki" api="https://$k8s_node_ip:$k8s_apiserver_port"
  mkdir -p "$s/etc" "$s/cni/net.d" "$s/cni/ipam" "$s/kubelet" "$s/pod-logs" "$s/registry" "$s/containerd" \
    "$s/etc/certs.d/$k8s_registry" "$s/registry-ca" "$r/containerd" "$r/runc"
  # The admin kubeconfig is the one tests and developers use: it names the node address, which the
  # host reaches through the veth.
  kubeconfig_write "$k8s_kubeconfig" admin "$api"
  for c in controller-manager scheduler kubelet kube-proxy; do kubeconfig_write "$s/etc/$c.kubeconfig" "$c" "$api"; done
  cp "$p/ca.crt" "$s/registry-ca/ca.crt"   # a cert dir for skopeo --dest-cert-dir (CA only)

  # The node's own resolver (pods with dnsPolicy Default, the kubelet): nothing outside the
  # namespace is resolved, and a lookup fails fast. Pods get the cluster DNS (ClusterFirst).
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$s/etc/resolv.conf"

  # The cluster DNS (CoreDNS, a process of the node like the kubelet): the cluster's Service names
  # only, from the apiserver; a name outside its zone is REFUSED (no forwarder): nothing leaves
  # the test network.
  cat > "$s/etc/Corefile" <<COREFILE
$k8s_cluster_domain:53 {
    errors
    ready 127.0.0.1:$k8s_dns_ready_port
    kubernetes $k8s_cluster_domain {
        kubeconfig $k8s_kubeconfig
    }
}
COREFILE

  cat > "$s/etc/containerd.toml" <<TOML
version = 2
root = "$s/containerd"
state = "$r/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$k8s_containerd_sock"
[ttrpc]
  address = "$r/containerd/containerd.sock.ttrpc"
[debug]
  address = "$r/containerd/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$s/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$k8s_pause_image"
  # sandbox: no CAP_SYS_RESOURCE, so a negative oom_score_adj is refused and runc fails.
  restrict_oom_score_adj = true
  enable_selinux = false
  # Pod network namespaces under our state dir, not the host's /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "$r/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$s/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$s/etc/certs.d"
TOML

  # containerd pulls from the in-namespace registry over HTTPS, trusting the cluster CA.
  cat > "$s/etc/certs.d/$k8s_registry/hosts.toml" <<TOML
server = "https://$k8s_registry"
[host."https://$k8s_registry"]
  capabilities = ["pull", "resolve"]
  ca = "$p/ca.crt"
TOML

  cat > "$s/cni/net.d/10-kiln-k8s.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "kiln-k8s",
  "plugins": [
    {"type": "bridge", "bridge": "$k8s_bridge", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$k8s_pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$s/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
JSON

  cat > "$s/etc/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# sandbox: cgroup v1 hybrid, no systemd, no CAP_SYS_RESOURCE, no swap accounting.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $k8s_cgroup_root
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://$k8s_containerd_sock
address: $k8s_node_ip
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: $p/kubelet-serving.crt
tlsPrivateKeyFile: $p/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $p/ca.crt}
authorization:
  mode: Webhook
podLogsDir: $s/pod-logs
resolvConf: $s/etc/resolv.conf
# Pods (dnsPolicy ClusterFirst) ask the cluster DNS, which listens on the node address.
clusterDNS: [$k8s_node_ip]
clusterDomain: $k8s_cluster_domain
# Disk can be short on these machines: evict only when it is nearly gone.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
# The pause image is imported, not pullable: never collect images (containerd < 1.6.22 does not pin it).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# Images the project imports (pause, tests' images, Kiln's own) are trusted as preloaded. The
# default policy (NeverVerifyPreloadedImages) stops trusting a preloaded image once the kubelet has
# pulled the same image ID under another name (e.g. from the registry): the imported name then
# fails with ErrImageNeverPull (KEP-2535 pull records, seen here).
imagePullCredentialsVerificationPolicy: NeverVerifyAllowlistedImages
preloadedImagesVerificationAllowlist: ["localhost/kiln/*"]
hairpinMode: hairpin-veth
registerNode: true
serializeImagePulls: false
staticPodPath: ""
YAML

  cat > "$s/etc/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $s/etc/kube-proxy.kubeconfig
# nftables, not iptables: with the iptables mode, a test client's connection to a ClusterIP
# now and then left without DNAT (EHOSTUNREACH from the namespace's dead-end default route) or
# had its SYN delayed by a retransmit while pods came and went: 2 of 3 runs of
# test/k8s/deploy.test.ts failed so (with the load client of test/support/k8s-load.ts); with
# nftables, 0 of 3, the last one inside a green run of every test/k8s file. The nftables mode is
# GA since Kubernetes 1.33 and is what new clusters should run.
mode: nftables
hostnameOverride: $k8s_ns
clusterCIDR: $k8s_pod_cidr
bindAddress: $k8s_node_ip
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# sandbox: nf_conntrack_max cannot be written outside the initial namespace; 0 leaves it alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
nodePortAddresses: ["$k8s_node_ip/32"]
YAML

  cat > "$s/etc/registry.yaml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $s/registry
  delete:
    enabled: true
http:
  addr: $k8s_node_ip:$k8s_registry_port
  tls:
    certificate: $p/registry.crt
    key: $p/registry.key
YAML
}
