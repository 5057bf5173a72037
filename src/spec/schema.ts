// The shape of kiln.yaml, written once. The validator, schema/kiln.schema.json and
// docs/kiln-yaml.md are all derived from this; change a key here and regenerate (generate.ts).
// Rules that need more than one key at a time (dangling references, cluster names) live in
// semantics.ts.
import { isIP } from 'node:net';
import path from 'node:path';
import { MAX_LABEL, partProblem } from '../names/names.js';
import { BUILD_PLACES, DATA_ENGINES, FLAG_STYLES, PROXY_ENGINES, RUNTIMES } from './types.js';
import { FLAG_REFERENCE_FORMS } from './flagref.js';
import { cidrProblem } from '../util/cidr.js';
import {
  bool,
  duration,
  int,
  items,
  list,
  mapOf,
  obj,
  num,
  oneOf,
  optional,
  percent,
  required,
  scalar,
  shorthand,
  str,
  variant,
  withDefault,
  type Infer,
  type StringCheck,
} from './dsl.js';

const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
const nameKey = { check: partProblem, pattern: NAME_PATTERN };
const name = (description?: string) => str('name', { check: partProblem, pattern: NAME_PATTERN, maxLength: MAX_LABEL, description });

const FLAG_KEY = /^[a-z][a-z0-9-]*$/;
const flagKey = {
  check: (k: string) => (FLAG_KEY.test(k) ? null : 'must be lower-case letters, digits and dashes, starting with a letter ([a-z][a-z0-9-]*)'),
  pattern: FLAG_KEY.source,
};

const DNS_LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const dnsName: StringCheck = (s) =>
  s.length <= 253 && DNS_NAME.test(s) ? null : 'must be a DNS name: dot-separated labels of [a-z0-9-], each at most 63 characters';

const httpUrl: StringCheck = (s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? null : 'must be an http:// or https:// URL';
  } catch {
    return 'must be an http:// or https:// URL';
  }
};
const hostCheck: StringCheck = (s) => (isIP(s) || dnsName(s) === null ? null : 'must be an IP address or a host name');

/** A path inside the project: relative to kiln.yaml and not climbing out of its directory. */
const insidePath: StringCheck = (s) => {
  if (s.trim() === '') return 'is empty';
  if (path.isAbsolute(s)) return 'must be relative to the directory of kiln.yaml';
  const n = path.posix.normalize(s.replaceAll('\\', '/'));
  if (n === '..' || n.startsWith('../')) return 'must stay inside the project directory (no leading "..")';
  return null;
};
const nonEmpty: StringCheck = (s) => (s.trim() === '' ? 'is empty' : null);
const urlCheck: StringCheck = (s) => (/^(https?|file):\/\/\S+$/.test(s) ? null : 'must be an http://, https:// or file:// URL');
const httpPath: StringCheck = (s) => (/^\/\S*$/.test(s) ? null : 'must be an HTTP path starting with "/"');
const DEB_NAME = /^[a-z0-9][a-z0-9+.-]*$/;
const debName: StringCheck = (s) => (DEB_NAME.test(s) ? null : 'must be a Debian name ([a-z0-9][a-z0-9+.-]*)');
const deb = (label: string) => str(label, { check: debName, pattern: DEB_NAME.source });

const projectPath = () => str('path', { check: insidePath });
// HOME and TMPDIR point into the build's scratch directory; a build must not be sent elsewhere.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const buildEnvKey = {
  check: (k: string) =>
    !ENV_NAME.test(k) ? 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)' : k === 'HOME' || k === 'TMPDIR' ? 'is set by Kiln (the build\'s scratch directory)' : null,
  pattern: ENV_NAME.source,
};
const command = () => list(str('argument', { check: nonEmpty }), 1);

