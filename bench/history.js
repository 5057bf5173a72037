#!/usr/bin/env node
// Costs that must not grow with history: the idle control plane's CPU, the status API's latency
// and a deploy's wall time, for the example shop (process runtime, embedded default) with a
// state.db holding a long history, next to the same figures for an empty project.
//
//   npm run build && node bench/history.js [--groups 30000] [--events 280000] [--idle-seconds 10]
//                                          [--status-calls 50] [--deploys 5] [--cpu-prof DIR] [--kiln BIN] [--json]
//
// Both control planes run side by side and are measured interleaved (deploys and status calls
// alternate, idle CPU over the same seconds), so the machine's load touches both alike.
// --cpu-prof DIR writes a V8 CPU profile of each control plane (empty, history) into DIR.
// --kiln BIN measures another build's bin/kiln.js (e.g. main's, for a before/after).
//
// The history is seeded with SQL that matches the schema kiln's own migrations made (kiln init):
// destroyed (and a few failed) server groups of the three dev clusters with their stopped
// servers, the deployments that made them and their events, ~28 per deployment. Templates are
// copies of the real ones the empty project's first deploy wrote, so each row costs what a real
// one does to read and parse.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { freeLoopbackPort, median, option } from './lib.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const Database = createRequire(import.meta.url)('better-sqlite3');
const kilnBin = path.resolve(option('kiln', path.join(repo, 'bin', 'kiln.js')));
const groups = Number(option('groups', 30000));
const eventsTarget = Number(option('events', 280000));
const idleSeconds = Number(option('idle-seconds', 10));
const statusCalls = Number(option('status-calls', 50));
const deploys = Number(option('deploys', 5));
const asJson = process.argv.includes('--json');
const cpuProfDir = option('cpu-prof', '');
const measured =
  `kiln server on examples/shop (process runtime, env dev, 3 clusters, 5 servers): idle CPU over ${idleSeconds} s (/proc/<pid>/stat), ` +
  `GET /v1/status?env=dev median of ${statusCalls}, kiln deploy r1|r2 wall time median of ${deploys}, both projects' control planes side by side, interleaved; ` +
  `empty state.db vs ${groups} historical groups and ~${eventsTarget} events`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function kiln(dir, argv, input) {
  const r = spawnSync(process.execPath, [kilnBin, ...argv], { cwd: dir, encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`kiln ${argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A copy of examples/shop with two releases (every app differs) and its secret, on free ports. */
async function project(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-bench-history-${label}-`));
  // Run as root, Kiln starts servers as users of their own: they must pass through the directory.
  fs.chmodSync(dir, 0o711);
  fs.cpSync(path.join(repo, 'examples', 'shop'), dir, { recursive: true, filter: (src) => path.basename(src) !== '.kiln' });
  const yamlPath = path.join(dir, 'kiln.yaml');
  const yaml = fs.readFileSync(yamlPath, 'utf8').replace(/port: 7080 \}/, `port: ${await freeLoopbackPort()} }\ndns: { port: ${await freeLoopbackPort()} }`);
  fs.writeFileSync(yamlPath, yaml);
  kiln(dir, ['init']);
  kiln(dir, ['app', 'tag', 'api', '1.0.0']);
  kiln(dir, ['app', 'tag', 'web', '1.0.0']);
  kiln(dir, ['release', 'create']);
  for (const app of ['api', 'web']) fs.appendFileSync(path.join(dir, 'apps', app, 'server.js'), `\n// bench: second build\n`);
  kiln(dir, ['app', 'tag', 'api', '1.0.1']);
  kiln(dir, ['app', 'tag', 'web', '1.0.1']);
  kiln(dir, ['release', 'create']);
  kiln(dir, ['secret', 'set', 'web_token', '--env', 'dev'], 'bench-token');
  return dir;
}

/** The clusters' real group templates, from a project that deployed once. */
function templatesOf(dir) {
  const db = new Database(path.join(dir, '.kiln', 'state.db'), { readonly: true });
  try {
    const rows = db.prepare(`SELECT cluster, replicas, template FROM server_groups WHERE state = 'active'`).all();
    const clusters = db.prepare('SELECT name, env, service, role FROM clusters').all();
    return rows.map((r) => ({ ...r, ...clusters.find((c) => c.name === r.cluster) }));
  } finally {
    db.close();
  }
}

