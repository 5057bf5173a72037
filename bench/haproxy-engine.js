// The haproxy engine (kiln.yaml `proxy: { engine: haproxy }`) against HAProxy configured by hand,
// and the time a switch takes to reach every new request, per engine.
//   1. requests/s, p99 and the HAProxy worker's CPU per request, wrk on loopback, for HAProxy with
//      bench/lib.js's hand-written config and for HAProxy with the config Kiln writes from a route
//      table (src/proxy/haproxy/config.ts: forwarding-header rules, the pause map lookup, checks),
//      same thread count, interleaved run by run, medians. Issue 15: within 5% of by hand.
//   2. switch time: from the start of a route change (PUT to kiln proxy's admin socket; the
//      engine's push, i.e. runtime-API commands) until a request sent after it reaches the new
//      group, then 20 more that all do; medians over alternating switches.
// The backend is Node (bench/proxy-backend.js), itself a bottleneck on this 2-core machine: CPU
// per request of the proxy process is the steadier comparison. Noisy when others share the machine.
//
// Usage: npm run build && node bench/haproxy-engine.js [--runs 5] [--duration 5] [--connections 50] [--switches 10]
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adminPut, firstLine, freeLoopbackPort, haproxyConfig, median, option } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist', 'src');
const { HaproxyEngine } = await import(pathToFileURL(path.join(dist, 'proxy', 'haproxy', 'engine.js')).href);
const { parseInfo, runtimeCommand } = await import(pathToFileURL(path.join(dist, 'proxy', 'haproxy', 'runtime-api.js')).href);

const HOST = 'bench.test';
const opts = {
  runs: Number(option('runs', '5')),
  duration: Number(option('duration', '5')),
  connections: Number(option('connections', '50')),
  switches: Number(option('switches', '10')),
  threads: os.cpus().length,
};
console.log(`command: node bench/haproxy-engine.js --runs ${opts.runs} --duration ${opts.duration} --connections ${opts.connections} --switches ${opts.switches} (HAProxy nbthread ${opts.threads}, ${os.cpus().length} CPUs)`);

const children = [];
const start = (cmd, args) => {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
};
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM')));

const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};

