// Kubernetes objects for Kiln's model, as pure functions of a planned group (STYLE.md: commands
// and manifests as data, asserted by tests, applied in one place). A server group is one
// Deployment named after the group; a cluster is one Service named after the cluster whose
// selector names the active group, so the switch is one update of one field; each group also
// gets a preview Service of its own name. Secrets reach a pod only as read-only files.
import { createHash } from 'node:crypto';
import type { HealthCheckSpec } from '../../spec/types.js';
import type { Container, Deployment, ObjectMeta, Probe, Secret, Service, Volume, VolumeMount } from './objects.js';
import { CONTAINER_PORT, SERVICE_PORT, type KubernetesSettings } from './settings.js';

/**
 * Label keys on every object Kiln makes. `kiln.io/` is the reverse of podman's `io.kiln.*`
 * (runtime/podman/handle.ts): one namespace for both runtimes.
 */
export const K8S_LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  project: 'kiln.io/project',
  env: 'kiln.io/env',
  cluster: 'kiln.io/cluster',
  group: 'kiln.io/group',
  release: 'kiln.io/release',
} as const;

/** Where things appear inside a server's container; the flags name these paths. */
export const POD_PATHS = {
  app: '/app',
  // An app only gets a path for its log; on Kubernetes the container's output is the node's log
  // channel (the kubelet keeps and rotates it, the pod log API serves it, and Kiln follows that:
  // pod-logs.ts), so the path is the container's stderr rather than a file nobody else reads.
  logFile: '/dev/stderr',
  secrets: '/run/kiln/secrets',
  tmp: '/tmp',
} as const;

/** The key of the one value inside each Secret Kiln references. */
export const SECRET_KEY = 'value';

/** What one group's Deployment is made from: the deploy plan of one cluster, for Kubernetes. */
export interface GroupManifestInput {
  project: string;
  env: string;
  cluster: string;
  group: string;
  release: string;
  replicas: number;
  image: string;
  imagePullPolicy: Container['imagePullPolicy'];
  /** The release's run command, resolved in /app. */
  run: string[];
  /** The rendered flags and positional arguments as the container sees them (runtime/args.ts, argv). */
  args: string[];
  portName?: string;
  health?: HealthCheckSpec;
  /** Kiln secret names the flags reference, each mounted at /run/kiln/secrets/<name>. */
  secrets: string[];
  /** Kubernetes Secret object holding each Kiln secret (the runtime names them; render uses stable names). */
  secretObject: (secret: string) => string;
  /** Milliseconds a pod may take to stop after SIGTERM. */
  stopGraceMs?: number;
}

export function groupLabels(i: Pick<GroupManifestInput, 'project' | 'env' | 'cluster' | 'group' | 'release'>): Record<string, string> {
  return {
    [K8S_LABEL.managedBy]: 'kiln',
    [K8S_LABEL.project]: i.project,
    [K8S_LABEL.env]: i.env,
    [K8S_LABEL.cluster]: i.cluster,
    [K8S_LABEL.group]: i.group,
    [K8S_LABEL.release]: i.release,
  };
}

/** The labels that pick one group's pods: what a cluster Service's selector is switched to. */
export function groupSelector(i: Pick<GroupManifestInput, 'project' | 'env' | 'cluster' | 'group'>): Record<string, string> {
  return {
    [K8S_LABEL.project]: i.project,
    [K8S_LABEL.env]: i.env,
    [K8S_LABEL.cluster]: i.cluster,
    [K8S_LABEL.group]: i.group,
  };
}

function meta(name: string, namespace: string, labels: Record<string, string>): ObjectMeta {
  return { name, namespace, labels };
}

/**
 * The role's health check as a readiness probe: a pod takes traffic only while it passes. No
 * liveness probe on purpose: a server is never restarted in place; Kiln replaces a pod whose
 * container restarted, and the health check's grace bounds the deploy (progressDeadlineSeconds).
 */
export function readinessProbe(h: HealthCheckSpec, portName: string): Probe {
  return {
    httpGet: { path: h.path, port: portName },
    periodSeconds: Math.max(1, Math.round(h.intervalMs / 1000)),
    timeoutSeconds: Math.max(1, Math.ceil(h.timeoutMs / 1000)),
    successThreshold: 1,
    failureThreshold: Math.max(1, h.retries),
  };
}