const flags = () =>
  mapOf(
    'flag',
    flagKey,
    scalar(
      'A string or number is the flag\'s value; `true` gives the bare flag (`--name`), `false` leaves the flag out (also Kiln\'s own `port` and `log-file`). Strings may contain references expanded at deploy (' +
        FLAG_REFERENCE_FORMS.join(' ') +
        '); $$ is a literal $. Write "true" or "false" in quotes for the value itself.',
    ),
  );

/** Positional arguments: strings with the same references as flag values. */
const args = () => list(str('argument', { description: 'An argument; `${...}` references as in flag values.' }));

// Defaults must equal CRASH_LOOP_DEFAULTS in server/crash-loop.ts (a unit test checks).
const crashLoop = obj({
  window: withDefault(duration(), 'Failures older than this no longer count toward a crash loop.', 60_000),
  failures: withDefault(
    int(1, 1000),
    'Servers lost within the window that make a crash loop; a group needs at least one more than its replicas, so one host-wide kill is not a loop.',
    3,
  ),
  backoff: withDefault(
    obj({
      initial: withDefault(duration(), 'Wait before a new server after the first failure in the window; it doubles with each further failure.', 500),
      max: withDefault(duration(), 'The longest wait between new servers of a failing group.', 30_000),
    }),
    'How new servers of a failing group are paced.',
  ),
});

const health = obj({
  path: required(str('HTTP path', { check: httpPath, pattern: '^/' }), 'HTTP path requested on the role\'s port; a 2xx answer means healthy.'),
  interval: withDefault(duration(), 'Time between checks while a new server starts.', 100),
  timeout: withDefault(duration(), 'Time after which one check counts as failed.', 2000),
  retries: withDefault(int(0, 100), 'Consecutive failed checks after which a running server is replaced.', 3),
  grace: withDefault(duration(), 'Time a new server may take to become healthy before the deploy fails.', 30_000),
  'crash-loop': optional(
    crashLoop,
    'When servers lost after the switch make a group crash-loop (it is then rolled back to the kept group) and how its restarts are paced. Defaults: window 60s, failures 3, backoff 500ms doubling up to 30s; roles without a health check use them too.',
  ),
});

// Canary releases (docs/canary.md; the runner is src/canary/). Defaults must equal
// CANARY_GATE_DEFAULTS in canary/gates.ts (a unit test checks).
const canaryStep = obj({
  weight: required(
    percent(0.01, 99.99),
    'Share of the cluster\'s requests the new group takes during the step (sticky per client). After the last step passes, the new group takes all of them.',
  ),
  for: optional(duration(), 'How long the step lasts at least; it passes when this has elapsed and its gates pass. Give `for` or `pause`.'),
  pause: optional(oneOf(['manual'] as const), '`manual`: the step lasts until `kiln rollout promote` (its gates can still abort it). Give `for` or `pause`.'),
});

const canaryGates = obj({
  'min-requests': withDefault(
    int(1, 100_000_000),
    'Requests each group (the canary and the stable one) must have answered within a step before the step can pass or fail. Fewer: inconclusive, the step holds (it never passes on too little data).',
    100,
  ),
  'max-5xx-increase': withDefault(
    percent(0, 100),
    'How much higher the canary\'s share of 5xx answers may be than the stable group\'s over the step, in percentage points; above it the canary is aborted.',
    1,
  ),
  'max-p99-ratio': withDefault(
    num(1, 1000),
    'How many times the stable group\'s p99 latency the canary\'s p99 may be over the step; above it the canary is aborted.',
    2,
  ),
  'p99-floor': withDefault(
    duration(),
    'A p99 below this counts as this in the ratio, so that jitter between two fast groups (0.4 ms vs 0.9 ms) is not a failure.',
    5,
  ),
  warmup: withDefault(
    duration(),
    'Time at the start of each step whose requests the gates leave out: a group that has just been given more requests (new connections, servers still warming up) answers slower for a moment, which is not what it is judged on.',
    0,
  ),
  prometheus: optional(
    obj({
      url: required(str('URL', { check: httpUrl, pattern: '^https?://' }), 'Base URL of the Prometheus server (its /api/v1/query is asked).'),
      query: required(
        str('PromQL query'),
        'Instant query evaluated as each step ends; `$cluster`, `$canary` and `$stable` are replaced by the cluster\'s and the groups\' names. It must return one number.',
      ),
      max: required(num(-1e12, 1e12), 'The largest value the query may return; above it (or no number at all) the canary is aborted.'),
    }),
    'An extra gate from a Prometheus server: a PromQL query with a limit.',
  ),
});

