// Kubernetes objects the cluster tests apply, as pure functions returning plain objects (applied
// as JSON on kubectl's stdin, so nothing — a Secret least of all — goes through argv). The test
// server runs unprivileged with a read-only root filesystem, as Kiln's servers do.

export type Manifest = Record<string, unknown>;

export interface ServerPodOptions {
  image: string;
  /** Never for an image imported into containerd; Always to pull from the registry. */
  pullPolicy: 'Never' | 'Always' | 'IfNotPresent';
  labels: Record<string, string>;
  env?: Record<string, string>;
  /** Secret name → mount path (read-only). */
  secretMounts?: Record<string, string>;
}

const PORT = 8080;

function serverPodSpec(o: ServerPodOptions): Manifest {
  const secretMounts = Object.entries(o.secretMounts ?? {});
  return {
    // No DNS server in the test cluster (no image to run one): pods use the node's resolv.conf.
    dnsPolicy: 'Default',
    enableServiceLinks: false,
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 2,
    securityContext: { runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true, fsGroup: 65534 },
    containers: [
      {
        name: 'server',
        image: o.image,
        imagePullPolicy: o.pullPolicy,
        env: Object.entries(o.env ?? {}).map(([name, value]) => ({ name, value })),
        ports: [{ name: 'http', containerPort: PORT }],
        readinessProbe: { httpGet: { path: '/healthz', port: PORT }, periodSeconds: 1, failureThreshold: 1 },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        volumeMounts: [
          { name: 'tmp', mountPath: '/tmp' },
          ...secretMounts.map(([secret, mountPath]) => ({ name: `secret-${secret}`, mountPath, readOnly: true })),
        ],
      },
    ],
    volumes: [
      { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
      ...secretMounts.map(([secret]) => ({ name: `secret-${secret}`, secret: { secretName: secret, defaultMode: 0o440 } })),
    ],
  };
}

export function serverDeployment(name: string, replicas: number, o: ServerPodOptions): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: o.labels },
    spec: {
      replicas,
      selector: { matchLabels: o.labels },
      template: { metadata: { labels: o.labels }, spec: serverPodSpec(o) },
    },
  };
}

export function serverPod(name: string, o: ServerPodOptions): Manifest {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: o.labels }, spec: serverPodSpec(o) };
}

export function clusterIpService(name: string, selector: Record<string, string>): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 80, targetPort: PORT }] },
  };
}

export function opaqueSecret(name: string, data: Record<string, string>): Manifest {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'Opaque', stringData: data };
}

/** A kubectl apply input holding several objects. */
export const list = (...items: Manifest[]): string => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
