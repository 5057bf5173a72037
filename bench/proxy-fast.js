// Proxy benchmark with a fast backend (issue 15): a Node backend is slower than the proxies it is
// meant to measure (bench/proxy.js), so here nginx serves the bodies and every proxy is compared
// against it and against the others:
//   direct      wrk -> nginx backend
//   kiln        wrk -> kiln proxy (Host routing, keep-alive pool) -> backend
//   haproxy-1t  wrk -> HAProxy nbthread 1 (Host ACL, http-reuse always) -> backend
//   haproxy-2t  the same with nbthread 2
//   nginx-1w    wrk -> nginx as a proxy, 1 worker (server_name, upstream keepalive) -> backend
//   nginx-2w    the same with 2 workers
// Cases: keep-alive and a new connection per request (the client sends Connection: close), each
// with a 200-byte and a 64 KB body. Rounds are interleaved (every round runs every case on every
// target once, the target order rotating round by round) so drift on a shared machine hits all
// targets alike; the figures are medians with min and max.
// CPU: utime + stime of every process of the target (nginx: master and workers) from
// /proc/<pid>/stat before and after each wrk run, as CPU seconds per 100k requests; the backend's
// too, which shows whether the backend, not the proxy, was the limit.
// The backend keeps nginx's default keepalive_requests (1000): it closes every keep-alive
// connection after 1000 requests, as production nginx backends do, and the proxies must cope.
//
// Usage: npm run build && node bench/proxy-fast.js [--runs 5] [--duration 5] [--connections 50]
//        [--warmup 2] [--targets kiln,haproxy-1t,...] [--cases ka-200,ka-64k,new-200,new-64k]
//        [--kiln-dist <dist>] [--kiln-before <dist of the reference build>] [--pin] [--show-config]
//        [--cpu-prof <dir>] [--json]
// --pin (taskset): wrk and the backend on CPU 0; a one-core proxy (kiln, haproxy-1t, nginx-1w)
// alone on CPU 1; two-core proxies (haproxy-2t, nginx-2w) on CPUs 0-1, as this machine has only
// two. Without --pin the scheduler places everything (what a user's machine does). Either way
// every target gets the same treatment as the others of its core count.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminPut, freeLoopbackPort, haproxyConfig, median, option } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOST = 'bench.test';
const SMALL = 200;
const LARGE = 64 * 1024;

/** A second kiln build, measured in the same rounds as target kiln-before (a before/after pair). */
const KILN_BEFORE = option('kiln-before', '');
const ALL_TARGETS = ['direct', 'kiln', ...(KILN_BEFORE ? ['kiln-before'] : []), 'haproxy-1t', 'haproxy-2t', 'nginx-1w', 'nginx-2w'];
const ALL_CASES = ['ka-200', 'ka-64k', 'new-200', 'new-64k'];
const CASES = {
  'ka-200': { path: '/small', bytes: SMALL, close: false, title: 'keep-alive, 200 B' },
  'ka-64k': { path: '/large', bytes: LARGE, close: false, title: 'keep-alive, 64 KB' },
  'new-200': { path: '/small', bytes: SMALL, close: true, title: 'new connection per request, 200 B' },
  'new-64k': { path: '/large', bytes: LARGE, close: true, title: 'new connection per request, 64 KB' },
};

const list = (s, all, what) => {
  const xs = s.split(',').filter(Boolean);
  for (const x of xs) if (!all.includes(x)) throw new Error(`unknown ${what} ${x}; known: ${all.join(', ')}`);
  return xs;
};
const opts = {
  runs: Number(option('runs', '5')),
  duration: Number(option('duration', '5')),
  connections: Number(option('connections', '50')),
  warmup: Number(option('warmup', '2')),
  targets: list(option('targets', ALL_TARGETS.join(',')), ALL_TARGETS, 'target'),
  cases: list(option('cases', ALL_CASES.join(',')), ALL_CASES, 'case'),
  kilnDist: path.resolve(option('kiln-dist', path.join(here, '..', 'dist'))),
  kilnBefore: KILN_BEFORE ? path.resolve(KILN_BEFORE) : '',
  pin: (process.argv.includes('--pin') || process.env.BENCH_PIN === '1') && os.cpus().length >= 2,
  json: process.argv.includes('--json'),
  showConfig: process.argv.includes('--show-config'),
  /** Where the kiln proxy writes a CPU profile (node --cpu-prof) when it stops; '' for none. */
  cpuProf: option('cpu-prof', ''),
};

for (const cmd of ['wrk', 'haproxy', 'nginx', ...(opts.pin ? ['taskset'] : [])]) {
  try {
    execFileSync('which', [cmd], { stdio: 'ignore' });
  } catch {
    console.error(`${cmd} is not installed: apt-get install -y wrk haproxy nginx-light util-linux`);
    process.exit(2);
  }
}