const canary = obj({
  steps: required(items(canaryStep, 1), 'The weights the new group goes through, in order, each for a time or until promoted by hand.'),
  gates: withDefault(canaryGates, 'What the new group is compared on against the stable one, from the proxy\'s own counts per step.'),
});

const role = obj({
  replicas: withDefault(int(0, 1000), 'Servers per group, unless the environment scales it.', 1),
  port: optional(name(), 'Name of the port the role listens on (e.g. http); Kiln picks the number and passes it as --port. Roles without a port (workers) take no traffic.'),
  health: optional(
    shorthand('path', health),
    'Health check on the role\'s port: a path (/healthz) or a mapping. Needs `port`.',
  ),
  flags: withDefault(flags(), 'Flags of this role\'s servers, added to and overriding the service\'s.'),
  args: optional(args(), 'Positional arguments of this role\'s servers, replacing the service\'s `args`.', 'the service\'s'),
  settle: optional(
    duration(),
    'Roles without a health check (workers): how long a new server must keep running to count as started, since nothing else can tell it is up. A deploy waits this long before it switches; a server that exits sooner fails the deploy.',
    '250ms',
  ),
  strategy: optional(
    obj({
      canary: optional(canary, 'Steps and gates used by `kiln deploy --canary` (process and podman runtimes; needs `port`).'),
    }),
    'How a deploy moves this role\'s traffic to a new group. Without it, or without --canary: blue/green, one switch.',
  ),
});

const app = obj({
  path: required(projectPath(), 'Directory of the app\'s source, relative to kiln.yaml; it must exist.'),
  build: optional(command(), 'Command run in a scratch copy of `path` to build the artifact, as a list of arguments. None: the source is the artifact.'),
  output: optional(projectPath(), 'Subdirectory of the scratch copy that becomes the artifact. Default: all of it.'),
  run: required(command(), 'Command that starts one server, as a list of arguments, run in the artifact\'s directory.'),
  exclude: withDefault(list(str('path', { check: insidePath })), 'Files and directories left out of the artifact, relative to its root.'),
  'build-in': withDefault(
    oneOf(BUILD_PLACES),
    'Where the build command runs. `os`: inside the newest tag of the service\'s OS image when an environment runs on podman (native modules then match the containers; the image must hold the build\'s tools), else on this host. `host`: always on this host, as the build user: for a build whose tools (npm) the OS image lacks; its native modules match this host\'s Node, so the process runtime can load them.',
    'os',
  ),
  'build-env': withDefault(
    mapOf('variable', buildEnvKey, scalar('Its value, passed as a string.')),
    'Environment variables the build command gets: these and PATH, LANG=C.UTF-8, TZ=UTC, and HOME and TMPDIR in the scratch directory, nothing else from the caller\'s environment. Names and values are recorded in the app tag, so never put a secret here.',
  ),
});

const service = obj({
  os: optional(name(), 'OS base the service\'s image is built on: the name of an entry in `os`.'),
  app: required(app, 'How the service\'s app is built and started.'),
  roles: required(
    mapOf('role', nameKey, role, 1),
    'The roles the service runs as (http, worker, ...): each role in each environment is a cluster with its own load balancer and name.',
  ),
  flags: withDefault(flags(), 'Flags of every server of the service, written as `flags-style` says, sorted by name, after the run command.'),
  'flags-style': withDefault(
    oneOf(FLAG_STYLES),
    'How each flag is written: `equals` one argument `--name=value`; `space` two arguments `--name` `value`; `single-dash` two arguments `-name` `value` (a one-letter name gives `-p 8080`). A bare flag (`true`) is `--name`, or `-name` with single-dash.',
    'equals',
  ),
  args: withDefault(args(), 'Positional arguments, after the flags (a program that stops reading flags at its first positional argument still sees them all).'),
});

