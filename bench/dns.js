// DNS benchmark: queries per second answered by Kiln's DNS server vs dnsmasq serving the same
// names (A records of clusters, groups and servers) from a hosts file, both on loopback, loaded
// with the same query file by dnsperf (falls back to a Node UDP load loop if dnsperf is
// missing). Runs alternate between the two so drift on a shared machine hits both alike; the
// medians and the ratio kiln / dnsmasq are printed. Also the CPU time each server spent per
// answered query (from /proc): steadier than queries/s when other work shares the machine.
//
// Usage: npm run build && node bench/dns.js [--runs 5] [--duration 5] [--clusters 20]
//        [--clients 1] [--outstanding 100] [--pin] [--loop] [--no-cache] [--json]
//        [--rate-limit 1000000000] [--baseline <another kiln checkout, built>]
// --rate-limit: Kiln's per-source UDP limit for the run: the load comes from one address, so by
// default it is far above the query rate (the limiter runs on every query, drops none).
// --baseline: also runs that checkout's Kiln DNS server (e.g. main, in a worktree) interleaved
// with this one, and prints kiln / baseline: what a change costs.
// Options may also be given as environment variables: BENCH_RUNS, BENCH_DURATION, ...
// --pin: server on CPU 1, load generator on CPU 0. --loop: use the Node loop even if dnsperf is there.
// --no-cache: Kiln without its answer cache (every query decoded, looked up and encoded).
// Needs: dnsmasq (Debian package dnsmasq-base), dnsperf (package dnsperf), dig (dnsutils).
import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/src/util/ports.js';
import { loadLoop } from './dns-load.js';
import { firstLine, median, option } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DOMAIN = 'bench.test';

const flag = (name) => process.argv.includes(`--${name}`) || process.env[`BENCH_${name.toUpperCase()}`] === '1';
const opts = {
  runs: Number(option('runs', '5')),
  duration: Number(option('duration', '5')),
  clusters: Number(option('clusters', '20')),
  clients: Number(option('clients', '1')),
  outstanding: Number(option('outstanding', '100')),
  pin: flag('pin'),
  loop: flag('loop'),
  noCache: flag('no-cache'),
  json: flag('json'),
  rateLimit: Number(option('rate-limit', '1000000000')),
  baseline: option('baseline', ''),
};

