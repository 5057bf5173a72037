# The command line of each node component, as an array in $argv (commands as data: cluster.sh
# starts whatever these build). $bin is the cache entry's bin dir from build.sh, $dns_bin the
# CoreDNS binary from build-dns.sh.

component_argv() { # name -> sets argv
  local s="$k8s_state" p="$k8s_pki" e="$k8s_state/etc"
  case "$1" in
    etcd) argv=("$bin/etcd" --name "$k8s_ns" --data-dir "$s/etcd"
        --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380
        --initial-cluster "$k8s_ns=http://127.0.0.1:2380" --listen-metrics-urls http://127.0.0.1:2381
        # A throwaway test cluster: skipping fsync keeps bring-up fast on a shared disk.
        --unsafe-no-fsync --log-level warn) ;;
    kube-apiserver) argv=("$bin/kube-apiserver"
        --etcd-servers http://127.0.0.1:2379 --advertise-address "$k8s_node_ip" --bind-address 0.0.0.0
        --secure-port "$k8s_apiserver_port" --service-cluster-ip-range "$k8s_service_cidr"
        --client-ca-file "$p/ca.crt" --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key"
        --kubelet-client-certificate "$p/apiserver-kubelet-client.crt" --kubelet-client-key "$p/apiserver-kubelet-client.key"
        --kubelet-certificate-authority "$p/ca.crt" --kubelet-preferred-address-types InternalIP
        --service-account-issuer https://kubernetes.default.svc.cluster.local
        --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key"
        --authorization-mode Node,RBAC --allow-privileged=true --profiling=false) ;;
    coredns) argv=("$dns_bin" -conf "$e/Corefile") ;;
    containerd) argv=(/usr/bin/containerd --config "$e/containerd.toml") ;;
    registry) argv=(/usr/bin/docker-registry serve "$e/registry.yaml") ;;
    kube-controller-manager) argv=("$bin/kube-controller-manager"
        --kubeconfig "$e/controller-manager.kubeconfig"
        --authentication-kubeconfig "$e/controller-manager.kubeconfig" --authorization-kubeconfig "$e/controller-manager.kubeconfig"
        --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true
        --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt"
        --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key"
        --service-cluster-ip-range "$k8s_service_cidr" --profiling=false) ;;
    kube-scheduler) argv=("$bin/kube-scheduler"
        --kubeconfig "$e/scheduler.kubeconfig"
        --authentication-kubeconfig "$e/scheduler.kubeconfig" --authorization-kubeconfig "$e/scheduler.kubeconfig"
        --bind-address 127.0.0.1 --leader-elect=false --profiling=false) ;;
    kubelet) argv=("$bin/kubelet" --config "$e/kubelet.yaml" --kubeconfig "$e/kubelet.kubeconfig"
        --root-dir "$s/kubelet" --node-ip "$k8s_node_ip" --hostname-override "$k8s_ns") ;;
    kube-proxy) argv=("$bin/kube-proxy" --config "$e/kube-proxy.yaml") ;;
    *) echo "k8s cluster: unknown component $1" >&2; return 1 ;;
  esac
}