const debian = obj(
  {
    suite: required(deb('suite'), 'Debian suite, e.g. bookworm.'),
    components: withDefault(list(deb('component'), 1), 'Archive components.', ['main']),
    include: withDefault(list(deb('package')), 'Packages installed on top of the minimal base.'),
    mirror: optional(str('URL', { check: urlCheck, pattern: '^(https?|file)://' }), 'Debian mirror URL. Default: the machine\'s own apt sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list) for the suite and its -updates and -security suites, read at build time.'),
  },
  'Built from Debian packages (mmdebstrap), reproducibly.',
);

const os = variant({
  debian: debian,
  import: str('path', { check: nonEmpty, description: 'Root-filesystem tar (optionally gzip-compressed) or OCI archive (`skopeo copy … oci-archive:x.tar`) to import, relative to kiln.yaml; an OCI archive\'s digests are checked.' }),
});

const dataStore = obj({
  engine: withDefault(oneOf(DATA_ENGINES), 'Database engine.', 'sqlite'),
  changelog: required(projectPath(), 'Directory of ordered migrations, relative to kiln.yaml.'),
  'lock-wait': optional(duration(), 'How long a migration (deploy, `kiln data migrate`) waits for a lock another connection holds on the store before it fails with DATA_LOCKED.', '30s'),
});

/** A store's URL is never written in kiln.yaml: it comes from a secret file. */
const SECRET_REF = /^\$\{secret\.[A-Za-z0-9_][A-Za-z0-9_-]*\}$/;
const secretRef: StringCheck = (s) =>
  SECRET_REF.test(s) ? null : 'must be a secret reference "${secret.<name>}": a store URL carries credentials, so it is read from a secret file, never written here';

const dataBinding = obj({
  engine: optional(oneOf(DATA_ENGINES), 'Engine of the store in this environment, overriding the store\'s `engine`.'),
  url: optional(
    str('secret reference', { check: secretRef, pattern: SECRET_REF.source }),
    'PostgreSQL only: "${secret.<name>}", the secret file holding the connection URL (postgres://user:password@host:port/database).',
  ),
  path: optional(
    projectPath(),
    'SQLite only: the database file, relative to kiln.yaml.',
    '.kiln/data/<environment>/<store>.db',
  ),
});

/** Settings of the podman runtime; none is needed on a normal cgroup-v2 host. */
const podmanSettings = obj({
  'oci-runtime': optional(str('program'), 'OCI runtime podman uses (podman --runtime), e.g. runc or crun.', "podman's default"),
  ulimits: withDefault(list(str('ulimit')), 'podman --ulimit values, e.g. [nofile=20000:20000].'),
  network: optional(str('network'), 'podman --network; `host` shares the host\'s network, so servers listen on its loopback and nothing is published.', 'a bridge; ports published on 127.0.0.1'),
  'containers-conf': optional(str('path'), 'containers.conf podman uses (CONTAINERS_CONF), relative to kiln.yaml or absolute.'),
  'stop-timeout': optional(duration(), 'How long a container may take to stop after SIGTERM before it is killed.', '5s'),
});

/** A registry reference: host[:port] and an optional path, no scheme, tag or digest. */
const REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/;
const registryCheck: StringCheck = (s) =>
  REGISTRY.test(s) ? null : 'must be a registry as host[:port][/path] (lower case, no scheme, tag or digest), e.g. registry.internal:5000/team';

