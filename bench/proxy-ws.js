// WebSocket (HTTP Upgrade) benchmark: echo round-trip latency and echo throughput,
//   direct   client -> echo backend
//   kiln     client -> kiln proxy (Host routing, upgrade, byte pipe) -> echo backend
// Latency: one upgraded connection, one 64-byte message at a time, p50/p99 of the round trips.
// Throughput: --connections upgraded connections, each keeping --window bytes in flight for
// --duration seconds; MB/s of bytes echoed back. Variants are interleaved run by run so drift on
// a shared machine hits both alike; figures are medians over the runs; the ratio is kiln/direct.
//
// Usage: npm run build && node bench/proxy-ws.js [--runs 5] [--messages 5000] [--duration 3]
//        [--connections 8] [--window 262144] [--json]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminPut, firstLine, median, option } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOST = 'ws.bench.test';

const opts = {
  runs: Number(option('runs', '5')),
  messages: Number(option('messages', '5000')),
  duration: Number(option('duration', '3')),
  connections: Number(option('connections', '8')),
  window: Number(option('window', String(256 * 1024))),
  json: process.argv.includes('--json'),
};

const children = [];
function start(script, args) {
  const child = spawn(process.execPath, [path.join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return firstLine(child, script);
}
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));
process.on('SIGINT', () => process.exit(130));

/** An upgraded connection: resolves with the socket once the 101 head has been read. */
function upgrade(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      s.off('data', onData);
      const status = buf.toString('latin1', 9, 12);
      if (status !== '101') return reject(new Error(`upgrade answered ${buf.toString('latin1', 0, end)}`));
      if (buf.length > end + 4) return reject(new Error('unexpected bytes after the 101 head'));
      resolve(s);
    };
    s.on('data', onData);
    s.on('error', reject);
    s.write(`GET /ws HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: bench\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

async function latency(port) {
  const s = await upgrade(port);
  const msg = Buffer.alloc(64, 'm');
  const times = [];
  await new Promise((resolve) => {
    let got = 0;
    let t0 = 0n;
    const send = () => {
      t0 = process.hrtime.bigint();
      s.write(msg);
    };
    s.on('data', (d) => {
      got += d.length;
      if (got < msg.length) return;
      got -= msg.length;
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (times.length === opts.messages) resolve();
      else send();
    });
    send();
  });
  s.destroy();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)], p99: times[Math.floor(times.length * 0.99)] };
}

async function measureThroughput(port) {
  // Each connection keeps its window full; after the duration, the bytes in flight are awaited.
  const sockets = await Promise.all([...Array(opts.connections)].map(() => upgrade(port)));
  const chunk = Buffer.alloc(16 * 1024, 'd');
  let received = 0;
  let stop = false;
  const started = process.hrtime.bigint();
  const done = Promise.all(
    sockets.map(
      (s) =>
        new Promise((resolve) => {
          let inFlight = 0;
          const fill = () => {
            while (!stop && inFlight < opts.window) {
              inFlight += chunk.length;
              s.write(chunk);
            }
          };
          s.on('data', (d) => {
            received += d.length;
            inFlight -= d.length;
            if (stop) {
              if (inFlight <= 0) resolve();
            } else fill();
          });
          fill();
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, opts.duration * 1000));
  stop = true;
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sockets.forEach((s) => s.destroy());
  return received / seconds / 1e6;
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-ws-'));
  try {
    const backendPort = Number(await start('proxy-ws-backend.js', ['0']));
    const kilnLine = await start('proxy-kiln.js', [dir]);
    const kilnPort = Number(/:(\d+)/.exec(kilnLine)?.[1]);
    await adminPut(path.join(dir, 'admin.sock'), {
      version: 1,
      clusters: [
        {
          name: 'ws-http-dev',
          hosts: [HOST],
          active: 'ws-http-dev-v001',
          groups: [{ name: 'ws-http-dev-v001', hosts: [], backends: [{ server: 'ws-http-dev-v001-1', host: '127.0.0.1', port: backendPort }] }],
        },
      ],
    });
    const variants = [
      { name: 'direct', port: backendPort },
      { name: 'kiln', port: kilnPort },
    ];
    // Warm-up (JIT on every side).
    for (const v of variants) {
      await latency(v.port);
      await measureThroughput(v.port);
    }
    const results = Object.fromEntries(variants.map((v) => [v.name, []]));
    for (let r = 0; r < opts.runs; r++) {
      for (const v of variants) {
        const l = await latency(v.port);
        const mbps = await measureThroughput(v.port);
        results[v.name].push({ ...l, mbps });
        if (!opts.json) console.error(`run ${r + 1}/${opts.runs} ${v.name}: p50 ${l.p50.toFixed(3)} ms p99 ${l.p99.toFixed(3)} ms, ${mbps.toFixed(0)} MB/s`);
      }
    }
    const summary = Object.fromEntries(
      Object.entries(results).map(([k, s]) => [k, { p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), mbps: median(s.map((x) => x.mbps)) }]),
    );
    const ratio = {
      p50: summary.kiln.p50 / summary.direct.p50,
      p99: summary.kiln.p99 / summary.direct.p99,
      throughput: summary.kiln.mbps / summary.direct.mbps,
    };
    if (opts.json) {
      console.log(JSON.stringify({ opts, summary, ratio }, null, 2));
      return;
    }
    console.log(`medians of ${opts.runs} runs; latency: ${opts.messages} x 64 B round trips on one connection; throughput: ${opts.connections} connections, ${opts.window} B in flight each, ${opts.duration} s`);
    console.log('variant   p50 ms   p99 ms   echo MB/s');
    for (const [k, s] of Object.entries(summary)) console.log(`${k.padEnd(8)}  ${s.p50.toFixed(3).padStart(6)}   ${s.p99.toFixed(3).padStart(6)}   ${s.mbps.toFixed(0).padStart(9)}`);
    console.log(`kiln/direct: p50 ${ratio.p50.toFixed(2)}x, p99 ${ratio.p99.toFixed(2)}x, throughput ${(ratio.throughput * 100).toFixed(0)}%`);
  } finally {
    children.forEach((c) => c.kill('SIGTERM'));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