function wrk(port, seconds, pid) {
  const cpu0 = cpuMs(pid);
  const out = execFileSync('wrk', ['-t', '1', '-c', String(opts.connections), '-d', `${seconds}s`, '--latency', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const cpu = cpuMs(pid) - cpu0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99m = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  const p99 = Number(p99m[1]) * (p99m[2] === 'us' ? 0.001 : p99m[2] === 's' ? 1000 : 1);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p99, cpuUsPerReq: (cpu * 1000) / total, errors };
}

const group = (name, port) => ({ name, hosts: [`${name}.test`], backends: [{ server: `${name}-1`, host: '127.0.0.1', port }] });
const table = (version, active, groups) => ({ version, clusters: [{ name: 'bench-http-dev', hosts: [HOST], active, groups }] });

/** A backend that answers with its name, in this process (for the switch timing). */
async function named(name) {
  const s = http.createServer((req, res) => {
    req.resume();
    res.end(name);
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { name, port: s.address().port, close: () => new Promise((r) => s.close(r)) };
}

function get(port, agent) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers: { Host: HOST }, agent }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
}

/** ms from the start of `apply` until a request sent after it reaches `to`; then 20 more must too. */
async function switchMs(port, apply, to) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  await get(port, agent);
  const t0 = performance.now();
  await apply();
  let t = 0;
  for (let i = 0; i < 10_000; i++) {
    if ((await get(port, agent)) === to) {
      t = performance.now() - t0;
      break;
    }
  }
  for (let i = 0; i < 20; i++) if ((await get(port, agent)) !== to) throw new Error(`a request after the switch reached the old group`);
  agent.destroy();
  return t;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-haproxy-engine-'));
let engine = null;
try {
  const backend = start(process.execPath, [path.join(here, 'proxy-backend.js'), '0']);
  const backendPort = Number(await firstLine(backend, 'backend'));

  const handPort = await freeLoopbackPort();
  writeFileSync(path.join(dir, 'hand.cfg'), haproxyConfig({ port: handPort, threads: opts.threads, backendPort, host: HOST }));
  const hand = start('haproxy', ['-db', '-q', '-f', path.join(dir, 'hand.cfg')]);

  const enginePort = await freeLoopbackPort();
  engine = new HaproxyEngine({ binary: 'haproxy', runDir: path.join(dir, 'run'), logFile: path.join(dir, 'haproxy.log'), listen: { host: '127.0.0.1', port: enginePort }, log: () => undefined });
  await engine.ensure();
  await engine.push(table(1, 'bench-http-dev-v001', [group('bench-http-dev-v001', backendPort)]));
  const workerPid = Number(parseInfo(await runtimeCommand(path.join(dir, 'run', 'haproxy', 'admin.sock'), 'show info')).Pid);
  await new Promise((r) => setTimeout(r, 300));

  const variants = [
    { name: 'haproxy by hand', port: handPort, pid: hand.pid },
    { name: 'haproxy engine', port: enginePort, pid: workerPid },
  ];
  for (const v of variants) wrk(v.port, 2, v.pid);
  const samples = variants.map(() => []);
  for (let r = 0; r < opts.runs; r++) {
    variants.forEach((v, i) => {
      const s = wrk(v.port, opts.duration, v.pid);
      samples[i].push(s);
      console.error(`run ${r + 1}/${opts.runs} ${v.name.padEnd(16)} ${s.rps.toFixed(0)} req/s  p99 ${s.p99.toFixed(2)} ms  cpu ${s.cpuUsPerReq.toFixed(1)} us/req  errors ${s.errors}`);
    });
  }
  const sum = samples.map((s) => ({
    rps: median(s.map((x) => x.rps)),
    min: Math.min(...s.map((x) => x.rps)),
    max: Math.max(...s.map((x) => x.rps)),
    p99: median(s.map((x) => x.p99)),
    cpu: median(s.map((x) => x.cpuUsPerReq)),
    errors: s.reduce((n, x) => n + x.errors, 0),
  }));
  console.log('variant            req/s median (min-max)    p99 ms   CPU us/req   errors');
  variants.forEach((v, i) => console.log(`${v.name.padEnd(17)}  ${sum[i].rps.toFixed(0).padStart(7)} (${sum[i].min.toFixed(0)}-${sum[i].max.toFixed(0)})  ${sum[i].p99.toFixed(2).padStart(8)}  ${sum[i].cpu.toFixed(1).padStart(10)}  ${String(sum[i].errors).padStart(7)}`));
  const rpsRatio = sum[1].rps / sum[0].rps;
  const cpuRatio = sum[1].cpu / sum[0].cpu;
  console.log(`engine/by hand: req/s ${(rpsRatio * 100).toFixed(1)}%, CPU per request ${cpuRatio.toFixed(3)}x, p99 ${(sum[1].p99 / sum[0].p99).toFixed(2)}x (target: within 5%: ${rpsRatio >= 0.95 ? 'met' : 'MISSED'})`);

  // Switch time, per engine.
  const a = await named('bench-http-dev-v001-1');
  const b = await named('bench-http-dev-v002-1');
  const groups = [group('bench-http-dev-v001', a.port), group('bench-http-dev-v002', b.port)];
  mkdirSync(path.join(dir, 'kiln'), { mode: 0o700 });
  const kiln = start(process.execPath, [path.join(here, 'proxy-kiln.js'), path.join(dir, 'kiln')]);
  const kilnPort = Number(/:(\d+)/.exec(await firstLine(kiln, 'kiln proxy'))?.[1]);
  const sock = path.join(dir, 'kiln', 'admin.sock');
  let v = 10;
  await adminPut(sock, table(v, 'bench-http-dev-v001', groups));
  await engine.push(table(v, 'bench-http-dev-v001', groups));
  const times = { kiln: [], haproxy: [] };
  for (let i = 0; i < opts.switches; i++) {
    const [active, to] = i % 2 === 0 ? ['bench-http-dev-v002', b.name] : ['bench-http-dev-v001', a.name];
    v++;
    times.kiln.push(await switchMs(kilnPort, () => adminPut(sock, table(v, active, groups)), to));
    times.haproxy.push(await switchMs(enginePort, () => engine.push(table(v, active, groups)), to));
  }
  for (const [k, ts] of Object.entries(times)) console.log(`switch to all new requests, ${k.padEnd(7)}: median ${median(ts).toFixed(2)} ms (min ${Math.min(...ts).toFixed(2)}, max ${Math.max(...ts).toFixed(2)}) over ${ts.length} switches`);
  await Promise.all([a.close(), b.close()]);
} finally {
  // HAProxy runs detached (as it does for Kiln): stopped here, also when a step above failed.
  await engine?.stop();
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  rmSync(dir, { recursive: true, force: true });
}