/** Settings of the kubernetes runtime: which cluster, which namespace Kiln owns, where images go. */
const kubernetesSettings = obj({
  kubeconfig: optional(str('path'), 'kubeconfig file, relative to kiln.yaml or absolute.', '$KUBECONFIG, else ~/.kube/config'),
  context: optional(str('context'), 'Context of the kubeconfig.', 'its current-context'),
  namespace: required(name(), 'Namespace holding the environment\'s objects; Kiln changes only the objects it labels there.'),
  registry: optional(
    str('registry', { check: registryCheck, pattern: REGISTRY.source }),
    'Registry the nodes pull from; images are pushed there by digest.',
    'none: images are imported into the node (a local cluster)',
  ),
  'registry-cert-dir': optional(str('path'), 'Directory holding the registry\'s CA certificate (ca.crt) when it has a private CA; relative to kiln.yaml or absolute.'),
  'run-as-user': withDefault(int(1, 2_147_483_647), 'uid and gid of every server\'s container (never root).', 65532),
});

/** What `kiln maintenance on` answers with (the proxy's page and Retry-After). */
const maintenanceSettings = obj({
  page: optional(str('path'), 'HTML file answered with 503 while a cluster is in maintenance (at most 64 KiB), relative to kiln.yaml or absolute; read when maintenance is turned on.', 'a short built-in page'),
  'retry-after': withDefault(duration(), 'Retry-After of the maintenance answer: when clients should try again.', 60_000),
});

const environment = obj({
  runtime: withDefault(oneOf(RUNTIMES), 'Where the servers run.', 'process'),
  maintenance: optional(maintenanceSettings, '`kiln maintenance on <cluster>`: the page and Retry-After the proxy answers with.'),
  podman: optional(podmanSettings, 'Settings of the podman runtime (runtime: podman).'),
  kubernetes: optional(kubernetesSettings, 'Settings of the kubernetes runtime (runtime: kubernetes); required there.'),
  scale: withDefault(
    mapOf('service', nameKey, mapOf('role', nameKey, int(0, 1000))),
    'Replicas per service and role in this environment, overriding the role\'s `replicas`.',
  ),
  flags: withDefault(
    mapOf('service', nameKey, flags()),
    'Flag values per service in this environment, overriding the service\'s and roles\' flags.',
  ),
  args: withDefault(
    mapOf('service', nameKey, args()),
    'Positional arguments per service in this environment, replacing the service\'s and roles\' `args`.',
  ),
  data: withDefault(
    mapOf('store', nameKey, dataBinding),
    'Where each data store lives in this environment. A store not listed here is SQLite under .kiln/data/<environment>/ (or the store\'s engine, which then needs a binding).',
  ),
});

