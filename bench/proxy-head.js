// The request-head step alone, before and after a change (issue 11: the head builder in
// src/proxy/request-head.ts), where bench/proxy-ab.js cannot resolve a few percent on a busy
// machine: nanoseconds to turn one client head into the backend's head, in interleaved batches,
// medians. The "before" build is either one with request-head.ts (inspectRequest + backendHead,
// issue 15 compares two such builds) or one whose forward.js still exported inspectRequest (the
// head was written by forward.ts's private requestHead, copied below as it was).
//   node bench/proxy-head.js --before /tmp/chk-proxy/dist [--after dist] [--batches 21] [--n 100000]
//        [--proxy-cpu-us 45]
// --proxy-cpu-us: the proxy's CPU per request (bench/proxy-ab.js), to print the difference as a
// share of it, which bounds what the change can cost in requests/s.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, option } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const before = option('before', '');
const after = option('after', path.join(here, '..', 'dist'));
const batches = Number(option('batches', '21'));
const n = Number(option('n', '100000'));
const proxyCpuUs = Number(option('proxy-cpu-us', '45'));
if (!before) {
  console.error('usage: node bench/proxy-head.js --before <dist> [--after <dist>]');
  process.exit(2);
}
const load = (dist, mod) => import(pathToFileURL(path.join(path.resolve(dist), 'src', 'proxy', mod)).href);

// The same heads bench/proxy-ab.js sends: a browser's request behind a CDN.
const RAW = [
  'Host', 'bench.test',
  'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Encoding', 'gzip, deflate, br',
  'Accept-Language', 'en-GB,en;q=0.5',
  'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'Connection', 'keep-alive',
  'X-Forwarded-For', '203.0.113.10',
  'X-Request-Id', '3f2b8c0e-5d7a-4e59-9a8b-1c2d3e4f5a6b',
];
const backend = { server: 'b-1', host: '127.0.0.1', port: 40000 };
const request = () => ({ rawHeaders: RAW, url: '/items?page=2', method: 'GET', socket: { remoteAddress: '127.0.0.1' } });

/** forward.ts's requestHead before the change. */
function oldRequestHead(method, url, info) {
  let head = method + ' ' + url + ' HTTP/1.1\r\n';
  const h = info.headers;
  for (let i = 0; i < h.length; i += 2) head += h[i] + ': ' + h[i + 1] + '\r\n';
  if (info.host === undefined) head += `Host: ${backend.host}:${backend.port}\r\n`;
  if (info.chunked) head += 'Transfer-Encoding: chunked\r\n';
  return head + '\r\n';
}

const cur = await load(after, 'request-head.js');
const { AddressSet } = await import(pathToFileURL(path.join(path.resolve(after), 'src', 'util', 'cidr.js')).href);
const trusted = new AddressSet([]);
const oldHeadModule = await load(before, 'request-head.js').catch(() => null);
const old = oldHeadModule ?? (await load(before, 'forward.js'));
if (typeof old.inspectRequest !== 'function') throw new Error(`${before}: neither request-head.js nor forward.js exports inspectRequest`);

const variants = {
  before: oldHeadModule
    ? () => {
        const r = request();
        return old.backendHead(r.method, r.url, old.inspectRequest(r, trusted), backend);
      }
    : () => {
        const r = request();
        return oldRequestHead(r.method, r.url, old.inspectRequest(r));
      },
  after: () => {
    const r = request();
    return cur.backendHead(r.method, r.url, cur.inspectRequest(r, trusted), backend);
  },
};

let sink = 0;
function batch(fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn().length;
  return Number(process.hrtime.bigint() - t0) / n;
}
for (const fn of Object.values(variants)) for (let i = 0; i < 3; i++) batch(fn); // JIT warm-up
const ns = { before: [], after: [] };
for (let b = 0; b < batches; b++) {
  const order = b % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
  for (const name of order) ns[name].push(batch(variants[name]));
}
const m = { before: median(ns.before), after: median(ns.after) };
const paired = median(ns.after.map((x, i) => x / ns.before[i]));
console.log(`request head, ${batches} interleaved batches x ${n} (sink ${sink % 10})`);
console.log(`before ${m.before.toFixed(0)} ns/request, after ${m.after.toFixed(0)} ns/request (medians); after/before ${(paired * 100).toFixed(1)}% (median of per-batch ratios)`);
const delta = m.after - m.before;
console.log(`difference ${delta.toFixed(0)} ns/request = ${((delta / (proxyCpuUs * 1000)) * 100).toFixed(2)}% of the proxy's ${proxyCpuUs} us CPU per request`);
