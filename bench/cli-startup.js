#!/usr/bin/env node
// Start-up of every command: wall time of short CLI calls, next to `node -e 0` (Node's own start,
// the floor no command can go under). `kiln status` asks a running control plane (the example
// shop deployed on the process runtime), so its figure is start-up plus one API call.
//
//   npm run build && node bench/cli-startup.js [--runs 20] [--kiln BIN] [--json]
//
// --kiln BIN measures another build's bin/kiln.js (e.g. main's, for a before/after).
//
// Runs are interleaved (one of each command per round), so a load change on the machine touches
// every command alike. Medians with min and max.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort, median, option } from './lib.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kilnBin = path.resolve(option('kiln', path.join(repo, 'bin', 'kiln.js')));
const runs = Number(option('runs', 20));
const asJson = process.argv.includes('--json');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const COMMANDS = [
  { label: 'node -e 0', argv: ['-e', '0'] },
  { label: 'kiln version', argv: [kilnBin, 'version'] },
  { label: 'kiln --help', argv: [kilnBin, '--help'] },
  { label: 'kiln status', argv: [kilnBin, 'status'] },
  { label: 'kiln status --env dev', argv: [kilnBin, 'status', '--env', 'dev'] },
];
const measured = `${COMMANDS.map((c) => c.label).join(', ')}: wall time of each process, median of ${runs} interleaved runs (examples/shop deployed, process runtime)`;

function kiln(dir, argv, input) {
  const r = spawnSync(process.execPath, [kilnBin, ...argv], { cwd: dir, encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`kiln ${argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function timed(dir, argv) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-cli-'));
  fs.chmodSync(dir, 0o711); // servers run as users of their own (root): they pass through it
  let server = null;
  try {
    fs.cpSync(path.join(repo, 'examples', 'shop'), dir, { recursive: true, filter: (src) => path.basename(src) !== '.kiln' });
    const yamlPath = path.join(dir, 'kiln.yaml');
    fs.writeFileSync(yamlPath, fs.readFileSync(yamlPath, 'utf8').replace(/port: 7080 \}/, `port: ${await freeLoopbackPort()} }\ndns: { port: ${await freeLoopbackPort()} }`));
    kiln(dir, ['init']);
    kiln(dir, ['app', 'tag', 'api', '1.0.0']);
    kiln(dir, ['app', 'tag', 'web', '1.0.0']);
    kiln(dir, ['release', 'create']);
    kiln(dir, ['secret', 'set', 'web_token', '--env', 'dev'], 'bench-token');
    server = spawn(process.execPath, [kilnBin, 'server'], { cwd: dir, stdio: 'ignore' });
    while (!fs.existsSync(path.join(dir, '.kiln', 'run', 'kiln.sock'))) await sleep(20);
    kiln(dir, ['deploy', 'r1', '--env', 'dev']);
    for (const c of COMMANDS) timed(dir, c.argv); // warm the page cache
    const times = new Map(COMMANDS.map((c) => [c.label, []]));
    for (let i = 0; i < runs; i++) for (const c of COMMANDS) times.get(c.label).push(timed(dir, c.argv));
    const floor = median(times.get('node -e 0'));
    const rows = COMMANDS.map((c) => {
      const xs = times.get(c.label);
      const m = median(xs);
      return { command: c.label, medianMs: Number(m.toFixed(1)), minMs: Number(Math.min(...xs).toFixed(1)), maxMs: Number(Math.max(...xs).toFixed(1)), overNodeMs: Number((m - floor).toFixed(1)), ratioToNode: Number((m / floor).toFixed(2)) };
    });
    const load = os.loadavg().map((l) => Number(l.toFixed(2)));
    if (asJson) console.log(JSON.stringify({ command: measured, runs, load, target: { 'kiln status': '<= 90 ms' }, rows }, null, 2));
    else {
      console.log(`measured: ${measured}`);
      console.log(`load average ${load.join(' ')}; target: kiln status <= 90 ms`);
      console.log(`${'command'.padEnd(24)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${'over node'.padStart(10)} ${'ratio'.padStart(6)}`);
      for (const r of rows) {
        console.log(`${r.command.padEnd(24)} ${r.medianMs.toFixed(1).padStart(8)} ${r.minMs.toFixed(1).padStart(8)} ${r.maxMs.toFixed(1).padStart(8)} ${r.overNodeMs.toFixed(1).padStart(10)} ${r.ratioToNode.toFixed(2).padStart(6)}`);
      }
    }
  } finally {
    spawnSync(process.execPath, [kilnBin, 'down'], { cwd: dir, stdio: 'ignore' });
    server?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.stack ?? String(e));
  process.exit(1);
});
