// The control-plane API contract, written once with the schema language of kiln.yaml (spec/dsl.ts):
// each call's method, path, request (query or JSON body) and answer. The API validates requests
// with it (contract-validate.ts), the CLI's client and the dashboard take their types from it, and
// schema/api.schema.json is generated from it (contract-schema.ts). Shapes that are TypeScript
// unions elsewhere (a release diff, a deploy's outcome) are `external`: typed, described by name.
import { partProblem, MAX_LABEL } from '../names/names.js';
import { bool, external, int, items, list, mapOf, nullable, obj, oneOf, optional, required, str, type AnyNode, type Infer, type ObjectNode } from '../spec/dsl.js';
import type { ReleaseDiff } from '../release/diff.js';
import type { ReleaseRecord } from '../release/types.js';
import type { IsolationView } from '../isolation/isolation.js';
import type { StatusView } from './status.js';

const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
const name = (description?: string) => str('name', { check: partProblem, pattern: NAME_PATTERN, maxLength: MAX_LABEL, description });
const text = (description?: string) => str('string', { description });
const count = (description?: string) => int(0, Number.MAX_SAFE_INTEGER, description);
/** Query values arrive as text; the handler reads the number. */
const digits = (description?: string) => str('whole number', { check: (s) => (/^[0-9]+$/.test(s) ? null : 'must be a whole number'), pattern: '^[0-9]+$', description });

// ---- answers ---------------------------------------------------------------------------------

export const statusServer = obj({
  name: required(name(), 'The server, e.g. api-http-dev-v002-1.'),
  state: required(text(), 'starting, healthy, unhealthy (live servers only).'),
  pid: required(nullable(count()), 'Its process id where the runtime has one.'),
  port: required(nullable(count()), 'The port it listens on, if its role has one.'),
  since: required(text(), 'When its state last changed (ISO time).'),
  detail: required(nullable(text()), 'Why it is in that state, when known.'),
});

export const statusGroup = obj({
  name: required(name(), 'The server group, e.g. api-http-dev-v002.'),
  build: required(count(), 'Its build number in the cluster.'),
  release: required(text(), 'The release it runs.'),
  state: required(text(), 'creating, canary, active, draining, disabled, failed.'),
  replicas: required(count(), 'Servers it should have.'),
  healthy: required(count(), 'Servers that pass their health check.'),
  servers: required(items(statusServer), 'Its live servers.'),
  failure: required(nullable(text()), 'Why it failed or crash-loops, and what to do.'),
  image: optional(text(), 'The container image it runs (digest); absent on the process runtime.'),
  traffic: optional(
    obj({
      share: required(nullable(int(0, 100)), 'Percent of the cluster\'s requests it answered over the last seconds (proxy counts); null: no requests then.'),
      answered: required(count(), 'Requests it answered since the proxy started.'),
    }),
    'From the proxy\'s counts (added by the control plane; absent when the proxy does not answer).',
  ),
});

export const statusCluster = obj({
  name: required(name(), 'The cluster, e.g. api-http-dev.'),
  env: required(name(), 'Its environment.'),
  service: required(name(), 'Its service.'),
  role: required(name(), 'Its role.'),
  host: required(nullable(text()), 'The load balancer\'s DNS name; null without a port.'),
  url: required(nullable(text()), 'The load balancer\'s URL.'),
  active: required(nullable(name()), 'The group that takes its traffic.'),
  groups: required(items(statusGroup), 'Live groups, oldest first.'),
  fallbacks: optional(count(), 'Requests its kept group served because the active group accepted none.'),
});

export const statusResponse = obj({
  project: required(name(), 'The project.'),
  env: required(nullable(name()), 'The environment asked for, or null for all.'),
  lastDeployment: required(
    nullable(obj({ id: required(count(), 'Its id.'), release: required(text(), 'Its release.'), state: required(text(), 'running, succeeded, failed, interrupted.'), kind: required(text(), 'deploy or rollback.') })),
    'The environment\'s latest deployment (with env only).',
  ),
  serving: optional(mapOf('environment', { check: partProblem, pattern: NAME_PATTERN }, list(text())), 'Per environment, the releases its active groups run.'),
  clusters: required(items(statusCluster), 'Every cluster.'),
  storage: optional(
    obj({ ok: required(bool(), 'Whether .kiln can be written.'), message: required(nullable(text()), 'Why not.'), since: required(nullable(text()), 'Since when.') }),
    'Whether the control plane can write .kiln.',
  ),
  isolation: optional(external<IsolationView>('IsolationView (src/isolation/isolation.ts)'), 'Who servers run as.'),
});

