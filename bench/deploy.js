#!/usr/bin/env node
// Deploy latency: seconds from `kiln deploy` to the switch, minus the time the apps themselves
// take to become healthy. Runs the example shop on the embedded default (process runtime).
//
//   npm run build && node bench/deploy.js [--runs 7] [--json]
//
// Reference ("apps alone"): the same five servers (api http x2, api worker, web http x2) started
// in parallel by a bare script with the same flags, polled for health every millisecond — the
// fastest anyone could know they are up. Kiln's overhead is the difference of the medians.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 7) || 7;
const asJson = args.includes('--json');
const kilnBin = path.join(repo, 'bin', 'kiln.js');
const measured = `kiln deploy r1|r2 --env dev (examples/shop, process runtime), ${runs} runs, vs the same servers started by hand`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

function kiln(dir, argv) {
  const r = spawnSync(process.execPath, [kilnBin, ...argv], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kiln ${argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs `kiln deploy` and returns ms from spawning the CLI to the first switch event. */
function timedDeploy(dir, release) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [kilnBin, 'deploy', release, '--env', 'dev'], { cwd: dir });
    let err = '';
    let switchedAt = null;
    child.stderr.on('data', (d) => {
      err += d;
      if (switchedAt === null && /-> \S+-v\d+/.test(err)) switchedAt = Date.now();
    });
    child.on('exit', (code) => {
      if (code !== 0 || switchedAt === null) reject(new Error(`deploy failed (${code}):\n${err}`));
      else resolve(switchedAt - t0);
    });
  });
}

function healthy(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

/** The five servers started by hand, in parallel; ms until all are healthy (worker: started). */
async function appsAlone(dir) {
  const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-apps-'));
  const apiDir = path.join(dir, 'apps', 'api');
  const webDir = path.join(dir, 'apps', 'web');
  const apiPorts = [await freePort(), await freePort()];
  const webPorts = [await freePort(), await freePort()];
  const t0 = Date.now();
  const procs = [
    ...apiPorts.map((p, i) => spawn(process.execPath, [path.join(apiDir, 'server.js'), '--greeting=hello', `--log-file=${logs}/a${i}.log`, `--port=${p}`], { stdio: 'ignore' })),
    spawn(process.execPath, [path.join(apiDir, 'server.js'), '--greeting=hello', `--log-file=${logs}/w.log`, '--mode=worker'], { stdio: 'ignore' }),
    ...webPorts.map((p, i) =>
      spawn(process.execPath, [path.join(webDir, 'server.js'), `--api-url=http://127.0.0.1:${apiPorts[0]}`, `--log-file=${logs}/b${i}.log`, `--port=${p}`], { stdio: 'ignore' }),
    ),
  ];
  await Promise.all(
    [...apiPorts, ...webPorts].map(async (p) => {
      while (!(await healthy(p))) await sleep(1);
    }),
  );
  const ms = Date.now() - t0;
  for (const p of procs) p.kill('SIGKILL');
  await sleep(100);
  fs.rmSync(logs, { recursive: true, force: true });
  return ms;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-deploy-'));
  // Run as root, Kiln starts servers as users of their own (docs/isolation.md): they must be
  // able to pass through the project directory (mkdtemp makes it 0700).
  fs.chmodSync(dir, 0o711);
  fs.cpSync(path.join(repo, 'examples', 'shop'), dir, { recursive: true, filter: (src) => path.basename(src) !== '.kiln' });
  const proxyPort = await freePort();
  const yamlPath = path.join(dir, 'kiln.yaml');
  const dnsPort = await freePort();
  fs.writeFileSync(yamlPath, fs.readFileSync(yamlPath, 'utf8').replace(/port: 7080 \}/, `port: ${proxyPort} }\ndns: { port: ${dnsPort} }`));
  kiln(dir, ['init']);
  kiln(dir, ['app', 'tag', 'api', '1.0.0']);
  kiln(dir, ['app', 'tag', 'web', '1.0.0']);
  kiln(dir, ['release', 'create']);
  // A second release whose every app differs: the runs alternate r2, r1, r2, … so each deploy
  // changes every cluster and switches (deploying what already runs switches nothing).
  for (const app of ['api', 'web']) fs.appendFileSync(path.join(dir, 'apps', app, 'server.js'), `\n// bench: second build\n`);
  kiln(dir, ['app', 'tag', 'api', '1.0.1']);
  kiln(dir, ['app', 'tag', 'web', '1.0.1']);
  kiln(dir, ['release', 'create']);
  const secret = spawnSync(process.execPath, [kilnBin, 'secret', 'set', 'web_token', '--env', 'dev'], { cwd: dir, input: 'bench-token' });
  if (secret.status !== 0) throw new Error(String(secret.stderr));
  const server = spawn(process.execPath, [kilnBin, 'server'], { cwd: dir, stdio: 'ignore' });
  try {
    while (!fs.existsSync(path.join(dir, '.kiln', 'run', 'kiln.sock'))) await sleep(20);
    await timedDeploy(dir, 'r1'); // warm-up: extracts the app files, starts the proxy's listeners
    const deploy = [];
    const alone = [];
    for (let i = 0; i < runs; i++) {
      deploy.push(await timedDeploy(dir, i % 2 === 0 ? 'r2' : 'r1'));
      alone.push(await appsAlone(dir));
      if (!asJson) process.stderr.write(`run ${i + 1}/${runs}: deploy-to-switch ${deploy.at(-1)} ms, apps alone ${alone.at(-1)} ms\n`);
    }
    const d = median(deploy);
    const a = median(alone);
    const result = {
      runs,
      deployToSwitchMs: { median: d, all: deploy },
      appsAloneMs: { median: a, all: alone },
      kilnOverheadMs: d - a,
      ratio: Number((d / a).toFixed(2)),
      targetMs: 500,
    };
    if (asJson) console.log(JSON.stringify({ command: measured, ...result }, null, 2));
    else {
      console.log(`measured: ${measured}`);
      console.log(`deploy to switch (kiln deploy, 3 clusters, 5 servers)  median ${d} ms`);
      console.log(`apps alone (same 5 servers, started and polled by hand) median ${a} ms`);
      console.log(`kiln overhead                                           ${d - a} ms (target < 500 ms); ratio ${result.ratio}x`);
    }
  } finally {
    spawnSync(process.execPath, [kilnBin, 'down'], { cwd: dir, stdio: 'ignore' });
    server.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
