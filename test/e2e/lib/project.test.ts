import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { parse } from 'yaml';
import { makeProject, findRepoRoot } from './project.js';
import { isAlive } from './processes.js';
import { waitFor } from './wait.js';

// Stands in for bin/kiln.js (which other code provides) to test how the helpers run it.
const FAKE_KILN = `
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'server') {
  fs.mkdirSync('.kiln/run', { recursive: true });
  const sock = path.join(process.cwd(), '.kiln/run/kiln.sock');
  fs.rmSync(sock, { force: true }); // left by a killed predecessor
  http.createServer((req, res) => { res.writeHead(401); res.end('token required'); })
    .listen(sock, () => console.log('control plane listening on ' + sock));
} else if (cmd === 'echo') {
  let input = '';
  process.stdin.setEncoding('utf8').on('data', (d) => (input += d)).on('end', () => {
    console.log(JSON.stringify({ args: rest, cwd: process.cwd(), input, x: process.env.KILN_TEST_X ?? null }));
  });
} else {
  console.log('some output');
  console.error('kiln: no such command ' + cmd);
  process.exit(3);
}
`;

function fakeKiln(): { file: string; remove: () => void } {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-fake-'));
  const file = path.join(d, 'kiln.mjs');
  fs.writeFileSync(file, FAKE_KILN);
  return { file, remove: () => fs.rmSync(d, { recursive: true, force: true }) };
}

/** A detached, unref'd idle node process, as Kiln starts servers and the proxy; resolves once it runs. */
async function sleeper(cwd: string, extraArgs: string[] = [], ignoreTerm = false): Promise<number> {
  const ready = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-sleeper-')), 'ready');
  const code = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''}
    require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code, ...extraArgs], { cwd, detached: true, stdio: 'ignore' });
  child.unref();
  await waitFor(() => fs.existsSync(ready), { what: 'a test process to start' });
  fs.rmSync(path.dirname(ready), { recursive: true, force: true });
  return child.pid!;
}

test('findRepoRoot finds bin/kiln.js from the compiled helpers', () => {
  const root = findRepoRoot();
  assert.ok(fs.existsSync(path.join(root, 'bin', 'kiln.js')));
  assert.ok(fs.existsSync(path.join(root, 'examples', 'shop', 'kiln.yaml')));
});

test('makeProject copies the example with its own proxy and DNS ports; bumpVersion and setUnhealthy edit the app', async () => {
  const p = await makeProject();
  try {
    assert.ok(p.dir.startsWith(fs.realpathSync(os.tmpdir())));
    const spec = parse(fs.readFileSync(path.join(p.dir, 'kiln.yaml'), 'utf8'));
    const original = parse(fs.readFileSync(path.join(p.repoRoot, 'examples', 'shop', 'kiln.yaml'), 'utf8'));
    assert.equal(spec.proxy.port, p.proxyPort);
    assert.notEqual(p.proxyPort, 7080);
    assert.equal(spec.dns.port, p.dnsPort);
    const { dns: _dns, ...rest } = spec;
    assert.deepEqual({ ...rest, proxy: original.proxy }, original);
    assert.ok(!fs.existsSync(path.join(p.dir, '.kiln')));

    await p.bumpVersion('api', '2.0.0');
    await p.setUnhealthy('web');
    const api = JSON.parse(fs.readFileSync(path.join(p.dir, 'apps', 'api', 'package.json'), 'utf8'));
    const web = JSON.parse(fs.readFileSync(path.join(p.dir, 'apps', 'web', 'package.json'), 'utf8'));
    assert.equal(api.version, '2.0.0');
    assert.equal(web.unhealthy, true);
    const source = JSON.parse(fs.readFileSync(path.join(p.repoRoot, 'examples', 'shop', 'apps', 'api', 'package.json'), 'utf8'));
    assert.equal(source.version, '1.0.0');
    await p.setUnhealthy('web', false);
    assert.equal(JSON.parse(fs.readFileSync(path.join(p.dir, 'apps', 'web', 'package.json'), 'utf8')).unhealthy, undefined);
  } finally {
    await p.cleanup();
  }
  assert.ok(!fs.existsSync(p.dir));
});

test('kiln() runs in the project with input and env, and throws with the full output on failure', async () => {
  const fake = fakeKiln();
  const p = await makeProject({ kilnBin: fake.file });
  try {
    const r = await p.kiln(['echo', 'a', 'b c'], { input: 'typed', env: { KILN_TEST_X: 'yes' } });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { args: ['a', 'b c'], cwd: p.dir, input: 'typed', x: 'yes' });

    await assert.rejects(p.kiln(['nope']), (err: Error) => {
      assert.match(err.message, /kiln nope exited with 3/);
      assert.match(err.message, /some output/);
      assert.match(err.message, /no such command nope/);
      return true;
    });
    const failed = await p.kiln(['nope'], { allowFail: true });
    assert.equal(failed.code, 3);
    assert.match(failed.stderr, /no such command nope/);
  } finally {
    await p.cleanup();
    fake.remove();
  }
});

test('startServer waits for the socket to answer; cleanup ends it', async () => {
  const fake = fakeKiln();
  const p = await makeProject({ kilnBin: fake.file });
  try {
    const server = await p.startServer();
    assert.ok(fs.existsSync(path.join(p.dir, '.kiln', 'run', 'kiln.sock')));
    assert.match(server.output(), /control plane listening/);
    assert.ok(isAlive(server.pid));
    server.kill('SIGKILL');
    assert.deepEqual(await server.exited, { code: null, signal: 'SIGKILL' });
    const again = await p.startServer();
    await p.cleanup();
    assert.equal(isAlive(again.pid), false);
  } finally {
    await p.cleanup();
    fake.remove();
  }
});

test('cleanup ends detached processes of the project, and only those', async () => {
  const p = await makeProject();
  const run = path.join(p.dir, '.kiln', 'run');
  fs.mkdirSync(path.join(run, 'servers', 'api-http-dev-v001-1'), { recursive: true });
  // A server with a {pid} file, running in its own directory; it ignores SIGTERM.
  const server = await sleeper(path.join(run, 'servers', 'api-http-dev-v001-1'), [], true);
  fs.writeFileSync(path.join(run, 'servers', 'api-http-dev-v001-1.json'), JSON.stringify({ pid: server, name: 'x' }));
  // The proxy: a .pid file, running elsewhere but naming a file of the project.
  const proxy = await sleeper(os.tmpdir(), [path.join(p.dir, '.kiln', 'proxy', 'routes.json')]);
  fs.writeFileSync(path.join(run, 'proxy.pid'), `${proxy}\n`);
  // No pid file at all, but running in the project.
  const stray = await sleeper(p.dir);
  // A stale pid file naming a process that is not the project's: it must survive.
  const other = await sleeper(os.tmpdir());
  fs.writeFileSync(path.join(run, 'stale.pid'), String(other));
  try {
    for (const pid of [server, proxy, stray, other]) assert.ok(isAlive(pid));
    await p.cleanup();
    for (const pid of [server, proxy, stray]) await waitFor(() => !isAlive(pid), { what: `pid ${pid} to end` });
    assert.ok(isAlive(other), 'a process outside the project was killed');
    assert.ok(!fs.existsSync(p.dir));
  } finally {
    for (const pid of [server, proxy, stray, other]) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await p.cleanup();
  }
});
