// The few Kubernetes object shapes Kiln writes, typed only as far as Kiln fills them. They are
// plain data (what `kubectl apply -f` reads), so tests deepEqual them and `kiln render` prints them.
export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Probe {
  httpGet: { path: string; port: string };
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export type Volume =
  | { name: string; emptyDir: { sizeLimit?: string; medium?: string } }
  | { name: string; projected: { defaultMode: number; sources: Array<{ secret: { name: string; items: Array<{ key: string; path: string }> } }> } };

export interface Container {
  name: string;
  image: string;
  imagePullPolicy: 'IfNotPresent' | 'Never' | 'Always';
  command: string[];
  args: string[];
  workingDir: string;
  env: Array<{ name: string; value: string }>;
  ports: Array<{ name: string; containerPort: number; protocol: 'TCP' }>;
  readinessProbe?: Probe;
  securityContext: {
    readOnlyRootFilesystem: boolean;
    allowPrivilegeEscalation: boolean;
    runAsNonRoot: boolean;
    runAsUser: number;
    runAsGroup: number;
    capabilities: { drop: string[] };
  };
  volumeMounts: VolumeMount[];
}

export interface PodSpec {
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; fsGroup: number; seccompProfile: { type: 'RuntimeDefault' } };
  containers: Container[];
  volumes: Volume[];
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    revisionHistoryLimit: number;
    progressDeadlineSeconds: number;
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
}

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: {
    type: 'ClusterIP';
    selector: Record<string, string>;
    ports: Array<{ name: string; port: number; targetPort: string; protocol: 'TCP' }>;
  };
}

export interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type: 'Opaque';
  immutable: boolean;
  data: Record<string, string>;
}

export type KubeObject = Deployment | Service | Secret;