export const projectSchema = obj({
  project: required(name(), 'Project name: a DNS label part ([a-z0-9-]).'),
  domain: optional(str('DNS name', { check: dnsName, pattern: DNS_NAME.source, maxLength: 253 }), 'DNS zone of the project\'s clusters and server groups.', '<project>.test'),
  proxy: withDefault(
    obj({
      engine: withDefault(
        oneOf(PROXY_ENGINES),
        'What carries the traffic: `kiln` (the embedded `kiln proxy`, no install) or `haproxy` (HAProxy driven by Kiln: its configuration written from the route table, switches through its runtime API without a reload; docs/proxy.md, "The HAProxy engine").',
        'kiln',
      ),
      haproxy: withDefault(str('path'), 'The HAProxy binary the `haproxy` engine runs (2.6 or newer).', '/usr/sbin/haproxy'),
      host: withDefault(str('host', { check: hostCheck }), 'Address the proxy\'s public listener binds.', '127.0.0.1'),
      port: withDefault(int(0, 65535), 'Port of the proxy\'s public listener (routes by Host header).', 7080),
      'tunnel-idle-timeout': withDefault(
        duration(),
        'An upgraded (WebSocket) connection through the proxy is closed, both sides, after no byte has flowed either way for this long; `0s` never closes them.',
        3_600_000,
      ),
      'trusted-proxies': withDefault(
        list(str('address range', { check: cidrProblem })),
        'Addresses (CIDR ranges such as `10.0.0.0/8`, or single addresses) of proxies in front of Kiln\'s. Only from these are a client\'s `X-Forwarded-For`/`-Host`/`-Proto`, `Forwarded` and `X-Real-IP` passed on to servers; from anyone else they are dropped and the proxy sets its own (docs/proxy.md).',
      ),
    }),
    'The data plane (`kiln proxy`, or HAProxy).',
  ),
  dns: withDefault(
    obj({
      host: withDefault(str('host', { check: hostCheck }), 'Address Kiln\'s DNS server binds (UDP and TCP).', '127.0.0.1'),
      port: withDefault(int(0, 65535), 'Port of Kiln\'s DNS server; it answers only for `domain`.', 5353),
      'rate-limit': withDefault(
        int(0, 10_000_000),
        'UDP answers per second to one source address (bursts of twice this). Over it every second answer is an empty truncated one, so a real client retries over TCP (not limited), and the rest are dropped: a forged source gets no flood. `0`: no limit.',
        1000,
      ),
    }),
    'Kiln\'s DNS server, run by the control plane: cluster, group and server names of the zone.',
  ),
  metrics: optional(
    obj({
      host: withDefault(
        str('host', { check: hostCheck }),
        'Address both metrics listeners bind. Anything but a loopback address (127.0.0.0/8, ::1, localhost) is refused unless `allow-public` is true.',
        '127.0.0.1',
      ),
      port: withDefault(int(1, 65535), 'Port of the control plane\'s `/metrics` (deploys, rollbacks, reconciler, logs, DNS, API).', 9464),
      'proxy-port': withDefault(int(1, 65535), 'Port of the proxy\'s own `/metrics` (requests, latency, in-flight, upstream errors, fallbacks, tunnels, drains), served by the `kiln proxy` process so its numbers survive a control-plane restart.', 9465),
      'allow-public': withDefault(
        bool(),
        'Let `host` be an address other hosts can reach. The metrics name every cluster and server group and carry no authentication: put them on a network only Prometheus can reach.',
        false,
      ),
    }),
    'Prometheus metrics in the text exposition format, at `/metrics` on two listeners (docs/metrics.md). Absent: no metrics listener is opened.',
    'none',
  ),
  logs: withDefault(
    obj({
      retention: withDefault(
        obj({
          'max-age': withDefault(duration(), 'Lines older than this are deleted from the central store; `0s` keeps lines of any age.', 30 * 86_400_000),
          'max-size-mb': withDefault(int(0, 10_000_000), 'The central store is kept under this many megabytes, oldest lines first; `0`: no size bound.', 1024),
        }),
        'How long the central log store (.kiln/logs.db) keeps lines: on by default, checked after the DNS server is up and then every 10 minutes, a few hundred chunks per step so DNS and the API keep answering.',
      ),
      export: withDefault(
        obj({
          otlp: optional(str('URL', { check: httpUrl }), 'OpenTelemetry collector base URL; lines are POSTed to <url>/v1/logs as OTLP/HTTP JSON.'),
          loki: optional(str('URL', { check: httpUrl }), 'Loki base URL; lines are POSTed to <url>/loki/api/v1/push.'),
        }),
        'Where the control plane also sends every line, batched and retried; a down endpoint never blocks ingestion.',
      ),
    }),
    'Central logs: every server\'s --log-file, stdout and stderr, tailed by the control plane.',
  ),
  os: withDefault(mapOf('os', nameKey, os), 'OS bases, built from Debian packages or imported from an archive.'),
  data: withDefault(mapOf('store', nameKey, dataStore), 'Data stores and their migration changelogs.'),
  services: required(mapOf('service', nameKey, service, 1), 'The services of the project.'),
  environments: required(mapOf('environment', nameKey, environment, 1), 'Where releases run (dev, prod, ...).'),
});

/** kiln.yaml as validated, before cross-references are checked and names are filled in. */
export type RawProject = Infer<typeof projectSchema>;
