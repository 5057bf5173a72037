// A load generator for end-to-end tests: sends GET requests continuously over loopback until
// stopped, half over keep-alive connections and half over a fresh connection each, and records
// what every request saw (status, error, X-App-Version) so a test can assert "no request
// failed" and "the version switched once and never flipped back" (see versions.ts for the rule).
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { analyseVersions, type VersionAnalysis } from './versions.js';

export { waitFor, sleep, type WaitOptions } from './wait.js';

export type ConnectionMix = 'keepalive' | 'new' | 'both';

export interface LoadOptions {
  /** Full URL requested, e.g. http://127.0.0.1:7080/ */
  url: string;
  /** Host header to send (how the proxy picks the cluster), e.g. "web-http-dev.shop.test". */
  host?: string;
  /** Connection style of the workers (default 'both': half keep-alive, half new connections). */
  mix?: ConnectionMix;
  /** Number of workers, each with one request in flight at a time (default 8). */
  concurrency?: number;
  /** A request without a response after this long fails with "timeout" (default 10000 ms). */
  requestTimeoutMs?: number;
  /**
   * The version is the response body, trimmed (e.g. a static version.txt), instead of the
   * X-App-Version header: for servers Kiln runs unchanged, which send no header of ours.
   */
  versionFromBody?: boolean;
}

export interface RequestRecord {
  worker: number;
  keepAlive: boolean;
  /** performance.now() when the request was issued. */
  start: number;
  /** performance.now() when the response headers arrived, or when the request failed. */
  end: number;
  status?: number;
  /** The X-App-Version header ("" when the response had none). */
  version?: string;
  error?: string;
}

export interface LoadStats {
  total: number;
  failed: number;
  /** Successful responses per version. */
  byVersion: Record<string, number>;
}

export interface LoadReport extends LoadStats {
  ok: number;
  /** The first few failures, each "<status or error code>: <detail>". */
  errors: string[];
  /** Versions of the successful responses, in the order they were received (all workers). */
  versions: string[];
  /** Every request, per worker in completion order, workers one after another. */
  records: RequestRecord[];
  /** How many times the served version changed, by the causal rule in versions.ts. */
  transitions(): number;
  /** The versions in the order they took over, e.g. ["1.0.0", "2.0.0"]. */
  segments(): string[];
  analysis(): VersionAnalysis;
}

export interface LoadHandle {
  /** Counts so far, while the load runs (e.g. to wait for some traffic before deploying). */
  stats(): LoadStats;
  /** Stops issuing requests, waits for the ones in flight, and reports. */
  stop(): Promise<LoadReport>;
}

const MAX_ERRORS = 10;

/** A request fails if it got no response, or a status outside 2xx/3xx. */
function failed(r: RequestRecord): boolean {
  return r.error !== undefined || r.status === undefined || r.status < 200 || r.status >= 400;
}

export function startLoad(opts: LoadOptions): LoadHandle {
  const url = new URL(opts.url);
  const mix = opts.mix ?? 'both';
  const concurrency = opts.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`bad concurrency ${concurrency}`);
  const timeoutMs = opts.requestTimeoutMs ?? 10000;
  const headers: http.OutgoingHttpHeaders = opts.host ? { host: opts.host } : {};

  const perWorker: RequestRecord[][] = [];
  const agents: http.Agent[] = [];
  const stats: LoadStats = { total: 0, failed: 0, byVersion: {} };
  let stopping = false;

  const once = (worker: number, agent: http.Agent | false): Promise<RequestRecord> =>
    new Promise((resolve) => {
      const rec: RequestRecord = { worker, keepAlive: agent !== false, start: performance.now(), end: 0 };
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        if (rec.end === 0) rec.end = performance.now();
        resolve(rec);
      };
      const req = http.request(url, { method: 'GET', agent, headers, timeout: timeoutMs }, (res) => {
        rec.end = performance.now();
        rec.status = res.statusCode;
        const v = res.headers['x-app-version'];
        rec.version = Array.isArray(v) ? v.join(',') : (v ?? '');
        const bad = failed(rec);
        let body = '';
        res.on('data', (chunk: Buffer) => {
          if ((bad || opts.versionFromBody) && body.length < 300) body += chunk.toString('utf8');
        });
        res.on('end', () => {
          if (bad) rec.error = `${rec.status}: ${body.slice(0, 300).trim()}`;
          else if (opts.versionFromBody) rec.version = body.slice(0, 300).trim();
          done();
        });
        res.on('error', (err: NodeJS.ErrnoException) => {
          rec.error = `${err.code ?? 'ERROR'}: response body failed: ${err.message}`;
          done();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        rec.error = `${err.code ?? 'ERROR'}: ${err.message}`;
        rec.end = performance.now();
        done();
      });
      req.end();
    });

  const run = async (worker: number, agent: http.Agent | false): Promise<void> => {
    const mine: RequestRecord[] = [];
    perWorker[worker] = mine;
    while (!stopping) {
      const rec = await once(worker, agent);
      mine.push(rec);
      stats.total++;
      if (failed(rec)) stats.failed++;
      else stats.byVersion[rec.version ?? ''] = (stats.byVersion[rec.version ?? ''] ?? 0) + 1;
    }
  };

  const workers: Promise<void>[] = [];
  for (let w = 0; w < concurrency; w++) {
    // With 'both', even workers keep connections alive and odd ones open one per request.
    const keepAlive = mix === 'keepalive' || (mix === 'both' && w % 2 === 0);
    let agent: http.Agent | false = false;
    if (keepAlive) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
    }
    workers.push(run(w, agent));
  }

  return {
    stats: () => ({ total: stats.total, failed: stats.failed, byVersion: { ...stats.byVersion } }),
    async stop(): Promise<LoadReport> {
      stopping = true;
      await Promise.all(workers);
      for (const a of agents) a.destroy();
      return report(perWorker.flat(), stats);
    },
  };
}

function report(records: RequestRecord[], stats: LoadStats): LoadReport {
  const good = records.filter((r) => !failed(r));
  const bad = records.filter(failed).sort((a, b) => a.end - b.end);
  const responses = good.map((r) => ({ start: r.start, end: r.end, version: r.version ?? '' }));
  let analysis: VersionAnalysis | undefined;
  const analyse = (): VersionAnalysis => (analysis ??= analyseVersions(responses));
  return {
    total: stats.total,
    failed: stats.failed,
    ok: good.length,
    byVersion: { ...stats.byVersion },
    errors: bad.slice(0, MAX_ERRORS).map((r) => r.error ?? `${r.status}`),
    versions: [...responses].sort((a, b) => a.end - b.end).map((r) => r.version),
    records,
    transitions: () => analyse().transitions,
    segments: () => analyse().segments,
    analysis: analyse,
  };
}
