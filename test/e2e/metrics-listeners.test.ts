// The metrics listeners carry no authentication, so like the API's TCP listener (loopback only)
// they stay on loopback unless the user opts in: `kiln server` refuses a kiln.yaml whose
// metrics.host is another address at its file:line:column, and `kiln proxy --metrics` (how the
// control plane starts the proxy, or a user by hand) refuses one without --metrics-allow-public.
// Nothing listens and nothing is written either way.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeProject, freePort, type TestProject } from './lib/project.js';

describe('metrics listeners off loopback', () => {
  let p: TestProject;
  before(async () => {
    p = await makeProject();
  });
  after(async () => {
    await p?.cleanup();
  });

  test('kiln server refuses metrics.host 0.0.0.0 at its kiln.yaml line and column', async () => {
    const file = path.join(p.dir, 'kiln.yaml');
    const original = fs.readFileSync(file, 'utf8');
    const lines = original.trimEnd().split('\n');
    fs.writeFileSync(file, `${original.trimEnd()}\nmetrics: { host: 0.0.0.0, port: ${await freePort()} }\n`);
    try {
      const r = await p.kiln(['server', '--json'], { allowFail: true, timeoutMs: 30_000 });
      assert.notEqual(r.code, 0);
      const err = JSON.parse(r.stdout) as { error: { code: string; problems?: Array<{ message: string; location: { line: number; column: number } }>; message: string } };
      assert.equal(err.error.code, 'SPEC_INVALID', r.stdout);
      assert.match(JSON.stringify(err), /metrics\.host 0\.0\.0\.0 is not a loopback address/);
      assert.match(JSON.stringify(err), new RegExp(`"line":${lines.length + 1},"column":18`));
      assert.equal(fs.existsSync(path.join(p.dir, '.kiln', 'run', 'kiln.sock')), false, 'the control plane did not start');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  test('kiln proxy --metrics off loopback is a LISTENER_NOT_LOOPBACK error naming the flag; nothing is started', async () => {
    const dir = fs.mkdtempSync(path.join(p.dir, 'proxy-'));
    const args = ['proxy', '--listen', `127.0.0.1:${await freePort()}`, '--admin', path.join(dir, 'admin.sock'), '--routes', path.join(dir, 'routes.json')];
    for (const metrics of ['0.0.0.0:9999', '[::]:9999', '192.0.2.10:9999']) {
      const r = await p.kiln([...args, '--metrics', metrics, '--json'], { allowFail: true, timeoutMs: 30_000 });
      assert.equal(r.code, 1, `${metrics}: ${r.stdout}${r.stderr}`);
      const err = JSON.parse(r.stdout) as { error: { code: string; message: string; location: { flag: string }; hint: string } };
      assert.equal(err.error.code, 'LISTENER_NOT_LOOPBACK');
      assert.deepEqual(err.error.location, { flag: '--metrics' });
      assert.match(err.error.message, /is not a loopback address/);
      assert.match(err.error.hint, /--metrics-allow-public/);
    }
    assert.deepEqual(fs.readdirSync(dir), [], 'no admin socket, no routes file');
    const lone = await p.kiln([...args, '--metrics-allow-public'], { allowFail: true, timeoutMs: 30_000 });
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--metrics-allow-public needs --metrics/);
  });
});
