// What the proxy's metrics add to one request, measured without the network: the calls the hot
// path makes per request (two clock reads, the in-flight count up and down, the status class, the
// latency histogram) against the per-group Map updates GET /stats needed before (issue 14). The
// result is nanoseconds per request, to set beside the proxy's CPU time per request from
// bench/proxy-ab.js (about 150 us here): the share of it the metrics can cost at most.
//
// Usage: npm run build && node bench/proxy-metrics-cost.js [--requests 5000000] [--rounds 7]
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, option } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { ProxyMetrics } = await import(pathToFileURL(path.join(here, '..', 'dist', 'src', 'proxy', 'metrics.js')).href);
const N = Number(option('requests', '5000000'));
const ROUNDS = Number(option('rounds', '7'));

const metrics = new ProxyMetrics();
const groups = [metrics.group('web-http-prod', 'web-http-prod-v001'), metrics.group('api-http-prod', 'api-http-prod-v001')];
const STATUSES = [200, 200, 200, 304, 404, 200, 500, 200];

function withMetrics(n) {
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const m = groups[i & 1];
    const startedAt = performance.now();
    m.inFlight++;
    m.finish(STATUSES[i & 7], startedAt, performance.now());
    sink += m.inFlight;
  }
  return sink;
}

// What stats.ts did per request before: a Map get and set on begin, and again on end.
const inFlight = new Map();
const names = ['web-http-prod-v001', 'api-http-prod-v001'];
function mapStats(n) {
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const g = names[i & 1];
    inFlight.set(g, (inFlight.get(g) ?? 0) + 1);
    const c = (inFlight.get(g) ?? 1) - 1;
    if (c <= 0) inFlight.delete(g);
    else inFlight.set(g, c);
    sink += c;
  }
  return sink;
}

function nsPerCall(fn) {
  fn(N / 10); // warm up the JIT
  const out = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    fn(N);
    out.push(Number(process.hrtime.bigint() - t0) / N);
  }
  return { median: median(out), min: Math.min(...out), max: Math.max(...out) };
}

const a = nsPerCall(withMetrics);
const b = nsPerCall(mapStats);
const fmt = (x) => `${x.median.toFixed(1)} ns (min ${x.min.toFixed(1)}, max ${x.max.toFixed(1)})`;
console.log(`per request, ${ROUNDS} rounds of ${N}:`);
console.log(`  metrics (clock x2, in flight, status class, latency histogram): ${fmt(a)}`);
console.log(`  the Map-based in-flight count it replaced:                      ${fmt(b)}`);
console.log(`  share of 150 us CPU per proxied request: ${((a.median / 150_000) * 100).toFixed(3)}% (net of the replaced Map updates: ${(((a.median - b.median) / 150_000) * 100).toFixed(3)}%)`);
