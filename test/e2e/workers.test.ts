// A worker role (no port, no load balancer) through deploys and a rollback: only the active
// group's workers run (issue 11, defect 7). The shop's api worker is given a --live-dir flag where
// each instance keeps a file named by its pid while it lives, so the test counts live instances
// the way an operator would count consumers of a queue.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setupShop, type Shop } from './lib/shop.js';
import { sleep } from './lib/wait.js';

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The versions of the worker instances alive now, sorted (one entry per instance). */
function liveWorkers(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+$/.test(f) && alive(Number(f)))
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .sort();
}

/** The api app with --live-dir: a worker writes <dir>/<pid> (its version) at start and removes it at exit. */
function addLiveDirFlag(projectDir: string, liveDir: string): void {
  const server = path.join(projectDir, 'apps', 'api', 'server.js');
  let s = fs.readFileSync(server, 'utf8');
  s = s.replace("  db: {", "  'live-dir': { help: 'directory where a worker keeps a file while it lives (tests)' },\n  db: {");
  s = s.replace('greeting: flags.greeting });', "greeting: flags.greeting, liveDir: flags['live-dir'] });");
  fs.writeFileSync(server, s);
  const worker = path.join(projectDir, 'apps', 'api', 'worker.js');
  let w = fs.readFileSync(worker, 'utf8');
  w = w.replace(
    'function runWorker({ program, version, logFile, greeting, intervalMs = 1000 }) {',
    [
      'function runWorker({ program, version, logFile, greeting, liveDir, intervalMs = 1000 }) {',
      "  const live = liveDir ? require('node:path').join(liveDir, String(process.pid)) : null;",
      "  if (live) require('node:fs').writeFileSync(live, version);",
      "  process.on('exit', () => { if (live) try { require('node:fs').unlinkSync(live); } catch {} });",
    ].join('\n'),
  );
  fs.writeFileSync(worker, w);
  const spec = path.join(projectDir, 'kiln.yaml');
  const y = fs.readFileSync(spec, 'utf8');
  const edited = y.replace('worker: { replicas: 1, flags: { mode: worker } }', `worker: { replicas: 1, flags: { mode: worker, live-dir: "${liveDir}" } }`);
  assert.notEqual(edited, y, 'kiln.yaml has the example worker role');
  fs.writeFileSync(spec, edited);
}

describe('worker roles', () => {
  let shop: Shop;
  let liveDir: string;
  before(async () => {
    shop = await setupShop();
    liveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-live-'));
    fs.chmodSync(liveDir, 0o777); // servers may run as another user than the test
    addLiveDirFlag(shop.p.dir, liveDir);
  });
  after(async () => {
    await shop?.p.cleanup();
    if (liveDir) fs.rmSync(liveDir, { recursive: true, force: true });
  });

  test('defect 7: after a deploy only the new worker group runs; rollback runs the kept one again as new servers', { timeout: 5 * 60_000 }, async () => {
    const r2 = await shop.releaseApi('2.0.0');
    await shop.p.kiln(['deploy', r2, '--env', 'dev']);
    assert.deepEqual(liveWorkers(liveDir), ['2.0.0']);
    const r3 = await shop.releaseApi('3.0.0');
    await shop.p.kiln(['deploy', r3, '--env', 'dev']);
    // The previous worker group is kept (for rollback) but runs nothing, now and later.
    assert.deepEqual(liveWorkers(liveDir), ['3.0.0']);
    await sleep(1500);
    assert.deepEqual(liveWorkers(liveDir), ['3.0.0'], 'nothing starts the kept worker group again');
    let worker = (await shop.status()).clusters.find((c) => c.name === 'api-worker-dev')!;
    assert.equal(worker.active, 'api-worker-dev-v003');
    const kept = worker.groups.find((g) => g.name === 'api-worker-dev-v002')!;
    assert.equal(kept.state, 'stopped');
    assert.deepEqual(kept.servers, []);
    const text = (await shop.p.kiln(['status', '--env', 'dev'])).stdout;
    assert.match(text, /api-worker-dev-v002\s+r2\s+stopped/);

    // Rollback: the kept group gets a new server (a new name in the same group), then the switch;
    // the group it replaces stops in turn.
    await shop.p.kiln(['rollback', '--env', 'dev']);
    assert.deepEqual(liveWorkers(liveDir), ['2.0.0']);
    worker = (await shop.status()).clusters.find((c) => c.name === 'api-worker-dev')!;
    assert.equal(worker.active, 'api-worker-dev-v002');
    const active = worker.groups.find((g) => g.name === 'api-worker-dev-v002')!;
    assert.deepEqual(active.servers.map((s) => s.name), ['api-worker-dev-v002-2']);
    assert.equal(worker.groups.find((g) => g.name === 'api-worker-dev-v003')?.state, 'stopped');
    // The http cluster rolled back its usual way: its kept group never stopped serving.
    const http = (await shop.get('api-http-dev.shop.test', '/items'));
    assert.equal(http.version, '2.0.0');
  });
});