export const eventRow = obj({
  id: required(count(), 'Increasing; the resume point of the live stream (SSE id).'),
  at: required(text(), 'When (ISO time).'),
  deployment_id: required(nullable(count()), 'The deployment it belongs to.'),
  env: required(nullable(text()), 'Its environment.'),
  cluster: required(nullable(text()), 'Its cluster.'),
  subject: required(nullable(text()), 'The group or server it is about.'),
  kind: required(text(), 'e.g. deploy.started, cluster.switched, group.failed.'),
  message: required(text(), 'What happened, for people.'),
});

export const deploymentRow = obj({
  id: required(count(), 'The deployment.'),
  env: required(name(), 'Its environment.'),
  release: required(text(), 'The release deployed (or rolled back to).'),
  kind: required(oneOf(['deploy', 'rollback'] as const), 'What it was.'),
  state: required(text(), 'running, succeeded, failed, interrupted.'),
  startedAt: required(text(), 'Start (ISO time).'),
  finishedAt: required(nullable(text()), 'End (ISO time), null while running.'),
  error: required(nullable(text()), 'Why it failed.'),
  by: required(nullable(text()), 'Who asked: "cli (<user>)", "dashboard", "control plane: crash loop"; null when not recorded.'),
});

export const releaseSummary = obj({
  name: required(text(), 'r1, r2, ...'),
  number: required(count(), 'Its number.'),
  digest: required(text(), 'Digest of its manifest.'),
  parent: required(nullable(text()), 'The release it was made after.'),
  createdAt: required(text(), 'When (ISO time).'),
});

/** One tag of a release, of any of the three streams. */
export const releaseTag = obj({
  stream: required(text(), 'os/<base>, data/<store> or app/<service>.'),
  tag: required(text(), 'The tag.'),
  digest: required(nullable(text()), 'The digest it is bound to (data tags: the changelog checksum).'),
  service: required(nullable(text()), 'The service it is part of (os and app tags).'),
});

export const logLine = obj({
  id: required(count(), 'Increasing; the resume point of the live stream (SSE id).'),
  ts: required(text(), 'When Kiln read it (ISO time).'),
  project: required(text(), 'Project.'),
  env: required(text(), 'Environment.'),
  service: required(text(), 'Service.'),
  role: required(text(), 'Role.'),
  cluster: required(text(), 'Cluster.'),
  group: required(text(), 'Server group.'),
  server: required(text(), 'Server.'),
  stream: required(oneOf(['log', 'stdout', 'stderr', 'kiln'] as const), 'Which of the server\'s files.'),
  text: required(text(), 'The line.'),
});

// ---- requests ----------------------------------------------------------------------------------

const logsQuery = obj({
  env: optional(text(), 'Only this environment.'),
  cluster: optional(text(), 'Only this cluster.'),
  group: optional(text(), 'Only this server group.'),
  server: optional(text(), 'Only this server.'),
  stream: optional(text(), 'log, stdout, stderr or kiln.'),
  service: optional(text(), 'Only this service.'),
  role: optional(text(), 'Only this role.'),
  project: optional(text(), 'Only this project.'),
  since: optional(text(), 'From this time on (ISO, or a duration back such as 10m).'),
  until: optional(text(), 'Before this time.'),
  grep: optional(text(), 'A substring or /regex/flags.'),
  limit: optional(digits(), 'How many of the newest lines (default 100).'),
  after: optional(digits(), 'Lines after this id.'),
  follow: optional(text(), '1: NDJSON, then every new line (GET /v1/logs only).'),
});

/** How the answer is sent: one JSON value, NDJSON progress then a result line, or Server-Sent Events. */
export type Answer = 'json' | 'ndjson' | 'sse';

export interface CallDef<Q extends ObjectNode | null, B extends ObjectNode | null, R extends AnyNode, M extends 'GET' | 'POST' = 'GET' | 'POST', A extends Answer = Answer> {
  readonly method: M;
  readonly path: string;
  readonly summary: string;
  readonly query: Q;
  readonly body: B;
  readonly answer: A;
  readonly response: R;
}
const call = <Q extends ObjectNode | null, B extends ObjectNode | null, R extends AnyNode, M extends 'GET' | 'POST', A extends Answer>(d: CallDef<Q, B, R, M, A>): CallDef<Q, B, R, M, A> => d;