/** Which CPUs each role may use when pinning (see the header). */
const CPUS = { wrk: '0', backend: '0', one: '1', two: '0,1' };
const pinned = (role, cmd, args) => (opts.pin ? ['taskset', ['-c', CPUS[role], cmd, ...args]] : [cmd, args]);

/** Every command line that ran, printed with the results (quoted for a shell). */
const commands = [];
const shell = (argv) => argv.map((a) => (/^[\w./:,=@<>-]+$/.test(a) ? a : `'${a}'`)).join(' ');
const children = [];
function start(role, cmd, args) {
  const [c, a] = pinned(role, cmd, args);
  commands.push(shell([c, ...a]));
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM')));
process.on('SIGINT', () => process.exit(130));

/** CPU ms (user + system, all threads) of one process, from /proc (USER_HZ = 100). */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}
/** A process and its children (nginx's workers; taskset execs, so the pid is the program's). */
function family(pid) {
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* gone */
  }
  return [pid, ...kids];
}
const familyCpuMs = (pids) => pids.reduce((n, p) => n + cpuMs(p), 0);

function get(port, p, close) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers: { Host: HOST, ...(close ? { Connection: 'close' } : {}) }, agent: false }, (res) => {
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes: n }));
    });
    req.on('error', reject);
  });
}
async function waitFor(port, what) {
  for (let i = 0; i < 200; i++) {
    const ok = await get(port, '/small', false).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} does not answer 200 on port ${port}`);
}

const toMs = (v, unit) => Number(v) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit];

function wrkArgs(port, c, seconds) {
  return ['-t', '1', '-c', String(opts.connections), '-d', `${seconds}s`, '--latency', '-H', `Host: ${HOST}`, ...(c.close ? ['-H', 'Connection: close'] : []), `http://127.0.0.1:${port}${c.path}`];
}

/** One wrk run against `target` in case `c`: req/s, p50/p99 ms, errors, CPU s per 100k requests. */
function wrk(target, c, seconds, backendPids) {
  const pids = family(target.pid);
  const cpu0 = familyCpuMs(pids);
  const b0 = familyCpuMs(backendPids);
  const [cmd, args] = pinned('wrk', 'wrk', wrkArgs(target.port, c, seconds));
  const out = execFileSync(cmd, args, { encoding: 'utf8' });
  const cpu = familyCpuMs(pids) - cpu0;
  const bcpu = familyCpuMs(backendPids) - b0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (!Number.isFinite(rps) || !(total > 0)) throw new Error(`cannot read wrk's output:\n${out}`);
  const lat = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`no ${p}% latency in wrk output:\n${out}`);
    return toMs(m[1], m[2]);
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
  const per100k = (ms) => (ms / 1000) * (100_000 / total);
  return { rps, p50: lat(50), p99: lat(99), errors, cpu: per100k(cpu), backendCpu: per100k(bcpu) };
}

// --- configurations -------------------------------------------------------------------------

const asRoot = process.getuid?.() === 0;
/** The parts every nginx here shares: foreground, files in `dir`, no access log. */
function nginxCommon(dir, name, workers) {
  return [
    ...(asRoot ? ['user root;'] : []),
    `worker_processes ${workers};`,
    'daemon off;',
    `pid ${dir}/${name}.pid;`,
    `error_log ${dir}/${name}-error.log warn;`,
    'events { worker_connections 4096; }',
  ];
}
function nginxHttpCommon(dir, name) {
  return [
    '  access_log off;',
    `  client_body_temp_path ${dir}/${name}-body;`,
    `  proxy_temp_path ${dir}/${name}-proxy;`,
    `  fastcgi_temp_path ${dir}/${name}-fastcgi;`,
    `  uwsgi_temp_path ${dir}/${name}-uwsgi;`,
    `  scgi_temp_path ${dir}/${name}-scgi;`,
    '  keepalive_timeout 65s;',
  ];
}

/** The backend: /small is 200 bytes, /large 64 KB (a file, sent with sendfile). */
function backendConfig(dir, port) {
  return [
    ...nginxCommon(dir, 'backend', 1),
    'http {',
    ...nginxHttpCommon(dir, 'backend'),
    '  sendfile on;',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    default_type application/octet-stream;',
    `    location = /small { return 200 "${'s'.repeat(SMALL - 1)}\\n"; }`,
    `    location = /large { alias ${dir}/large.bin; }`,
    '  }',
    '}',
    '',
  ].join('\n');
}