export function groupDeployment(i: GroupManifestInput, s: KubernetesSettings): Deployment {
  const labels = groupLabels(i);
  const [command, ...runArgs] = i.run;
  if (!command) throw new Error(`empty run command for ${i.group}`);
  const mounts: VolumeMount[] = [{ name: 'tmp', mountPath: POD_PATHS.tmp }];
  // The only writable place: /tmp. The log goes to stderr (POD_PATHS.logFile), not to a volume.
  const volumes: Volume[] = [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }];
  const secrets = [...new Set(i.secrets)].sort();
  if (secrets.length) {
    mounts.push({ name: 'secrets', mountPath: POD_PATHS.secrets, readOnly: true });
    volumes.push({
      name: 'secrets',
      projected: {
        // 0440 with fsGroup: readable by the server's user, by no one else, writable by none.
        defaultMode: 0o440,
        sources: secrets.map((name) => ({ secret: { name: i.secretObject(name), items: [{ key: SECRET_KEY, path: name }] } })),
      },
    });
  }
  const container: Container = {
    name: 'server',
    image: i.image,
    imagePullPolicy: i.imagePullPolicy,
    command: [command],
    args: [...runArgs, ...i.args],
    workingDir: POD_PATHS.app,
    // Configuration reaches the app as flags only: a minimal, explicit environment.
    env: [
      { name: 'LANG', value: 'C.UTF-8' },
      { name: 'TZ', value: 'UTC' },
    ],
    ports: i.portName ? [{ name: i.portName, containerPort: CONTAINER_PORT, protocol: 'TCP' }] : [],
    ...(i.health && i.portName ? { readinessProbe: readinessProbe(i.health, i.portName) } : {}),
    securityContext: {
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      runAsUser: s.runAsUser,
      runAsGroup: s.runAsUser,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: mounts,
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(i.group, s.namespace, labels),
    spec: {
      replicas: i.replicas,
      selector: { matchLabels: groupSelector(i) },
      // A group's pod template never changes (immutable servers): no old ReplicaSets to keep.
      revisionHistoryLimit: 0,
      progressDeadlineSeconds: Math.max(10, Math.ceil((i.health?.graceMs ?? 60_000) / 1000)),
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          // No <SERVICE>_HOST variables: the app never learns its environment except through flags.
          enableServiceLinks: false,
          terminationGracePeriodSeconds: Math.max(1, Math.ceil((i.stopGraceMs ?? 10_000) / 1000)),
          securityContext: { runAsNonRoot: true, fsGroup: s.runAsUser, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [container],
          volumes,
        },
      },
    },
  };
}

function service(name: string, namespace: string, labels: Record<string, string>, selector: Record<string, string>, portName: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, namespace, labels),
    spec: { type: 'ClusterIP', selector, ports: [{ name: portName, port: SERVICE_PORT, targetPort: portName, protocol: 'TCP' }] },
  };
}

/** The role-named load balancer: selects the active group's pods; a switch rewrites `kiln.io/group`. */
export function clusterService(
  i: Pick<GroupManifestInput, 'project' | 'env' | 'cluster' | 'group'> & { portName: string },
  s: KubernetesSettings,
): Service {
  const labels = { [K8S_LABEL.managedBy]: 'kiln', [K8S_LABEL.project]: i.project, [K8S_LABEL.env]: i.env, [K8S_LABEL.cluster]: i.cluster };
  return service(i.cluster, s.namespace, labels, groupSelector(i), i.portName);
}

/** A group's own Service, for previews and checks before the switch. */
export function previewService(i: Pick<GroupManifestInput, 'project' | 'env' | 'cluster' | 'group' | 'release'> & { portName: string }, s: KubernetesSettings): Service {
  return service(i.group, s.namespace, groupLabels(i), groupSelector(i), i.portName);
}

/**
 * The Secret object name for a Kiln secret: lower-case DNS label, with a short hash of the
 * original name whenever lowering it changed something (Web_Token and web-token stay apart).
 */
export function secretObjectName(env: string, secret: string, version?: string): string {
  const lowered = secret.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '') || 'secret';
  const exact = lowered === secret;
  const tag = exact ? '' : `-${createHash('sha256').update(secret).digest('hex').slice(0, 6)}`;
  return `kiln-${env}-${lowered}${tag}${version ? `-${version}` : ''}`;
}

/**
 * A Secret holding one Kiln secret's value (the runtime creates it; `kiln render` never does).
 * Immutable: a new value is a new object, rolled out by a new group (issue: secret rotation).
 */
export function secretObject(p: { project: string; env: string; name: string; objectName: string; value: Buffer }, s: KubernetesSettings): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(p.objectName, s.namespace, { [K8S_LABEL.managedBy]: 'kiln', [K8S_LABEL.project]: p.project, [K8S_LABEL.env]: p.env }),
    type: 'Opaque',
    immutable: true,
    data: { [SECRET_KEY]: p.value.toString('base64') },
  };
}

/** The image reference the nodes run: by digest from the registry, or the node-imported name. */
export function imageReference(project: string, digest: string, s: KubernetesSettings): { image: string; pullPolicy: Container['imagePullPolicy'] } {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
  if (!hex) throw new Error(`not a sha256 digest: ${digest}`);
  if (s.registry) return { image: `${s.registry.replace(/\/+$/, '')}/kiln/${project}@sha256:${hex}`, pullPolicy: 'IfNotPresent' };
  return { image: `localhost/kiln/${project}:${hex}`, pullPolicy: 'Never' };
}