const deployOutcome = external<Record<string, unknown>>('deploy outcome (plan with --dry-run, else groups switched; src/deploy/execute.ts, canary.ts)');

export const apiCalls = {
  health: call({ method: 'GET', path: '/v1/health', summary: 'Whether the control plane answers.', query: null, body: null, answer: 'json', response: obj({ ok: required(bool(), 'Always true.'), pid: required(count(), 'Its process id.') }) }),
  status: call({ method: 'GET', path: '/v1/status', summary: 'Clusters, groups and servers with health and traffic (kiln status).', query: obj({ env: optional(name(), 'Only this environment.') }), body: null, answer: 'json', response: statusResponse }),
  events: call({
    method: 'GET',
    path: '/v1/events',
    summary: 'An environment\'s newest events, oldest first.',
    query: obj({ env: optional(name(), 'The environment (without: events about no environment).'), limit: optional(digits(), 'How many (default 50).') }),
    body: null,
    answer: 'json',
    response: items(eventRow),
  }),
  deployments: call({
    method: 'GET',
    path: '/v1/deployments',
    summary: 'An environment\'s deployments and rollbacks, newest first (the timeline).',
    query: obj({ env: required(name(), 'The environment.'), limit: optional(digits(), 'How many (default 50).') }),
    body: null,
    answer: 'json',
    response: items(deploymentRow),
  }),
  releases: call({ method: 'GET', path: '/v1/releases', summary: 'Every release, oldest first (kiln release list).', query: null, body: null, answer: 'json', response: items(releaseSummary) }),
  release: call({
    method: 'GET',
    path: '/v1/release',
    summary: 'One release: its manifest and its tags across the three streams (kiln release show).',
    query: obj({ name: required(text(), 'The release, e.g. r2.') }),
    body: null,
    answer: 'json',
    response: obj({ release: required(external<ReleaseRecord>('ReleaseRecord (src/release/types.ts)'), 'The release and its manifest.'), tags: required(items(releaseTag), 'Its tags.') }),
  }),
  releaseDiff: call({
    method: 'GET',
    path: '/v1/release-diff',
    summary: 'What changed between two releases (kiln release diff).',
    query: obj({ from: required(text(), 'The older release.'), to: required(text(), 'The newer release.') }),
    body: null,
    answer: 'json',
    response: external<ReleaseDiff>('ReleaseDiff (src/release/diff.ts)'),
  }),
  logs: call({ method: 'GET', path: '/v1/logs', summary: 'Servers\' log lines (kiln logs); follow=1 streams NDJSON.', query: logsQuery, body: null, answer: 'json', response: obj({ lines: required(items(logLine), 'Oldest first.') }) }),
  logStream: call({
    method: 'GET',
    path: '/v1/logs/stream',
    summary: 'Server-Sent Events: `line` messages (a log line, id = its id), first the newest `limit`, then every new one. Resumes after Last-Event-ID.',
    query: logsQuery,
    body: null,
    answer: 'sse',
    response: logLine,
  }),
  live: call({
    method: 'GET',
    path: '/v1/stream',
    summary: 'Server-Sent Events: `event` messages (an event row, id = its id) and `status` messages (the status answer, whenever it changes). Resumes after Last-Event-ID.',
    query: obj({ env: optional(name(), 'Only this environment.') }),
    body: null,
    answer: 'sse',
    response: eventRow,
  }),
  deploy: call({
    method: 'POST',
    path: '/v1/deploy',
    summary: 'Deploy a release to an environment (kiln deploy); dryRun answers the plan and changes nothing.',
    query: null,
    body: obj({
      env: required(name(), 'The environment.'),
      release: required(text(), 'The release, e.g. r2.'),
      dryRun: optional(bool(), 'Answer the plan only.'),
      canary: optional(bool(), 'Through the roles\' canary steps.'),
      digest: optional(text(), 'Deploy only if the release has this digest (kiln promote).'),
    }),
    answer: 'ndjson',
    response: deployOutcome,
  }),
  rollback: call({
    method: 'POST',
    path: '/v1/rollback',
    summary: 'Re-enable the kept groups of an environment (kiln rollback); dryRun answers the steps only.',
    query: null,
    body: obj({ env: required(name(), 'The environment.'), cluster: optional(name(), 'Only this cluster.'), dryRun: optional(bool(), 'Answer the steps only.') }),
    answer: 'ndjson',
    response: obj({
      deployment: optional(count(), 'The rollback\'s deployment id (absent with dryRun).'),
      steps: required(items(obj({ cluster: required(name(), 'The cluster.'), from: required(name(), 'Group now active.'), to: required(name(), 'Group re-enabled.') })), 'One per cluster.'),
    }),
  }),
  rollout: call({
    method: 'POST',
    path: '/v1/rollout',
    summary: 'Steer a canary in progress (kiln rollout status|promote|pause|resume|abort).',
    query: null,
    body: obj({
      action: required(oneOf(['status', 'promote', 'pause', 'resume', 'abort'] as const), 'What to do.'),
      cluster: optional(text(), 'The canary\'s cluster.'),
      env: optional(text(), 'Its environment.'),
    }),
    answer: 'json',
    response: external<Record<string, unknown>>('rollout answer {action, message, rollout} (src/server/rollout.ts)'),
  }),
  down: call({
    method: 'POST',
    path: '/v1/down',
    summary: 'Stop an environment\'s servers, or everything and the proxy (kiln down).',
    query: null,
    body: obj({ env: optional(text(), 'Only this environment; without: everything, then the control plane stops.') }),
    answer: 'ndjson',
    response: external<Record<string, unknown>>('{groups, stopped?}'),
  }),
  envCreate: call({
    method: 'POST',
    path: '/v1/env/create',
    summary: 'Create an environment from a release (kiln env create).',
    query: null,
    body: obj({
      name: required(text(), 'The new environment.'),
      release: required(text(), 'The release it runs.'),
      like: optional(text(), 'The environment whose settings it copies.'),
      dataFrom: optional(text(), 'The environment whose data snapshot it starts from.'),
      freshSnapshot: optional(bool(), 'Take a new snapshot of dataFrom first.'),
    }),
    answer: 'ndjson',
    response: external<Record<string, unknown>>('{env, release, like, replicas} (src/env/create.ts)'),
  }),
  envDestroy: call({
    method: 'POST',
    path: '/v1/env/destroy',
    summary: 'Destroy a created environment: servers, routes, names, replicas, secrets, logs (kiln env destroy).',
    query: null,
    body: obj({ name: required(text(), 'The environment.') }),
    answer: 'ndjson',
    response: external<Record<string, unknown>>('{env, groups, removed} (src/env/destroy.ts)'),
  }),
  promote: call({
    method: 'POST',
    path: '/v1/promote',
    summary: 'Deploy to one environment exactly the release that ran healthy in another (kiln promote).',
    query: null,
    body: obj({
      release: optional(text(), 'The release.'),
      from: optional(text(), 'Where it ran healthy.'),
      to: optional(text(), 'Where it goes.'),
      force: optional(bool(), 'Even if it never ran healthy there.'),
    }),
    answer: 'ndjson',
    response: deployOutcome,
  }),
  traffic: call({
    method: 'POST',
    path: '/v1/traffic',
    summary: 'A cluster\'s traffic mode: pause, resume, maintenance on|off (kiln pause|resume|maintenance); its body is checked by its handler (src/server/traffic.ts).',
    query: null,
    body: null,
    answer: 'ndjson',
    response: external<Record<string, unknown>>('TrafficResult (src/server/traffic.ts)'),
  }),
} as const;