/** Writes the history into a project's state.db (the control plane is not running). */
function seedHistory(dir, templates) {
  const db = new Database(path.join(dir, '.kiln', 'state.db'));
  const perCluster = Math.ceil(groups / templates.length);
  const deploymentsN = perCluster;
  // Events per deployment so the total is about eventsTarget.
  const perDeployment = Math.max(4, Math.round(eventsTarget / deploymentsN));
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const at = (i) => new Date(t0 + i * 60_000).toISOString();
  let eventCount = 0;
  let groupCount = 0;
  db.transaction(() => {
    const cluster = db.prepare('INSERT INTO clusters(name, env, service, role, lb_port, active_group, next_build, created_at) VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)');
    const group = db.prepare(
      `INSERT INTO server_groups(name, cluster, build, release, deployment_id, state, replicas, next_ordinal, template, created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const server = db.prepare(`INSERT INTO servers(name, group_name, ordinal, state, pid, start_time, port, created_at, changed_at, detail) VALUES (?, ?, ?, 'stopped', ?, ?, ?, ?, ?, 'its group was destroyed')`);
    const deployment = db.prepare(`INSERT INTO deployments(id, env, release, kind, state, started_at, finished_at) VALUES (?, 'dev', ?, 'deploy', 'succeeded', ?, ?)`);
    const event = db.prepare('INSERT INTO events(at, deployment_id, env, cluster, subject, kind, message) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const t of templates) cluster.run(t.name, t.env, t.service, t.role, perCluster + 1, at(0));
    for (let d = 1; d <= deploymentsN; d++) {
      const release = d % 2 ? 'r1' : 'r2';
      deployment.run(d, release, at(d), at(d));
      const evs = [['deploy.started', null, null, `deploy ${release} to dev: ${templates.length} cluster(s)`]];
      for (const t of templates) {
        if (groupCount >= groups) break;
        groupCount++;
        const build = d;
        const name = `${t.name}-v${String(build).padStart(3, '0')}`;
        // One group in a hundred failed its health checks; the others served and were destroyed.
        const failed = d % 100 === 7;
        group.run(name, t.name, build, release, d, failed ? 'failed' : 'destroyed', t.replicas, t.replicas + 1, t.template, at(d), at(d + 1));
        for (let o = 1; o <= t.replicas; o++) {
          const s = `${name}-${o}`;
          server.run(s, name, o, 100000 + o, String(d), 20000 + o, at(d), at(d + 1));
          evs.push(['server.started', t.name, s, `${s}: started`], ['server.healthy', t.name, s, `${s}: healthy`]);
        }
        if (failed) evs.push(['group.failed', t.name, name, `${name}: not healthy within 10000 ms; the old group serves on`]);
        else evs.push(['group.created', t.name, name, `${name}: created`], ['cluster.switched', t.name, name, `${t.name} -> ${name}`], ['group.destroyed', t.name, name, `${name}: destroyed`]);
      }
      while (evs.length < perDeployment - 1) evs.push(['data.progress', null, null, 'orders: at head']);
      evs.push(['deploy.succeeded', null, null, `${release} serves dev`]);
      for (const [kind, c, subject, message] of evs) event.run(at(d), d, 'dev', c, subject, kind, message);
      eventCount += evs.length;
    }
    db.prepare(`INSERT INTO counters(name, value) VALUES ('routes', 1) ON CONFLICT(name) DO NOTHING`).run();
  })();
  // A store that grew over a year went through many checkpoints: its history is in state.db,
  // not in a 90 MB write-ahead log every read would have to search.
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { groups: groupCount, events: eventCount };
}

function startServer(dir, label) {
  const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(cpuProfDir), '--cpu-prof-name', `control-plane-${label}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, kilnBin, 'server'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.errText = () => err;
  return child;
}

async function waitReady(dir, child) {
  const sock = path.join(dir, '.kiln', 'run', 'kiln.sock');
  const until = Date.now() + 120_000;
  while (!fs.existsSync(sock)) {
    if (child.exitCode !== null) throw new Error(`kiln server exited ${child.exitCode}:\n${child.errText()}`);
    if (Date.now() > until) throw new Error(`kiln server not ready in 120 s:\n${child.errText()}`);
    await sleep(20);
  }
}

function deployWall(dir, release) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [kilnBin, 'deploy', release, '--env', 'dev'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`kiln deploy ${release} failed (${code}):\n${err}`))));
  });
}

function statusOnce(dir, token) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ socketPath: path.join(dir, '.kiln', 'run', 'kiln.sock'), path: '/v1/status?env=dev', headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
  });
}

/** CPU seconds (user + system) a process used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime (fields 14, 15)
}

/** A project's control plane, started and with r1 deployed (the app files, the proxy's listeners). */
async function started(dir, label) {
  const server = startServer(dir, label);
  try {
    await waitReady(dir, server);
    await deployWall(dir, 'r1');
  } catch (e) {
    server.kill('SIGKILL');
    throw e;
  }
  return { dir, label, server, token: fs.readFileSync(path.join(dir, '.kiln', 'run', 'token'), 'utf8').trim(), deployMs: [], statusMs: [] };
}

