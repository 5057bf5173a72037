// The commands the Kubernetes test helpers run, as argument arrays (built here, run by one
// executor in k8s.ts): the cluster script, kubectl with the cluster's kubeconfig, a command inside
// the node's network namespace, image import into the node's containerd and a push to its registry.

export interface Command {
  file: string;
  args: string[];
}

/** What `test/k8s/cluster.sh env --json` prints: everything a client of the test cluster needs. */
export interface ClusterEnv {
  kubeconfig: string;
  kubectlBin: string;
  /** Network namespace the node runs in (also the node's name). */
  netns: string;
  netnsPath: string;
  /** The node's address: apiserver, kubelet and registry listen here; the host reaches it by a veth. */
  nodeIp: string;
  hostIp: string;
  apiserver: string;
  /** host:port of the registry inside the namespace (HTTPS, cluster CA). */
  registry: string;
  /** A directory holding only the cluster CA, for skopeo --dest-cert-dir. */
  registryCertDir: string;
  caFile: string;
  containerdAddress: string;
  serviceCidr: string;
  podCidr: string;
  logs: string;
  state: string;
}

export const clusterCommand = (script: string, verb: 'up' | 'down' | 'status' | 'env'): Command => ({
  file: script,
  args: verb === 'env' ? ['env', '--json'] : [verb],
});

// nsenter --net, not `ip netns exec` (which remounts /sys): the same way the node's processes run.
// Every client of the cluster's (private) addresses runs there, never in the machine's namespace.
export const inNetnsCommand = (env: Pick<ClusterEnv, 'netnsPath'>, argv: string[]): Command => ({
  file: 'nsenter',
  args: [`--net=${env.netnsPath}`, '--', ...argv],
});

export const kubectlCommand = (env: ClusterEnv, args: string[]): Command => inNetnsCommand(env, [env.kubectlBin, '--kubeconfig', env.kubeconfig, ...args]);

/** `kiln <args>` (this checkout's) inside the node's namespace, where the apiserver and registry are. */
export const kilnInNetnsArgv = (env: Pick<ClusterEnv, 'netnsPath'>, kilnJs: string, args: string[]): Command => inNetnsCommand(env, [process.execPath, kilnJs, ...args]);

/** Imports an OCI archive into the node's containerd as `<baseName>:<tag in the archive>`. */
export const ctrImportCommand = (env: ClusterEnv, archive: string, baseName: string): Command => ({
  file: 'ctr',
  args: ['--address', env.containerdAddress, '--namespace', 'k8s.io', 'images', 'import', '--base-name', baseName, archive],
});

/**
 * Pushes an OCI archive to the cluster's registry over HTTPS (trusting the cluster CA), byte for
 * byte: --preserve-digests stops skopeo from gzipping the layer, so the registry holds the very
 * manifest (and digest) the project wrote.
 */
export const skopeoPushCommand = (env: ClusterEnv, archive: string, tag: string, repo: string, digestFile: string): Command =>
  inNetnsCommand(env, ['skopeo', 'copy', '--quiet', '--preserve-digests', '--dest-cert-dir', env.registryCertDir, '--digestfile', digestFile, `oci-archive:${archive}:${tag}`, `docker://${env.registry}/${repo}:${tag}`]);

/** curl inside the namespace: status code and body of one GET, a short timeout, no proxy. */
export const curlArgv = (url: string, timeoutS = 5): string[] => [
  'curl', '--silent', '--show-error', '--noproxy', '*', '--max-time', String(timeoutS), '--write-out', '\n%{http_code}', url,
];

/** Builds (or reuses) one of the cluster's own images as an OCI archive; prints "<archive> <digest>". */
export const imageBuildCommand = (script: string, image: 'pause' | 'httpd', outDir: string): Command => ({
  file: script,
  args: [image, outDir],
});
