// Proxy A/B benchmark: the same kiln proxy workload through two builds, to measure what a change
// to the hot path costs (issue 11: the request-head builder must cost at most 3% of req/s;
// issue 14: the metrics must cost at most 3%, measured with --scrape: the after build serves
// /metrics and is scraped every second, as Prometheus would, while the before build has none).
//   before  wrk -> kiln proxy from <before-dist> -> backend
//   after   wrk -> kiln proxy from <after-dist>  -> backend
// Runs alternate A B B A ... so drift on a shared machine hits both alike; the figures are the
// ratios (after/before) of requests/s and of the CPU time per request each proxy spent: of the
// medians, and the median of each run's pair.
// Requests carry the headers a browser behind a CDN sends (Accept, User-Agent, Connection,
// X-Forwarded-For...), since the head is what changed.
//
// Usage: npm run build && node bench/proxy-ab.js --before /tmp/chk-proxy/dist [--after dist]
//        [--runs 6] [--duration 5] [--connections 50] [--warmup 2] [--scrape] [--json]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminPut, firstLine, freeLoopbackPort, median, option } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOST = 'bench.test';
const HEADERS = [
  `Host: ${HOST}`,
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Encoding: gzip, deflate, br',
  'Accept-Language: en-GB,en;q=0.5',
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'Connection: keep-alive',
  'X-Forwarded-For: 203.0.113.10',
  'X-Request-Id: 3f2b8c0e-5d7a-4e59-9a8b-1c2d3e4f5a6b',
];

const opts = {
  before: option('before', ''),
  after: option('after', path.join(here, '..', 'dist')),
  runs: Number(option('runs', '6')),
  duration: Number(option('duration', '5')),
  connections: Number(option('connections', '50')),
  warmup: Number(option('warmup', '2')),
  scrape: process.argv.includes('--scrape'),
  json: process.argv.includes('--json'),
};
if (!opts.before) {
  console.error('usage: node bench/proxy-ab.js --before <dist of the reference build> [--after <dist>]');
  process.exit(2);
}

const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM')));
process.on('SIGINT', () => process.exit(130));

function start(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function wrk(port, seconds, pid) {
  const cpu0 = cpuMs(pid);
  const args = ['-t', '1', '-c', String(opts.connections), '-d', `${seconds}s`];
  for (const h of HEADERS) args.push('-H', h);
  const out = execFileSync('wrk', [...args, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const cpu = cpuMs(pid) - cpu0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  if (!Number.isFinite(rps)) throw new Error(`cannot read requests/s from wrk output:\n${out}`);
  return { rps, cpuUsPerReq: (cpu * 1000) / total };
}

let scrapes = 0;

async function main() {
  const dirs = [];
  try {
    const backend = start([path.join(here, 'proxy-backend.js'), '0']);
    const backendPort = Number(await firstLine(backend, 'backend'));
    const table = {
      version: 1,
      clusters: [
        {
          name: 'bench-http-dev',
          hosts: [HOST],
          active: 'bench-http-dev-v001',
          groups: [{ name: 'bench-http-dev-v001', hosts: [], backends: [{ server: 'bench-http-dev-v001-1', host: '127.0.0.1', port: backendPort }] }],
        },
      ],
    };
    const variants = [];
    for (const [name, dist] of [['before', opts.before], ['after', opts.after]]) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `kiln-bench-ab-${name}-`));
      dirs.push(dir);
      const metricsPort = opts.scrape && name === 'after' ? await freeLoopbackPort() : 0;
      const child = start([path.join(here, 'proxy-kiln.js'), dir, dist, ...(metricsPort ? [String(metricsPort)] : [])]);
      const port = Number(/:(\d+)/.exec(await firstLine(child, `kiln proxy (${name})`))?.[1]);
      await adminPut(path.join(dir, 'admin.sock'), table);
      variants.push({ name, dist, port, pid: child.pid, samples: [], metricsPort });
    }
    // Scraped like Prometheus would, once a second, for the whole run (wrk runs synchronously, so
    // the scrapes come from a child process, not this event loop).
    const scraped = variants.find((v) => v.metricsPort);
    let scraper = null;
    if (scraped) {
      scraper = start(['-e', `setInterval(() => fetch('http://127.0.0.1:${scraped.metricsPort}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t.length + '\\n'), (e) => { console.error(e); process.exit(1); }), 1000)`]);
      scraper.stdout.on('data', (d) => (scrapes += String(d).split('\n').filter(Boolean).length));
    }
    for (const v of variants) if (opts.warmup > 0) wrk(v.port, opts.warmup, v.pid);
    for (let r = 0; r < opts.runs; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const s = wrk(v.port, opts.duration, v.pid);
        v.samples.push(s);
        if (!opts.json) console.error(`run ${r + 1}/${opts.runs} ${v.name.padEnd(6)} ${s.rps.toFixed(0)} req/s  cpu ${s.cpuUsPerReq.toFixed(1)} us/req`);
      }
    }
    if (scraper) {
      const closed = new Promise((r) => scraper.once('close', r));
      scraper.kill('SIGTERM');
      await closed;
    }
    const med = (v, k) => median(v.samples.map((s) => s[k]));
    const [before, after] = variants;
    const result = {
      options: opts,
      before: { rps: med(before, 'rps'), cpuUsPerReq: med(before, 'cpuUsPerReq') },
      after: { rps: med(after, 'rps'), cpuUsPerReq: med(after, 'cpuUsPerReq') },
    };
    result.scrapes = scrapes;
    result.rpsRatio = result.after.rps / result.before.rps;
    result.cpuRatio = result.after.cpuUsPerReq / result.before.cpuUsPerReq;
    // Each run's two samples were taken back to back: the median of their ratios cancels the
    // machine's drift between runs better than the ratio of the medians.
    result.pairedRpsRatio = median(after.samples.map((s, i) => s.rps / before.samples[i].rps));
    result.pairedCpuRatio = median(after.samples.map((s, i) => s.cpuUsPerReq / before.samples[i].cpuUsPerReq));
    if (opts.json) return void console.log(JSON.stringify({ ...result, samples: variants.map((v) => v.samples) }, null, 2));
    console.log(`\nproxy A/B: ${opts.runs} interleaved runs x ${opts.duration}s, ${opts.connections} connections, ${HEADERS.length} request headers`);
    if (opts.scrape) console.log(`after served /metrics and was scraped ${scrapes} times (every second)`);
    console.log(`before ${opts.before}: ${result.before.rps.toFixed(0)} req/s (median), ${result.before.cpuUsPerReq.toFixed(1)} us CPU/req`);
    console.log(`after  ${opts.after}: ${result.after.rps.toFixed(0)} req/s (median), ${result.after.cpuUsPerReq.toFixed(1)} us CPU/req`);
    console.log(`after/before req/s ${(result.rpsRatio * 100).toFixed(1)}%, CPU per request ${(result.cpuRatio * 100).toFixed(1)}% (ratio of medians)`);
    console.log(`after/before req/s ${(result.pairedRpsRatio * 100).toFixed(1)}%, CPU per request ${(result.pairedCpuRatio * 100).toFixed(1)}% (median of per-run ratios)`);
    const rs = after.samples.map((s, i) => s.rps / before.samples[i].rps);
    console.log(`per-run req/s ratios: min ${(Math.min(...rs) * 100).toFixed(1)}%, max ${(Math.max(...rs) * 100).toFixed(1)}%`);
  } finally {
    const exited = children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r)));
    children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
    await Promise.all(exited);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await main();