const has = (cmd) => {
  try {
    execFileSync('which', [cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
for (const [cmd, pkg] of [['dnsmasq', 'dnsmasq-base'], ['dig', 'dnsutils']]) {
  if (!has(cmd)) {
    console.error(`${cmd} is not installed: apt-get install -y ${pkg}`);
    process.exit(2);
  }
}
const useDnsperf = !opts.loop && has('dnsperf');
if (!useDnsperf && !opts.loop) console.error('dnsperf is not installed (apt-get install -y dnsperf): using the Node query loop');
if (opts.pin && !has('taskset')) opts.pin = false;
const pinned = (cpu, cmd, args) => (opts.pin ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);

/** Clusters with two groups of three servers each: every name a deploy gives. */
function snapshot() {
  const clusters = [];
  for (let c = 0; c < opts.clusters; c++) {
    const name = `svc${c}-http-bench`;
    const groups = [1, 2].map((b) => ({
      name: `${name}-v00${b}`,
      release: `r${b}`,
      servers: [1, 2, 3].map((n) => ({ name: `${name}-v00${b}-${n}`, address: `127.${c + 1}.${b}.${n}`, port: 40000 + n })),
    }));
    clusters.push({ name, address: `127.${c + 1}.0.1`, port: 30000 + c, portName: 'http', groups });
  }
  return { domain: DOMAIN, clusters };
}

/** The same names as a hosts file: a group's name on one line per server address. */
function hostsFile(s) {
  const lines = [];
  for (const c of s.clusters) {
    lines.push(`${c.address} ${c.name}.${DOMAIN}`);
    for (const g of c.groups) {
      for (const sv of g.servers) lines.push(`${sv.address} ${g.name}.${DOMAIN}`, `${sv.address} ${sv.name}.${DOMAIN}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Every name once, in a fixed shuffled order (dnsperf loops over the file). */
function queryNames(s) {
  const names = [];
  for (const c of s.clusters) {
    names.push(`${c.name}.${DOMAIN}`);
    for (const g of c.groups) names.push(`${g.name}.${DOMAIN}`, ...g.servers.map((sv) => `${sv.name}.${DOMAIN}`));
  }
  let seed = 42;
  for (let i = names.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [names[i], names[j]] = [names[j], names[i]];
  }
  return names;
}

const children = [];
function start(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return { child, stderr: () => err };
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});
process.on('SIGINT', () => process.exit(130));

function dig(port, name) {
  return new Promise((resolve) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', name, 'A'], (_e, out) =>
      resolve((out ?? '').trim().split('\n').filter(Boolean).sort().join(',')),
    );
  });
}
async function waitAnswers(port, name) {
  for (let i = 0; i < 100; i++) {
    if (await dig(port, name)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no answer for ${name} on port ${port}`);
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux, USER_HZ=100). */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

function dnsperf(port, queryFile, seconds) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(seconds), '-c', String(opts.clients), '-q', String(opts.outstanding), '-t', '2'];
  const [c, a] = pinned('0', 'dnsperf', args);
  const out = execFileSync(c, a, { encoding: 'utf8' });
  const num = (re) => Number(re.exec(out)?.[1]);
  const qps = num(/Queries per second:\s+([\d.]+)/);
  if (!Number.isFinite(qps)) throw new Error(`cannot read queries/s from dnsperf output:\n${out}`);
  return { qps, completed: num(/Queries completed:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/), latencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000 };
}

async function measure(port, pid, queryFile, names, seconds) {
  const cpu0 = cpuMs(pid);
  const r = useDnsperf ? dnsperf(port, queryFile, seconds) : await loadLoop({ port, names, seconds, outstanding: opts.outstanding });
  const cpu = cpuMs(pid) - cpu0;
  return { ...r, cpuUsPerQuery: (cpu * 1000) / r.completed };
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-dns-'));
  try {
    const snap = snapshot();
    const names = queryNames(snap);
    writeFileSync(path.join(dir, 'snapshot.json'), JSON.stringify(snap));
    writeFileSync(path.join(dir, 'hosts'), hostsFile(snap));
    const queryFile = path.join(dir, 'queries.txt');
    writeFileSync(queryFile, names.map((n) => `${n} A`).join('\n') + '\n');

    const [kc, ka] = pinned('1', process.execPath, [path.join(here, 'dns-kiln.js'), path.join(dir, 'snapshot.json'), opts.noCache ? '0' : '-', String(opts.rateLimit)]);
    const kiln = start(kc, ka);
    const kilnPort = Number(await firstLine(kiln.child));
    // The baseline's dns-kiln.js may predate the rate-limit argument: it gets only what it knows
    // (one that knows it must get it, or its default limit drops most of the single source's queries).
    const baseScript = opts.baseline ? path.join(path.resolve(opts.baseline), 'bench', 'dns-kiln.js') : '';
    const baseKnowsLimit = baseScript !== '' && readFileSync(baseScript, 'utf8').includes('argv[4]');
    const base = opts.baseline
      ? start(...pinned('1', process.execPath, [baseScript, path.join(dir, 'snapshot.json'), ...(baseKnowsLimit ? [opts.noCache ? '0' : '-', String(opts.rateLimit)] : opts.noCache ? ['0'] : [])]))
      : null;
    const basePort = base ? Number(await firstLine(base.child, 'the baseline DNS server')) : 0;

    const dnsmasqPort = await freePort('127.0.0.1');
    const [dc, da] = pinned('1', 'dnsmasq', [
      '--keep-in-foreground', '--no-resolv', '--no-hosts', `--addn-hosts=${path.join(dir, 'hosts')}`,
      '--bind-interfaces', '--listen-address=127.0.0.1', `--port=${dnsmasqPort}`,
      '--pid-file', `--local=/${DOMAIN}/`, '--log-facility=-', '--user=root',
    ]);
    const dnsmasq = start(dc, da);
    dnsmasq.child.once('exit', (code) => code && console.error(`dnsmasq exited with ${code}: ${dnsmasq.stderr()}`));

    // Same question, same answer from both, for each kind of name, before any timing.
    const probes = [names.find((n) => /-bench\.bench/.test(n)), names.find((n) => /-v00\d\.bench/.test(n)), names.find((n) => /-v00\d-\d\.bench/.test(n))];
    await waitAnswers(kilnPort, probes[0]);
    await waitAnswers(dnsmasqPort, probes[0]);
    for (const n of probes) {
      const [a, b] = await Promise.all([dig(kilnPort, n), dig(dnsmasqPort, n)]);
      if (a !== b) throw new Error(`kiln and dnsmasq disagree on ${n}: ${a} vs ${b}`);
    }

    if (base) {
      for (const n of probes) {
        const [a, b] = await Promise.all([dig(kilnPort, n), dig(basePort, n)]);
        if (a !== b) throw new Error(`kiln and the baseline disagree on ${n}: ${a} vs ${b}`);
      }
    }
    const servers = {
      kiln: { port: kilnPort, pid: kiln.child.pid },
      ...(base ? { baseline: { port: basePort, pid: base.child.pid } } : {}),
      dnsmasq: { port: dnsmasqPort, pid: dnsmasq.child.pid },
    };
    for (const s of Object.values(servers)) await measure(s.port, s.pid, queryFile, names, 1); // warm-up
    const runs = Object.fromEntries(Object.keys(servers).map((k) => [k, []]));
    for (let i = 0; i < opts.runs; i++) {
      for (const [name, s] of Object.entries(servers)) {
        const r = await measure(s.port, s.pid, queryFile, names, opts.duration);
        runs[name].push(r);
        if (!opts.json) console.error(`run ${i + 1}/${opts.runs} ${name.padEnd(8)} ${r.qps.toFixed(0).padStart(7)} q/s  lost ${r.lost}  ${r.cpuUsPerQuery.toFixed(1)} µs CPU/query`);
      }
    }
    const summary = Object.fromEntries(
      Object.entries(runs).map(([k, rs]) => [k, { qps: median(rs.map((r) => r.qps)), latencyMs: median(rs.map((r) => r.latencyMs)), cpuUsPerQuery: median(rs.map((r) => r.cpuUsPerQuery)), lost: rs.reduce((n, r) => n + r.lost, 0) }]),
    );
    const result = {
      tool: useDnsperf ? 'dnsperf' : 'node-loop',
      names: names.length,
      options: opts,
      kiln: summary.kiln,
      dnsmasq: summary.dnsmasq,
      ratio: summary.kiln.qps / summary.dnsmasq.qps,
      cpuRatio: summary.kiln.cpuUsPerQuery / summary.dnsmasq.cpuUsPerQuery,
      ...(base
        ? {
            baseline: summary.baseline,
            baselineRatio: summary.kiln.qps / summary.baseline.qps,
            baselineCpuRatio: summary.kiln.cpuUsPerQuery / summary.baseline.cpuUsPerQuery,
            // Per run (interleaved, so neighbours share the machine's state): spread of the ratio.
            baselineRunRatios: runs.kiln.map((r, i) => r.qps / runs.baseline[i].qps),
          }
        : {}),
      runs,
    };
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else {
      const line = (k) => `${k.padEnd(8)} ${result[k].qps.toFixed(0).padStart(8)} q/s   ${result[k].latencyMs.toFixed(3)} ms avg   ${result[k].cpuUsPerQuery.toFixed(1)} µs CPU/query   lost ${result[k].lost}`;
      console.log(`DNS: ${names.length} names, ${opts.runs} runs of ${opts.duration} s with ${result.tool} (medians)`);
      console.log(line('kiln'));
      if (base) console.log(line('baseline'));
      console.log(line('dnsmasq'));
      console.log(`kiln / dnsmasq: ${result.ratio.toFixed(2)}x queries/s, ${result.cpuRatio.toFixed(2)}x CPU per query`);
      if (base) {
        const rr = result.baselineRunRatios;
        console.log(
          `kiln / baseline (${opts.baseline}): ${result.baselineRatio.toFixed(3)}x queries/s (per run min ${Math.min(...rr).toFixed(3)}, max ${Math.max(...rr).toFixed(3)}), ` +
            `${result.baselineCpuRatio.toFixed(3)}x CPU per query; rate limit ${opts.rateLimit}/s per source`,
        );
      }
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.stack ?? String(e));
  process.exit(1);
});