export type ApiCalls = typeof apiCalls;
export type CallName = keyof ApiCalls;
type NodeOut<N> = N extends AnyNode ? Infer<N> : Record<string, never>;
export type QueryOf<K extends CallName> = NodeOut<ApiCalls[K]['query']>;
export type BodyOf<K extends CallName> = NodeOut<ApiCalls[K]['body']>;
export type ResponseOf<K extends CallName> = Infer<ApiCalls[K]['response']>;
/** Calls answered with one JSON value to a GET, and those answered with NDJSON progress. */
export type JsonGetCall = { [K in CallName]: ApiCalls[K] extends CallDef<infer _Q, infer _B, infer _R, 'GET', 'json'> ? K : never }[CallName];
export type StreamCall = { [K in CallName]: ApiCalls[K] extends CallDef<infer _Q, infer _B, infer _R, 'POST', 'ndjson'> ? K : never }[CallName];

export type StatusResponse = Infer<typeof statusResponse>;
export type EventRowJson = Infer<typeof eventRow>;
export type DeploymentJson = Infer<typeof deploymentRow>;
export type ReleaseTag = Infer<typeof releaseTag>;

// The hand-written answer types of the code must be what the contract says, both ways: a field
// added to one and not the other fails the build here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const STATUS_MATCHES_CONTRACT: Same<StatusView, StatusResponse> = true;
