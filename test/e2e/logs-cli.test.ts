// `kiln logs` as a user at a shell uses it (issue 13): piped into head it ends quietly, -f -n 0
// follows only new lines, --json is one object per line, a name that does not exist is an error
// listing those that do, and with no control plane running the collected lines are still shown.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setupShop, type Shop } from './lib/shop.js';
import { waitFor } from './lib/wait.js';
import type { LogLineJson } from '../../src/logs/query.js';

const jsonLines = (stdout: string): LogLineJson[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLineJson);

describe('kiln logs at the shell', () => {
  let shop: Shop;
  const kiln = (args: string[]) => shop.p.kiln(args, { allowFail: true });

  before(async () => {
    shop = await setupShop();
    // The worker writes a heartbeat a second: lines to read and to follow.
    await waitFor(async () => jsonLines((await kiln(['logs', 'api-worker-dev', '--json'])).stdout).length >= 3, { timeoutMs: 30_000, what: 'worker lines in the store' });
  });
  after(async () => {
    if (shop) {
      await shop.p.kiln(['down'], { allowFail: true });
      await shop.p.cleanup();
    }
  });

  test('piped into head: the first lines, then a quiet exit 0 (no EPIPE stack trace)', async () => {
    const kilnBin = path.join(shop.p.repoRoot, 'bin', 'kiln.js');
    // -f keeps writing after head has gone: the next write meets a closed pipe.
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${kilnBin}" logs api-worker-dev -f | head -n 2`], { cwd: shop.p.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => (clearTimeout(timer), resolve({ code: code ?? 128, stdout, stderr })));
    });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim().split('\n').length, 2);
    assert.match(r.stdout, /api-worker-dev-v001-1/);
  });

  test('--json: one object per line; -f -n 0: only lines newer than the start', async () => {
    const before = jsonLines((await kiln(['logs', 'api-worker-dev', '--json', '-n', '3'])).stdout);
    assert.equal(before.length, 3);
    for (const l of before) assert.deepEqual(Object.keys(l).sort(), ['cluster', 'env', 'group', 'id', 'project', 'role', 'server', 'service', 'stream', 'text', 'ts']);
    const newestBefore = Math.max(...before.map((l) => l.id));

    const kilnBin = path.join(shop.p.repoRoot, 'bin', 'kiln.js');
    const child = spawn(process.execPath, [kilnBin, 'logs', 'api-worker-dev', '-f', '-n', '0', '--json'], { cwd: shop.p.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await waitFor(() => jsonLines(out).length >= 2, { timeoutMs: 30_000, what: 'two new heartbeat lines' });
    } finally {
      child.kill('SIGINT');
    }
    const followed = jsonLines(out.slice(0, out.lastIndexOf('\n') + 1));
    assert.ok(followed.every((l) => l.id > newestBefore), `old lines were shown: ${followed.map((l) => l.id).join(', ')} (newest before ${newestBefore})`);
  });

  test('an unknown cluster, build or server is an error listing what exists', async () => {
    const c = await kiln(['logs', 'api-dev']);
    assert.notEqual(c.code, 0);
    assert.equal(c.stdout, '');
    assert.match(c.stderr, /no cluster "api-dev"/);
    assert.match(c.stderr, /clusters: api-http-dev, api-worker-dev, web-http-dev/);

    const b = await kiln(['logs', 'api-http-dev', '--build', 'v009']);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /api-http-dev has no build v009/);
    assert.match(b.stderr, /builds: v001/);

    const s = await kiln(['logs', 'web-http-dev', '--server', 'api-http-dev-v001-1']);
    assert.notEqual(s.code, 0);
    assert.match(s.stderr, /no server "api-http-dev-v001-1" in web-http-dev/);
    assert.match(s.stderr, /servers: web-http-dev-v001-1, web-http-dev-v001-2/);

    const f = await kiln(['logs', 'nope-dev', '-f']);
    assert.notEqual(f.code, 0);
    assert.match(f.stderr, /no cluster "nope-dev"/);
  });

  test('with no control plane running, the collected lines are read from the local store', async () => {
    const withServer = jsonLines((await kiln(['logs', 'api-worker-dev', '--json', '-n', '3'])).stdout);
    shop.server.kill('SIGTERM');
    await shop.server.exited;
    const r = await kiln(['logs', 'api-worker-dev', '-n', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no control plane is running: showing the lines collected until it stopped/);
    assert.equal(r.stdout.trim().split('\n').length, 3);
    const j = jsonLines((await kiln(['logs', 'api-worker-dev', '--json', '-n', '3'])).stdout);
    // Nothing collects while it is down: the newest lines are those it had.
    assert.ok(j.at(-1)!.id >= withServer.at(-1)!.id);

    const unknown = await kiln(['logs', 'api-dev']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /clusters: api-http-dev, api-worker-dev, web-http-dev/);

    const follow = await kiln(['logs', 'api-worker-dev', '-f']);
    assert.notEqual(follow.code, 0);
    assert.match(follow.stderr, /nothing collects new lines to follow/);
    assert.match(follow.stderr, /without -f, `kiln logs` shows the lines collected until it stopped/);
  });
});