async function stopped(p) {
  spawnSync(process.execPath, [kilnBin, 'down'], { cwd: p.dir, stdio: 'ignore' });
  // `kiln down` stops the control plane too; a profile is written as it exits.
  if (p.server.exitCode === null) await new Promise((r) => (p.server.once('exit', r), setTimeout(r, 5_000)));
  p.server.kill('SIGKILL');
}

/**
 * Both control planes run side by side and are measured interleaved (a deploy of one, then of
 * the other; status calls alternating; idle CPU over the same seconds), so a change of the
 * machine's load touches both alike.
 */
async function measureBoth(pair) {
  for (let i = 0; i < deploys; i++) for (const p of pair) p.deployMs.push(await deployWall(p.dir, i % 2 === 0 ? 'r2' : 'r1'));
  for (let i = 0; i < 5; i++) for (const p of pair) await statusOnce(p.dir, p.token);
  for (let i = 0; i < statusCalls; i++) for (const p of pair) p.statusMs.push(await statusOnce(p.dir, p.token));
  await sleep(2_000); // let drains finish
  const c0 = pair.map((p) => cpuSeconds(p.server.pid));
  const w0 = performance.now();
  await sleep(idleSeconds * 1000);
  const wall = (performance.now() - w0) / 1000;
  return pair.map((p, i) => {
    const idleCpu = ((cpuSeconds(p.server.pid) - c0[i]) / wall) * 100;
    const r = { idleCpuPercent: Number(idleCpu.toFixed(1)), statusMs: Number(median(p.statusMs).toFixed(2)), deployMs: Math.round(median(p.deployMs)), deployAllMs: p.deployMs.map(Math.round) };
    if (!asJson) process.stderr.write(`${p.label}: ${JSON.stringify(r)}\n`);
    return r;
  });
}

async function main() {
  const dirs = [];
  const running = [];
  try {
    const emptyDir = await project('empty');
    dirs.push(emptyDir);
    const historyDir = await project('history');
    dirs.push(historyDir);
    running.push(await started(emptyDir, 'empty'));
    const templates = templatesOf(emptyDir);
    if (templates.length !== 3) throw new Error(`expected the 3 clusters' active groups after the first deploy, found ${templates.length}`);
    const seedStart = performance.now();
    const seeded = seedHistory(historyDir, templates);
    const dbBytes = fs.statSync(path.join(historyDir, '.kiln', 'state.db')).size;
    if (!asJson) process.stderr.write(`seeded ${seeded.groups} groups, ${seeded.events} events (${(dbBytes / 2 ** 20).toFixed(1)} MiB) in ${Math.round(performance.now() - seedStart)} ms\n`);
    running.push(await started(historyDir, 'history'));
    const [empty, history] = await measureBoth(running);
    const ratio = (k) => Number((history[k] / Math.max(empty[k], 1e-9)).toFixed(2));
    const result = {
      seeded,
      empty,
      history,
      ratios: { idleCpu: ratio('idleCpuPercent'), status: ratio('statusMs'), deploy: ratio('deployMs') },
      targets: { idleCpuPercent: '< 5', statusMs: '< 10', deploy: 'within 10% of empty (ratio <= 1.10)' },
      load: os.loadavg().map((l) => Number(l.toFixed(2))),
    };
    if (asJson) console.log(JSON.stringify({ command: measured, ...result }, null, 2));
    else {
      console.log(`measured: ${measured}`);
      console.log(`history: ${seeded.groups} groups, ${seeded.events} events; load average ${result.load.join(' ')}`);
      console.log(`                     empty      history    ratio   target`);
      console.log(`idle CPU (% of core) ${String(empty.idleCpuPercent).padEnd(10)} ${String(history.idleCpuPercent).padEnd(10)} ${String(result.ratios.idleCpu).padEnd(7)} < 5 %`);
      console.log(`status API (ms)      ${String(empty.statusMs).padEnd(10)} ${String(history.statusMs).padEnd(10)} ${String(result.ratios.status).padEnd(7)} < 10 ms`);
      console.log(`deploy (ms)          ${String(empty.deployMs).padEnd(10)} ${String(history.deployMs).padEnd(10)} ${String(result.ratios.deploy).padEnd(7)} ratio <= 1.10`);
    }
  } finally {
    for (const p of running) await stopped(p);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}


main().catch((e) => {
  console.error(e.stack ?? String(e));
  process.exit(1);
});