function nginxProxyConfig(dir, name, port, workers, backendPort) {
  return [
    ...nginxCommon(dir, name, workers),
    'http {',
    ...nginxHttpCommon(dir, name),
    `  upstream bench { server 127.0.0.1:${backendPort}; keepalive 256; }`,
    `  server { listen 127.0.0.1:${port} default_server; return 404; }`,
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    server_name ${HOST};`,
    '    location / {',
    '      proxy_pass http://bench;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    // Buffers big enough for a 64 KB body: nginx would otherwise spill it to a temp file.
    '      proxy_buffers 16 8k;',
    '      proxy_max_temp_file_size 0;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}


// --- the run ----------------------------------------------------------------------------------

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const stat = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const range = (s, d) => `${fmt(s.median, d)} [${fmt(s.min, d)}-${fmt(s.max, d)}]`;

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-fast-'));
  // nginx workers run as another user when not root: they must read the large body.
  chmodSync(dir, 0o755);
  const loadBefore = os.loadavg();
  try {
    writeFileSync(path.join(dir, 'large.bin'), Buffer.alloc(LARGE, 'l'));
    const backendPort = await freeLoopbackPort();
    writeFileSync(path.join(dir, 'backend.conf'), backendConfig(dir, backendPort));
    const backend = start('backend', 'nginx', ['-p', dir, '-c', path.join(dir, 'backend.conf'), '-e', path.join(dir, 'backend-error.log')]);
    await waitFor(backendPort, 'the nginx backend');
    const backendPids = family(backend.pid);

    const targets = [];
    for (const name of opts.targets) {
      if (name === 'direct') targets.push({ name, port: backendPort, pid: backend.pid, cores: 1 });
      else if (name === 'kiln' || name === 'kiln-before') {
        const kdir = path.join(dir, name);
        mkdirSync(kdir);
        const prof = opts.cpuProf && name === 'kiln' ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts.cpuProf)] : [];
        const child = start('one', process.execPath, [...prof, path.join(here, 'proxy-kiln.js'), kdir, name === 'kiln' ? opts.kilnDist : opts.kilnBefore]);
        const line = await new Promise((resolve, reject) => {
          let buf = '';
          child.stdout.on('data', (d) => {
            buf += d;
            if (buf.includes('\n')) resolve(buf);
          });
          child.once('exit', (code) => reject(new Error(`kiln proxy exited with ${code}`)));
        });
        const port = Number(/:(\d+)/.exec(line)?.[1]);
        await adminPut(path.join(kdir, 'admin.sock'), {
          version: 1,
          clusters: [
            {
              name: 'bench-http-dev',
              hosts: [HOST],
              active: 'bench-http-dev-v001',
              groups: [{ name: 'bench-http-dev-v001', hosts: [], backends: [{ server: 'bench-http-dev-v001-1', host: '127.0.0.1', port: backendPort }] }],
            },
          ],
        });
        targets.push({ name, port, pid: child.pid, cores: 1 });
      } else if (name.startsWith('haproxy-')) {
        const threads = Number(name.slice(8, 9));
        const port = await freeLoopbackPort();
        const cfg = path.join(dir, `${name}.cfg`);
        writeFileSync(cfg, haproxyConfig({ port, threads, backendPort, host: HOST }));
        const child = start(threads === 1 ? 'one' : 'two', 'haproxy', ['-db', '-q', '-f', cfg]);
        targets.push({ name, port, pid: child.pid, cores: threads });
      } else {
        const workers = Number(name.slice(6, 7));
        const port = await freeLoopbackPort();
        const cfg = path.join(dir, `${name}.conf`);
        writeFileSync(cfg, nginxProxyConfig(dir, name, port, workers, backendPort));
        const child = start(workers === 1 ? 'one' : 'two', 'nginx', ['-p', dir, '-c', cfg, '-e', path.join(dir, `${name}-error.log`)]);
        targets.push({ name, port, pid: child.pid, cores: workers });
      }
    }
    // Every target answers every case with the right body before anything is measured.
    for (const t of targets) {
      await waitFor(t.port, t.name);
      for (const c of opts.cases) {
        const r = await get(t.port, CASES[c].path, CASES[c].close);
        if (r.status !== 200 || r.bytes !== CASES[c].bytes) throw new Error(`${t.name} ${c}: status ${r.status}, ${r.bytes} bytes (want 200, ${CASES[c].bytes})`);
      }
    }
    const total = opts.runs * targets.length * opts.cases.length * opts.duration + (opts.warmup > 0 ? targets.length * opts.cases.length * opts.warmup : 0);
    if (!opts.json) console.error(`about ${Math.ceil(total / 60)} min of wrk runs; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
    // Warm-up: JIT, connection pools, page cache.
    if (opts.warmup > 0) for (const t of targets) for (const c of opts.cases) wrk(t, CASES[c], opts.warmup, backendPids);

    const samples = {};
    for (let r = 0; r < opts.runs; r++) {
      for (const c of opts.cases) {
        for (let i = 0; i < targets.length; i++) {
          const t = targets[(i + r) % targets.length];
          const s = wrk(t, CASES[c], opts.duration, backendPids);
          ((samples[c] ??= {})[t.name] ??= []).push(s);
          if (!opts.json) {
            console.error(
              `round ${r + 1}/${opts.runs} ${c.padEnd(7)} ${t.name.padEnd(10)} ${fmt(s.rps).padStart(6)} req/s  p99 ${fmt(s.p99, 2)} ms  cpu ${fmt(s.cpu, 2)} s/100k  backend ${fmt(s.backendCpu, 2)} s/100k${s.errors ? `  errors ${s.errors}` : ''}`,
            );
          }
        }
      }
    }
    const loadAfter = os.loadavg();

    const summary = {};
    for (const c of opts.cases) {
      summary[c] = {};
      for (const t of targets) {
        const s = samples[c][t.name];
        summary[c][t.name] = {
          rps: stat(s.map((x) => x.rps)),
          p50: stat(s.map((x) => x.p50)),
          p99: stat(s.map((x) => x.p99)),
          cpuSecondsPer100k: stat(s.map((x) => x.cpu)),
          backendCpuSecondsPer100k: stat(s.map((x) => x.backendCpu)),
          errors: s.reduce((n, x) => n + x.errors, 0),
        };
      }
    }
    // Each proxy against HAProxy with the same number of cores.
    const ratios = {};
    for (const c of opts.cases) {
      ratios[c] = {};
      for (const t of targets) {
        const ref = summary[c][`haproxy-${t.cores}t`];
        if (t.name === 'direct' || t.name.startsWith('haproxy-') || ref === undefined) continue;
        const s = summary[c][t.name];
        ratios[c][t.name] = {
          vs: `haproxy-${t.cores}t`,
          rps: s.rps.median / ref.rps.median,
          p99: s.p99.median / ref.p99.median,
          cpuPerRequest: s.cpuSecondsPer100k.median / ref.cpuSecondsPer100k.median,
        };
      }
    }
    const wrkCommands = Object.fromEntries(opts.cases.map((c) => [c, shell(pinned('wrk', 'wrk', wrkArgs('<port>', CASES[c], opts.duration)).flat())]));
    const result = { options: opts, cpus: os.cpus().length, load: { before: loadBefore, after: loadAfter }, commands, wrkCommands, summary, ratios, samples };
    if (opts.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    console.log(`\nproxy benchmark, fast backend (nginx): ${opts.runs} interleaved rounds x ${opts.duration} s, ${opts.connections} connections, ${os.cpus().length} CPUs${opts.pin ? ', pinned (wrk and backend on CPU 0, one-core proxies on CPU 1, two-core proxies on 0-1)' : ', unpinned'}`);
    console.log(`load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
    console.log('figures: median [min-max]; CPU in seconds per 100k requests, all processes of the target');
    for (const c of opts.cases) {
      console.log(`\n${CASES[c].title}   (${wrkCommands[c]})`);
      console.log(`${'target'.padEnd(11)} ${'req/s'.padEnd(22)} ${'p99 ms'.padEnd(20)} ${'CPU s/100k'.padEnd(20)} ${'backend s/100k'.padEnd(16)} errors`);
      for (const t of targets) {
        const s = summary[c][t.name];
        console.log(`${t.name.padEnd(11)} ${range(s.rps).padEnd(22)} ${range(s.p99, 2).padEnd(20)} ${range(s.cpuSecondsPer100k, 2).padEnd(20)} ${fmt(s.backendCpuSecondsPer100k.median, 2).padEnd(16)} ${s.errors}`);
      }
      if (summary[c].kiln && summary[c]['kiln-before']) {
        const a = summary[c].kiln;
        const b = summary[c]['kiln-before'];
        console.log(`  kiln / kiln-before: req/s ${(a.rps.median / b.rps.median).toFixed(2)}x, p99 ${(a.p99.median / b.p99.median).toFixed(2)}x, CPU per request ${(a.cpuSecondsPer100k.median / b.cpuSecondsPer100k.median).toFixed(2)}x`);
      }
      for (const [name, r] of Object.entries(ratios[c])) {
        console.log(`  ${name} / ${r.vs}: req/s ${r.rps.toFixed(2)}x, p99 ${r.p99.toFixed(2)}x, CPU per request ${r.cpuPerRequest.toFixed(2)}x`);
      }
    }
    console.log('\ncommands:');
    for (const cmd of commands) console.log(`  ${cmd}`);
    console.log(`  (configurations: haproxyConfig in bench/lib.js, nginxProxyConfig and backendConfig in bench/proxy-fast.js; --show-config prints them)`);
    if (opts.showConfig) for (const f of readdirSync(dir).filter((f) => /\.(cfg|conf)$/.test(f))) console.log(`\n--- ${f}\n${readFileSync(path.join(dir, f), 'utf8')}`);
  } finally {
    const exited = children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r)));
    children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
    await Promise.all(exited);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
