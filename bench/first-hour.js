#!/usr/bin/env node
// The first hour's figures (issue 13): the wall time of the README's first command on a clean
// clone, and of `kiln --help` and `kiln status` against a running control plane.
//
//   node bench/first-hour.js [--repo DIR] [--runs 1] [--cli-runs 10] [--keep] [--json]
//
// Each run of the first command is on a fresh `git clone` of --repo (default: this repository;
// the clone has what is committed on its checked-out branch, nothing uncommitted), where it runs
// `npm ci && npm run demo` through sh, as a new user would. Only the ports differ: the clone's
// examples/shop/kiln.yaml gets free loopback ports for the proxy and DNS, so the bench never
// collides with a demo already running on this machine. `npm ci` uses this user's npm cache as it
// is (cold or warm: the output says which it found); the demo's own `npm ci` of the api is part
// of the time. After the last run, with the demo's control plane still up, `node bin/kiln.js
// --help` and `node bin/kiln.js status` (in examples/shop) are each timed --cli-runs times:
// median, min and max. Then `kiln down` stops it and the clones are removed (--keep keeps them).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort, median, option } from './lib.js';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repo = path.resolve(option('repo', here));
const runs = Math.max(1, Number(option('runs', '1')) || 1);
const cliRuns = Math.max(1, Number(option('cli-runs', '10')) || 10);
const keep = process.argv.includes('--keep');
const asJson = process.argv.includes('--json');
const FIRST = 'npm ci && npm run demo';
const say = (s) => {
  if (!asJson) console.log(s);
};
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Runs `sh -c command` in `cwd`, its output into `logFile`; resolves with the wall time and exit code. */
function timed(command, cwd, logFile) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'w');
    const t0 = process.hrtime.bigint();
    const child = spawn('sh', ['-c', command], { cwd, stdio: ['ignore', out, out] });
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(out);
      resolve({ ms: ms(t0), code });
    });
  });
}

function timeCli(argv, cwd, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { cwd, encoding: 'utf8' });
    times.push(ms(t0));
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times), runs: n };
}

async function cloneFresh(tmp, i) {
  const dir = path.join(tmp, `kiln-${i}`);
  const r = spawnSync('git', ['clone', '--quiet', repo, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git clone ${repo} failed: ${r.stderr}`);
  const spec = path.join(dir, 'examples', 'shop', 'kiln.yaml');
  const text = fs.readFileSync(spec, 'utf8');
  if (!/^proxy: \{ port: \d+ \}$/m.test(text)) throw new Error(`${spec}: no "proxy: { port: N }" line to give a free port`);
  fs.writeFileSync(spec, text.replace(/^proxy: \{ port: \d+ \}$/m, `proxy: { port: ${await freeLoopbackPort()} }\ndns: { port: ${await freeLoopbackPort()} }`));
  return dir;
}

const down = (dir) => spawnSync(process.execPath, [path.join(dir, 'bin', 'kiln.js'), 'down'], { cwd: path.join(dir, 'examples', 'shop'), encoding: 'utf8' });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-first-hour-'));
// mkdtemp makes it 0700; the demo's servers run as their own users and must pass through it to
// reach the project's .kiln (Kiln refuses a deploy they could not reach, as it should).
fs.chmodSync(tmp, 0o711);
const head = spawnSync('git', ['-C', repo, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim();
const npmCache = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();
const cacheState = fs.existsSync(path.join(npmCache, '_cacache')) ? 'present' : 'empty';
say(`first hour: clones of ${repo} (${head}); npm cache ${npmCache} ${cacheState}; load ${load()}`);
const result = { repo, head, firstCommand: FIRST, runs: [], cli: {}, loadBefore: load() };
let last = null;
try {
  for (let i = 1; i <= runs; i++) {
    if (last) down(last);
    const dir = await cloneFresh(tmp, i);
    last = dir;
    const log = path.join(tmp, `run-${i}.log`);
    say(`run ${i}: \`${FIRST}\` in a fresh clone ${dir} (output: ${log})`);
    const r = await timed(FIRST, dir, log);
    result.runs.push({ ms: r.ms, code: r.code });
    say(`  ${(r.ms / 1000).toFixed(1)} s, exit ${r.code}`);
    if (r.code !== 0) throw new Error(`\`${FIRST}\` failed (exit ${r.code}); its output: ${log}\n${fs.readFileSync(log, 'utf8').split('\n').slice(-20).join('\n')}`);
  }
  const shop = path.join(last, 'examples', 'shop');
  const bin = path.join(last, 'bin', 'kiln.js');
  for (const [label, argv] of [['kiln --help', [bin, '--help']], ['kiln status', [bin, 'status']]]) {
    const t = timeCli(argv, shop, cliRuns);
    result.cli[label] = t;
    say(`\`node bin/kiln.js ${argv.slice(1).join(' ')}\` in examples/shop (control plane running): median ${t.median.toFixed(0)} ms (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}, ${t.runs} runs)`);
  }
} finally {
  if (last) down(last);
  result.loadAfter = load();
  if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  else say(`kept ${tmp}`);
}
if (asJson) console.log(JSON.stringify(result));
else console.log(`load average before ${result.loadBefore}, after ${result.loadAfter}`);
