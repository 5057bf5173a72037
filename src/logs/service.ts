// Everything the control plane needs for logs in one object: the store (.kiln/logs.db), one
// tailer, the exporters and the retention timer. The control plane tells it which servers
// exist (setSources / liveLogSources) and serves GET /v1/logs from `store` (see api.ts).
// Retention starts only when the control plane says so (startRetention, once DNS is up).
import type { RunPaths } from '../server/paths.js';
import { LIVE_GROUP_STATES, type RuntimeState } from '../store/runtime-state.js';
import { createLokiExporter } from './export/loki.js';
import { createOtlpExporter } from './export/otlp.js';
import type { ExporterOptions, ExporterStats, LogExporter } from './export/exporter.js';
import { pruneLogs, type RetentionPolicy } from './retention.js';
import { openLogStore, type LogStore } from './store.js';
import { LogTailer, type LogTailerOptions } from './tailer.js';
import type { LogSource, LogTags } from './types.js';

export interface LogExportConfig extends ExporterOptions {
  kind: 'otlp' | 'loki';
}

export interface LogServiceOptions {
  kilnDir: string;
  exporters?: LogExportConfig[];
  /** Applied at start and then every `everyMs` (default 10 minutes). */
  retention?: RetentionPolicy & { everyMs?: number };
  tailer?: LogTailerOptions;
  log: (message: string) => void;
}

export class LogService {
  readonly store: LogStore;
  readonly tailer: LogTailer;
  readonly exporters: LogExporter[];
  private retentionTimer: NodeJS.Timeout | null = null;
  private pruning: Promise<void> = Promise.resolve();
  private stopping = false;

  private constructor(private readonly opts: LogServiceOptions) {
    this.store = openLogStore(opts.kilnDir);
    this.tailer = new LogTailer(this.store, { onWarning: (m) => opts.log(`logs: ${m}`), ...opts.tailer });
    this.exporters = (opts.exporters ?? []).map((e) =>
      e.kind === 'otlp' ? createOtlpExporter(this.store, { onError: opts.log, ...e }) : createLokiExporter(this.store, { onError: opts.log, ...e }),
    );
  }

  /** Tailing and export start now; retention waits for startRetention (after DNS is up). */
  static start(opts: LogServiceOptions): LogService {
    const s = new LogService(opts);
    s.tailer.start();
    for (const e of s.exporters) e.start();
    return s;
  }

  /**
   * Applies the retention policy now and then every `everyMs`. The control plane calls this once
   * DNS and the API answer: shrinking a big store is work in slices that must not come first.
   */
  startRetention(): void {
    const r = this.opts.retention;
    if (this.retentionTimer || !r || (r.maxAgeMs === undefined && r.maxBytes === undefined)) return;
    void this.prune();
    this.retentionTimer = setInterval(() => void this.prune(), r.everyMs ?? 600_000);
    this.retentionTimer.unref();
  }

  setSources(sources: ReadonlyArray<LogSource>): void {
    this.tailer.setSources(sources);
  }

  exportStats(): ExporterStats[] {
    return this.exporters.map((e) => e.stats());
  }

  async stop(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.stopping = true;
    await this.pruning;
    await this.tailer.stop();
    await Promise.all(this.exporters.map((e) => e.stop()));
    this.store.close();
  }

  /** One retention pass at a time; stop() ends it at the next slice and waits before closing the store. */
  private prune(): Promise<void> {
    if (this.stopping) return this.pruning;
    this.pruning = this.pruning.then(async () => {
      if (this.stopping) return;
      try {
        const r = await pruneLogs(this.store, this.opts.retention ?? {}, Date.now(), () => this.stopping);
        if (r.deleted) this.opts.log(`logs: retention deleted ${r.deleted} line(s); the store uses ${r.bytes} bytes`);
      } catch (e) {
        this.opts.log(`logs: retention failed: ${(e as Error).message}`);
      }
    });
    return this.pruning;
  }
}

/** The three files of one server — its --log-file, stdout and stderr — as tagged sources. */
export function serverLogSources(files: { log: string; stdout: string; stderr: string }, tags: Omit<LogTags, 'stream'>): LogSource[] {
  return [
    { path: files.log, tags: { ...tags, stream: 'log' } },
    { path: files.stdout, tags: { ...tags, stream: 'stdout' } },
    { path: files.stderr, tags: { ...tags, stream: 'stderr' } },
  ];
}

/**
 * The sources of every server that runs or may still write: those of live groups that are not
 * dead or stopped. A server that leaves this list is read to its end, then let go.
 */
export function liveLogSources(state: RuntimeState, paths: RunPaths): LogSource[] {
  const out: LogSource[] = [];
  for (const g of state.groups({ states: LIVE_GROUP_STATES })) {
    const t = g.template;
    for (const s of state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] })) {
      out.push(
        ...serverLogSources(paths.serverLogs(t.env, t.cluster, s.name), {
          project: t.project, env: t.env, service: t.service, role: t.role, cluster: t.cluster, group: g.name, server: s.name,
        }),
      );
    }
  }
  return out;
}
