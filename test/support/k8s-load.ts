// Continuous requests to a URL inside the test cluster's network namespace (a ClusterIP), from
// a Node process started there with nsenter: every answer's status and body (the app's version)
// is recorded, so a test can say "zero failed requests, switched once, never flipped back".
import type { ChildProcess } from 'node:child_process';
import type { TestCluster } from './k8s.js';

export interface LoadSummary {
  requests: number;
  failed: number;
  /** The versions answered, in order of their connection's start, runs collapsed ("1", "2"). */
  versions: string[];
  errors: string[];
  /** When each version was first answered (ms since the epoch; the namespace shares the host's clock). */
  firstAt: Record<string, number>;
  /**
   * Around each of the first 10 changes of version, the requests on either side: what a failed
   * "switched once" assertion prints, so a flip can be told from a reordering of close requests.
   */
  changes: string[];
}

// Runs in the namespace: 4 workers, a new connection per request (each one goes through the
// Service's rules again), until SIGTERM; then one JSON line on stdout.
//
// Two things about how a test client's own connections meet kube-proxy's rules, so that what is
// measured is Kiln's switch and not the client:
// - Order by connect time, not by request start: the Service's rules pick the pod when the SYN
//   passes, so a request begun before the switch whose first SYN was lost connects (1 s later, at
//   its retransmit) to the new group, and sorted by its start looks like a flip back.
// - Close with a RST once the answer is read (HTTP/1.1 keep-alive asked for, so the server never
//   closes first). One client making hundreds of connections a second reuses its source ports
//   within seconds; a server-side TIME_WAIT or a half-closed conntrack entry for the same
//   4-tuple then delays the SYN by a retransmit, or sends it along the entry's old DNAT to a pod
//   that is gone (EHOSTUNREACH). After a RST neither side keeps the tuple, and conntrack looks
//   the next SYN up afresh. Clients of a real Service come from many addresses and ports.
const SCRIPT = `
const net = require('node:net');
const url = new URL(process.argv[1]);
const t0 = process.hrtime.bigint(); const ms = (t) => Number(t - t0) / 1e6;
const seen = []; let failed = 0; const errors = []; let stop = false; const firstAt = {};
const head = 'GET ' + url.pathname + ' HTTP/1.1\\r\\nHost: ' + url.host + '\\r\\nConnection: keep-alive\\r\\n\\r\\n';
// A whole answer: its head, then Content-Length bytes or a chunked body up to the last chunk.
function complete(buf) {
  const end = buf.indexOf('\\r\\n\\r\\n'); if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\\r\\n');
  const status = Number(lines[0].split(' ')[1]); let length = -1; let chunked = false;
  for (const l of lines.slice(1)) { const [k, ...v] = l.split(':'); const key = k.trim().toLowerCase(); const val = v.join(':').trim();
    if (key === 'content-length') length = Number(val); if (key === 'transfer-encoding' && /chunked/i.test(val)) chunked = true; }
  let body = buf.subarray(end + 4);
  if (chunked) { const t = body.toString('latin1'); if (!/(^|\\r\\n)0\\r\\n\\r\\n$/.test(t)) return null;
    let out = ''; let i = 0; for (;;) { const nl = t.indexOf('\\r\\n', i); const n = parseInt(t.slice(i, nl), 16); if (!n) break; out += t.slice(nl + 2, nl + 2 + n); i = nl + 2 + n + 2; }
    return { status, body: Buffer.from(out, 'latin1').toString('utf8') }; }
  if (length < 0 || body.length < length) return null;
  return { status, body: body.subarray(0, length).toString('utf8') };
}
function one() {
  if (stop) return;
  const start = process.hrtime.bigint(); let connected = 0n; let buf = Buffer.alloc(0); let done = false;
  const sock = net.connect({ host: url.hostname, port: Number(url.port || 80) });
  const fail = (m) => { if (done) return; done = true; failed++; if (errors.length < 10) errors.push(m + ' at ' + Date.now()); sock.destroy(); setTimeout(one, 20); };
  sock.setTimeout(5000, () => fail('timeout'));
  sock.on('connect', () => { connected = process.hrtime.bigint(); sock.write(head); });
  sock.on('data', (c) => {
    buf = Buffer.concat([buf, c]); const a = complete(buf); if (!a || done) return; done = true;
    const port = sock.localPort; sock.resetAndDestroy();
    if (a.status === 200) { const v = a.body.trim(); seen.push([connected, v, process.hrtime.bigint(), port, start]); if (!(v in firstAt)) firstAt[v] = Date.now(); }
    else { failed++; if (errors.length < 10) errors.push('status ' + a.status); }
    setImmediate(one);
  });
  sock.on('error', (e) => fail(e.message));
  sock.on('close', () => { if (!done) fail('closed before a whole answer'); });
}
for (let i = 0; i < 4; i++) one();
process.on('SIGTERM', () => { stop = true; setTimeout(() => {
  seen.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const versions = []; const changes = [];
  seen.forEach(([, v], i) => {
    if (versions[versions.length - 1] === v) return;
    versions.push(v);
    if (i > 0 && changes.length < 10) changes.push(seen.slice(Math.max(0, i - 3), i + 3).map(([c, w, e, port, s]) => w + ' started ' + ms(s).toFixed(1) + ', connected ' + ms(c).toFixed(1) + ', answered ' + ms(e).toFixed(1) + ' ms, port ' + port).join('; '));
  });
  // Exit once the line is written: a pipe takes a long line (a rolling update's many versions) in parts.
  process.stdout.write(JSON.stringify({ requests: seen.length + failed, failed, versions, errors, firstAt, changes }) + '\\n', () => process.exit(0));
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
