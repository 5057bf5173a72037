// The control plane's Prometheus metrics: deploys and rollbacks by outcome and duration, the
// reconciler's replacements and lost servers, crash loops, log ingestion (lines and lag), DNS
// queries by answer, API requests. Everything is fed through small hooks (RuntimeState's
// finished deployments, the event stream, the DNS server's and the log tailer's callbacks, the
// API server's), so the code that does the work does not know metrics exist.
import { HistogramCell, LATENCY_BUCKETS, OPERATION_BUCKETS } from '../metrics/histogram.js';
import { Registry, type CounterFamily, type HistogramFamily } from '../metrics/registry.js';
import { DNS_ANSWER_CLASSES, type DnsAnswerClass } from '../dns/answer-class.js';
import type { LineRun } from '../logs/store.js';
import type { LogTags } from '../logs/types.js';
import type { FinishedDeployment } from '../store/runtime-state.js';

/** Seconds from a line's write to its commit in .kiln/logs.db: a poll interval to a few seconds. */
const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The API's routes by name; anything else is counted as "other" (no label per path a client invents). */
const API_ROUTES = new Set([
  'GET /v1/health', 'GET /v1/status', 'GET /v1/logs', 'GET /v1/events',
  'GET /v1/deployments', 'GET /v1/releases', 'GET /v1/release', 'GET /v1/release-diff', 'GET /v1/stream', 'GET /v1/logs/stream',
  'POST /v1/deploy', 'POST /v1/rollback', 'POST /v1/down', 'POST /v1/env/create', 'POST /v1/env/destroy', 'POST /v1/promote', 'POST /v1/rollout',
]);

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  private readonly deploys: CounterFamily;
  private readonly deploySeconds: HistogramFamily;
  private readonly rollbacks: CounterFamily;
  private readonly rollbackSeconds: HistogramFamily;
  private readonly replacements: CounterFamily;
  private readonly lost: CounterFamily;
  private readonly crashLoops: CounterFamily;
  private readonly logLines: CounterFamily;
  private readonly logLag: HistogramCell;
  private readonly dnsByClass: { udp: Map<DnsAnswerClass, { value: number }>; tcp: Map<DnsAnswerClass, { value: number }> };
  private readonly api: CounterFamily;
  private readonly apiSeconds: HistogramFamily;

  constructor(private readonly tagsOf: (tag: number) => LogTags | undefined = () => undefined) {
    const r = this.registry;
    this.deploys = r.counter('kiln_deploys_total', 'Deploys that ended, by environment and outcome (succeeded, failed, interrupted by a control-plane stop).', ['env', 'outcome']);
    this.deploySeconds = r.histogram('kiln_deploy_duration_seconds', 'Time from a deploy\'s start to its end, by environment and outcome.', ['env', 'outcome'], OPERATION_BUCKETS);
    this.rollbacks = r.counter('kiln_rollbacks_total', 'Rollbacks that ended (kiln rollback and automatic ones after a crash loop), by environment and outcome.', ['env', 'outcome']);
    this.rollbackSeconds = r.histogram('kiln_rollback_duration_seconds', 'Time from a rollback\'s start to its end, by environment and outcome.', ['env', 'outcome'], OPERATION_BUCKETS);
    this.lost = r.counter('kiln_reconciler_servers_lost_total', 'Servers the reconciler found dead or replaced after failed health checks, by cluster and reason (dead, unhealthy).', ['env', 'cluster', 'reason']);
    this.replacements = r.counter('kiln_reconciler_replacements_total', 'New servers the reconciler started for lost ones, by cluster and outcome (healthy, failed).', ['env', 'cluster', 'outcome']);
    this.crashLoops = r.counter('kiln_crash_loops_total', 'Crash loops detected, by cluster and what was done (rolled-back, failed: a kept group stopped, kept-active: nothing to roll back to).', ['env', 'cluster', 'action']);
    this.logLines = r.counter('kiln_log_lines_total', 'Log lines stored in the central log store, by environment, cluster and stream.', ['env', 'cluster', 'stream']);
    const lag = (this.logLag = new HistogramCell(LAG_BUCKETS));
    r.custom('kiln_log_ingest_lag_seconds', 'histogram', 'Per batch of lines read from one file: time from the file\'s last write to the commit that stored them.', [], () => (lag.count > 0 ? lag.write('kiln_log_ingest_lag_seconds', [], []) : ''));
    const byClass = () => new Map(DNS_ANSWER_CLASSES.map((c) => [c, { value: 0 }]));
    const dns = (this.dnsByClass = { udp: byClass(), tcp: byClass() });
    r.custom('kiln_dns_queries_total', 'counter', 'DNS queries by transport and answer (answer, nodata, nxdomain, refused, other error codes; truncated, dropped: rate limited or unparsable).', ['transport', 'answer'], () => {
      let out = '';
      for (const t of ['udp', 'tcp'] as const) for (const [c, n] of dns[t]) out += `kiln_dns_queries_total{transport="${t}",answer="${c}"} ${n.value}\n`;
      return out;
    });
    this.api = r.counter('kiln_api_requests_total', 'Control-plane API requests by route ("other" for unknown paths) and HTTP status code.', ['route', 'code']);
    this.apiSeconds = r.histogram('kiln_api_request_duration_seconds', 'Time to answer an API request (streams: until the stream ends), by route.', ['route'], LATENCY_BUCKETS);
  }

  deploymentFinished(d: FinishedDeployment): void {
    const [count, seconds] = d.kind === 'deploy' ? [this.deploys, this.deploySeconds] : [this.rollbacks, this.rollbackSeconds];
    count.labels(d.env, d.outcome).inc();
    seconds.labels(d.env, d.outcome).observe(d.seconds);
  }

  /** The control plane's events, the ones that mean a reconciler action. */
  event(kind: string, about: { env?: string; cluster?: string }): void {
    const env = about.env ?? '';
    const cluster = about.cluster ?? '';
    switch (kind) {
      case 'server.dead':
        return this.lost.labels(env, cluster, 'dead').inc();
      case 'server.unhealthy':
        return this.lost.labels(env, cluster, 'unhealthy').inc();
      case 'server.replaced':
        return this.replacements.labels(env, cluster, 'healthy').inc();
      case 'server.failed':
        return this.replacements.labels(env, cluster, 'failed').inc();
    }
  }

  crashLoop(env: string, cluster: string, action: string): void {
    this.crashLoops.labels(env, cluster, action).inc();
  }

  logsStored(runs: readonly LineRun[], at: number): void {
    for (const run of runs) {
      const t = this.tagsOf(run.tag);
      this.logLines.labels(t?.env ?? '', t?.cluster ?? '', t?.stream ?? '').inc(run.texts.length);
      if (run.writtenAt !== undefined) this.logLag.observe(Math.max(0, at - run.writtenAt) / 1000);
    }
  }

  dnsQuery(transport: 'udp' | 'tcp', answer: DnsAnswerClass): void {
    this.dnsByClass[transport].get(answer)!.value++;
  }

  apiRequest(method: string, path: string, status: number, seconds: number): void {
    const key = `${method} ${path}`;
    const route = API_ROUTES.has(key) ? key : 'other';
    this.api.labels(route, String(status)).inc();
    this.apiSeconds.labels(route).observe(seconds);
  }

  expose(): string {
    return this.registry.expose();
  }
}
