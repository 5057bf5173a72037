// Settings of one Kubernetes environment (kiln.yaml `environments.<env>.kubernetes`), passed in,
// never guessed: where the cluster is, which namespace Kiln owns there, where images go.
export interface KubernetesSettings {
  /** Absolute path of the kubeconfig; absent: $KUBECONFIG, then ~/.kube/config (kubectl's rules). */
  kubeconfig?: string;
  /** Context of the kubeconfig; absent: its current-context. */
  context?: string;
  /** Namespace holding every object of the environment. Kiln owns what it labels there, nothing else. */
  namespace: string;
  /**
   * Registry the environment's nodes pull from, e.g. "registry.internal:5000/team" (images are
   * pushed by digest). Absent: images are imported into the node's containerd (a local cluster)
   * as localhost/kiln/<project> and never pulled.
   */
  registry?: string;
  /** Directory of the registry's CA (ca.crt), for a registry with a private CA (skopeo --dest-cert-dir). */
  registryCertDir?: string;
  /** uid and gid every server's container runs as (never root). */
  runAsUser: number;
}

export const DEFAULT_RUN_AS_USER = 65532;

/** The port every server listens on inside its pod: pods have their own network, so one fixed number. */
export const CONTAINER_PORT = 8080;
/** The port of every Service Kiln makes (cluster and preview): what ${cluster.<svc>-<role>.url} names. */
export const SERVICE_PORT = 80;
