// Continuous requests to a URL inside the test cluster's network namespace (a ClusterIP), from
// a Node process started there with nsenter: every answer's status and body (the app's version)
// is recorded, so a test can say "zero failed requests, switched once, never flipped back".
import type { ChildProcess } from 'node:child_process';
import type { TestCluster } from './k8s.js';

export interface LoadSummary {
  requests: number;
  failed: number;
  /** The versions answered, in order of the request's start, runs collapsed ("1", "2"). */
  versions: string[];
  errors: string[];
  /** When each version was first answered (ms since the epoch; the namespace shares the host's clock). */
  firstAt: Record<string, number>;
  /**
   * Around each change of version (in start order), the requests on either side: what a failed
   * "switched once" assertion prints, so a flip can be told from a reordering of close requests.
   */
  changes: string[];
}

// Runs in the namespace: 4 workers, a new connection per request (each one goes through the
// Service's rules again), until SIGTERM; then one JSON line on stdout.
const SCRIPT = `
const http = require('node:http');
const url = new URL(process.argv[1]);
const t0 = process.hrtime.bigint(); const ms = (t) => Number(t - t0) / 1e6;
const seen = []; let failed = 0; const errors = []; let stop = false; const firstAt = {};
function one() {
  if (stop) return;
  const start = process.hrtime.bigint();
  const req = http.get({ host: url.hostname, port: url.port || 80, path: url.pathname, agent: false, timeout: 5000 }, (res) => {
    let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => {
      if (res.statusCode === 200) { const v = body.trim(); seen.push([start, v, process.hrtime.bigint(), req.socket ? req.socket.localPort : 0]); if (!(v in firstAt)) firstAt[v] = Date.now(); } else { failed++; if (errors.length < 10) errors.push('status ' + res.statusCode); }
      setImmediate(one);
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { failed++; if (errors.length < 10) errors.push(e.message); setTimeout(one, 20); });
}
for (let i = 0; i < 4; i++) one();
process.on('SIGTERM', () => { stop = true; setTimeout(() => {
  seen.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const versions = []; const changes = [];
  seen.forEach(([, v], i) => {
    if (versions[versions.length - 1] === v) return;
    versions.push(v);
    if (i > 0) changes.push(seen.slice(Math.max(0, i - 3), i + 3).map(([s, w, e, port]) => w + ' ' + ms(s).toFixed(1) + '-' + ms(e).toFixed(1) + 'ms :' + port).join(', '));
  });
  process.stdout.write(JSON.stringify({ requests: seen.length + failed, failed, versions, errors, firstAt, changes }) + '\\n');
  process.exit(0);
}, 6000); });
`;

export interface ClusterLoad {
  stop(): Promise<LoadSummary>;
}

export function startClusterLoad(c: TestCluster, url: string): ClusterLoad {
  const child: ChildProcess = c.spawnInClusterNet([process.execPath, '-e', SCRIPT, url]);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        child.on('close', () => {
          try {
            resolve(JSON.parse(out.trim()) as LoadSummary);
          } catch {
            reject(new Error(`the load generator printed no summary: ${out} ${err}`));
          }
        });
        child.kill('SIGTERM');
      }),
  };
}
