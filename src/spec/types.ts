// The validated shape of kiln.yaml. The loader (spec/load.ts) produces these from YAML and
// reports every problem with file:line:column; nothing downstream re-validates.

export type RuntimeName = 'process' | 'podman' | 'kubernetes';
export const RUNTIMES: readonly RuntimeName[] = ['process', 'podman', 'kubernetes'];

export type DataEngine = 'sqlite' | 'postgres';
export const DATA_ENGINES: readonly DataEngine[] = ['sqlite', 'postgres'];

/** A flag value as written in kiln.yaml; `${...}` references are expanded at deploy. */
export type FlagValue = string | number | boolean;
export type FlagMap = Record<string, FlagValue>;

/**
 * How a service's flags are written on its command line (kiln.yaml `flags-style`): `equals`
 * `--name=value`, `space` `--name value`, `single-dash` `-name value` (runtime/args.ts).
 */
export type FlagStyle = 'equals' | 'space' | 'single-dash';
export const FLAG_STYLES: readonly FlagStyle[] = ['equals', 'space', 'single-dash'];
/** Where a service's build command runs (services.<svc>.app.build-in). */
export type BuildPlace = 'os' | 'host';
export const BUILD_PLACES: readonly BuildPlace[] = ['os', 'host'];

export interface HealthCheckSpec {
  /** HTTP path requested on the server's port; 2xx means healthy. */
  path: string;
  /** Milliseconds between checks while waiting for a new server. */
  intervalMs: number;
  /** Milliseconds before one check counts as failed. */
  timeoutMs: number;
  /** Consecutive failed checks of a running, once-healthy server before it is replaced. */
  retries: number;
  /** Milliseconds a new server may take to become healthy before the deploy fails. */
  graceMs: number;
  /** Crash-loop detection and restart backoff of the role's groups; absent: the defaults. */
  crashLoop?: CrashLoopSpec;
}

/** When lost servers make a group crash-loop, and how restarts are paced (server/crash-loop.ts). */
export interface CrashLoopSpec {
  /** Failures older than this many milliseconds no longer count. */
  windowMs: number;
  /** Failures within the window that make a crash loop (at least replicas + 1). */
  minFailures: number;
  /** Wait before the first restart after a failure; doubles per failure in the window. */
  initialBackoffMs: number;
  /** The longest wait between restarts. */
  maxBackoffMs: number;
}

/** One step of a canary: the new group's share of requests, for a time or until promoted by hand. */
export interface CanaryStepSpec {
  /** Percent of the cluster's requests, 0.01-99.99. */
  weight: number;
  /** Milliseconds the step lasts at least (absent with `pause`). */
  forMs?: number;
  /** `manual`: the step lasts until `kiln rollout promote`. */
  pause?: 'manual';
}

/** What a canary is compared on against the stable group over each step (canary/gates.ts). */
export interface CanaryGatesSpec {
  /** Requests each group must have answered in a step before it can pass or fail. */
  minRequests: number;
  /** Percentage points the canary's 5xx share may be above the stable group's. */
  max5xxIncrease: number;
  /** Canary p99 / stable p99 limit. */
  maxP99Ratio: number;
  /** Milliseconds a p99 counts as at least, in the ratio. */
  p99FloorMs: number;
  /** Milliseconds at the start of each step the gates do not count (absent in older rows: 0). */
  warmupMs?: number;
  prometheus?: { url: string; query: string; max: number };
}

export interface CanarySpec {
  steps: CanaryStepSpec[];
  gates: CanaryGatesSpec;
}

export interface RoleSpec {
  name: string;
  replicas: number;
  /** Name of the port the role listens on (e.g. "http"); Kiln picks the number and passes --port. */
  port?: string;
  health?: HealthCheckSpec;
  flags: FlagMap;
  /** Positional arguments replacing the service's (absent: the service's). */
  args?: string[];
  /** Without a health check: ms a new server must keep running to count as started (absent: NO_PORT_SETTLE_MS). */
  settleMs?: number;
  /** kiln.yaml's `strategy.canary`: what `kiln deploy --canary` does for this role. */
  canary?: CanarySpec;
}

export interface AppSpec {
  /** Directory of the app's source, relative to kiln.yaml. */
  path: string;
  /** Command run in a scratch copy of `path` to build the artifact; none means copy as is. */
  build?: string[];
  /** Subdirectory of the scratch copy that becomes the artifact (default: all of it). */
  output?: string;
  /** Command that starts one server; arguments naming files of the app are resolved in it. */
  run: string[];
  /** Files and directories left out of the artifact (relative to the output root). */
  exclude: string[];
  /** `host`: the build always runs on this host; absent (`os`): in the OS image when an environment runs on podman. */
  buildIn?: BuildPlace;
  /** The build command's only environment variables besides PATH, HOME, TMPDIR, LANG and TZ; recorded in the tag. */
  buildEnv: Record<string, string>;
}

