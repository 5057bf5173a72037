# The cluster's PKI, made with openssl: a CA, serving certificates (apiserver, kubelet, registry),
# client certificates (admin in system:masters, the kubelet as system:node:<node>, the apiserver's
# kubelet client) and the service-account key pair. Keys are readable by root only.

pki_sign() { # name subject [extension lines for a serving or client cert]
  local name="$1" subj="$2" ext="$3" d="$k8s_pki"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$name.key" 2>/dev/null
  openssl req -new -key "$d/$name.key" -subj "$subj" -out "$d/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" > "$d/$name.ext"
  openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null
  rm -f "$d/$name.csr" "$d/$name.ext"
}

pki_server_ext() { # comma-separated subjectAltName entries
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$1"
}
pki_client_ext() {
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
}

pki_make() {
  local d="$k8s_pki"
  [ -f "$d/READY" ] && return 0
  rm -rf "$d"; mkdir -p "$d"; chmod 700 "$d"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$d/ca.key" -subj "/CN=kiln-k8s-ca" -days 365 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$d/ca.crt" 2>/dev/null
  pki_sign apiserver "/CN=kube-apiserver" "$(pki_server_ext "IP:$k8s_node_ip,IP:$k8s_service_ip,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local")"
  pki_sign kubelet-serving "/CN=$k8s_ns" "$(pki_server_ext "IP:$k8s_node_ip,DNS:$k8s_ns")"
  pki_sign registry "/CN=kiln-k8s-registry" "$(pki_server_ext "IP:$k8s_node_ip,IP:127.0.0.1,DNS:localhost")"
  pki_sign admin "/O=system:masters/CN=kiln-admin" "$(pki_client_ext)"
  pki_sign kubelet "/O=system:nodes/CN=system:node:$k8s_ns" "$(pki_client_ext)"
  pki_sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$(pki_client_ext)"
  pki_sign controller-manager "/CN=system:kube-controller-manager" "$(pki_client_ext)"
  pki_sign scheduler "/CN=system:kube-scheduler" "$(pki_client_ext)"
  pki_sign kube-proxy "/CN=system:kube-proxy" "$(pki_client_ext)"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/sa.key" 2>/dev/null
  openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  rm -f "$d/ca.srl"
  chmod 600 "$d"/*.key
  touch "$d/READY"
}