export interface ServiceSpec {
  name: string;
  os?: string;
  app: AppSpec;
  roles: Record<string, RoleSpec>;
  flags: FlagMap;
  flagsStyle: FlagStyle;
  /** Positional arguments after the flags; `${...}` references as in flag values. */
  args: string[];
}

export interface DebianOsSpec {
  kind: 'debian';
  suite: string;
  components: string[];
  include: string[];
  mirror?: string;
}
export interface ImportOsSpec {
  kind: 'import';
  /** Path of a root-filesystem tar or an OCI archive. */
  from: string;
}
export type OsSpec = (DebianOsSpec | ImportOsSpec) & { name: string };

export interface DataStoreSpec {
  name: string;
  engine: DataEngine;
  changelog: string;
  /** How long a migration waits for another connection's lock (default 30 s). */
  lockWaitMs?: number;
}

/** Where one store lives in one environment (kiln.yaml environments.<env>.data.<store>). */
export interface DataBindingSpec {
  /** Overrides the store's engine in this environment. */
  engine?: DataEngine;
  /** Name of the secret holding the PostgreSQL URL (from "${secret.<name>}"); never the URL. */
  urlSecret?: string;
  /** SQLite file, relative to kiln.yaml. */
  path?: string;
}

/** `environments.<env>.podman`: passed to podman, never hard-coded (MACHINE-NOTES.md). */
export interface PodmanEnvSpec {
  ociRuntime?: string;
  ulimits: string[];
  network?: string;
  /** Absolute path. */
  containersConf?: string;
  stopTimeoutMs?: number;
}

/** `environments.<env>.kubernetes`: passed in, never guessed (runtime/kubernetes/settings.ts). */
export interface KubernetesEnvSpec {
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
  /** Absolute path of the registry's CA directory (ca.crt), for a private CA (skopeo --dest-cert-dir). */
  registryCertDir?: string;
  /** uid and gid every server's container runs as (never root). */
  runAsUser: number;
}

export interface EnvironmentSpec {
  name: string;
  runtime: RuntimeName;
  podman?: PodmanEnvSpec;
  kubernetes?: KubernetesEnvSpec;
  /** Per service, per role: replica count overriding the role's default. */
  scale: Record<string, Record<string, number>>;
  /** Per service: flag values overriding the service's and role's flags. */
  flags: Record<string, FlagMap>;
  /** Per service: positional arguments replacing the service's and role's. */
  args: Record<string, string[]>;
  /** Per store: where it lives in this environment (absent: the defaults). Omitted when empty. */
  data?: Record<string, DataBindingSpec>;
  /** `kiln maintenance on`: the page (absolute path; absent: the built-in one) and Retry-After. */
  maintenance?: { page?: string; retryAfterMs: number };
}

/** kiln.yaml `proxy.engine`: Kiln's own proxy (the default) or HAProxy driven by Kiln. */
export const PROXY_ENGINES = ['kiln', 'haproxy'] as const;
export type ProxyEngine = (typeof PROXY_ENGINES)[number];

export interface ProxySpec {
  /** What carries the traffic (docs/proxy.md). */
  engine: ProxyEngine;
  /** The HAProxy binary of the `haproxy` engine. */
  haproxy: string;
  /** Loopback address the public listener binds. */
  host: string;
  /** Port of the public listener that routes by Host header. */
  port: number;
  /** An upgraded (WebSocket) connection with no bytes either way for this long is closed. */
  tunnelIdleTimeoutMs?: number;
  /** CIDR ranges of proxies in front of this one, whose forwarding headers are believed. */
  trustedProxies?: string[];
}

/** kiln.yaml `metrics`: where the two /metrics listeners bind (absent: none is opened). */
export interface MetricsSpec {
  host: string;
  /** The control plane's /metrics. */
  port: number;
  /** The proxy's own /metrics. */
  proxyPort: number;
  /** `allow-public`: `host` may be off loopback (checked at load, and again by the listeners). */
  allowPublic: boolean;
}

export interface ProjectSpec {
  /** Absolute path of kiln.yaml. */
  file: string;
  /** Directory holding kiln.yaml; relative paths in the spec are resolved from here. */
  dir: string;
  project: string;
  domain: string;
  proxy: ProxySpec;
  /** Prometheus metrics listeners; absent when kiln.yaml has no `metrics`. */
  metrics?: MetricsSpec;
  /** Central logs: retention of .kiln/logs.db and where lines are exported. */
  logs: { retention: { maxAgeMs?: number; maxBytes?: number }; export: { otlp?: string; loki?: string } };
  /** Kiln's DNS server (UDP and TCP on one port). */
  /** rateLimit: UDP answers per second per source address; 0: none. */
  dns: { host: string; port: number; rateLimit?: number };
  os: Record<string, OsSpec>;
  data: Record<string, DataStoreSpec>;
  services: Record<string, ServiceSpec>;
  environments: Record<string, EnvironmentSpec>;
}
