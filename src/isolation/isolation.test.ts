// Who servers and builds run as, and what their files look like after prepareServer (needs
// root, as CI runs: owners are changed to the allocated uids). Without root: mode "none".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initKilnDir, openStore } from '../store/init.js';
import { KilnError } from '../errors.js';
import { Isolation, formatIsolation } from './isolation.js';
import { IdRegistry } from './registry.js';

function project(t: { after: (fn: () => void) => void }): { dir: string; kilnDir: string; isolation: Isolation; registry: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-iso-'));
  const registry = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-iso-reg-'));
  fs.chmodSync(dir, 0o711);
  const { kilnDir } = initKilnDir(dir);
  const store = openStore(dir);
  t.after(() => {
    store.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(registry, { recursive: true, force: true });
  });
  return { dir, kilnDir, registry, isolation: new Isolation(kilnDir, store.db, { registry: new IdRegistry(registry) }) };
}

const owner = (p: string): [number, number, string] => {
  const st = fs.lstatSync(p);
  return [st.uid, st.gid, (st.mode & 0o7777).toString(8).padStart(4, '0')];
};

test('as root: one uid per environment, one group for all servers, builds outside that group', (t) => {
  assert.equal(process.getuid?.(), 0, 'this test runs as root (as CI does)');
  const { isolation } = project(t);
  const dev = isolation.serverIdentity('dev')!;
  const prod = isolation.serverIdentity('prod')!;
  const build = isolation.buildIdentity()!;
  assert.notEqual(dev.uid, prod.uid);
  assert.equal(dev.gid, prod.gid, "the servers' group");
  assert.equal(dev.gid, isolation.group());
  assert.ok(![dev.uid, prod.uid, dev.gid].includes(build.gid), 'a build is in no group of the servers');
  assert.ok(dev.uid > 0 && build.uid > 0);
  assert.deepEqual(isolation.serverIdentity('dev'), dev, 'stable');
  const v = isolation.view();
  assert.equal(v.mode, 'users');
  assert.match(formatIsolation(v), /^isolation: users — servers run as one uid per environment \(dev \d+, prod \d+\)/);
});

test("prepareServer: the server's own dirs are its uid's, its secrets 0400, everything above root's 0710", (t) => {
  assert.equal(process.getuid?.(), 0, 'this test runs as root (as CI does)');
  const { kilnDir, isolation } = project(t);
  fs.mkdirSync(path.join(kilnDir, 'secrets', 'dev'), { recursive: true });
  fs.writeFileSync(path.join(kilnDir, 'secrets', 'dev', 'web_token'), 'x', { mode: 0o600 });
  fs.mkdirSync(path.join(kilnDir, 'data', 'dev'), { recursive: true });
  fs.writeFileSync(path.join(kilnDir, 'data', 'dev', 'orders.db'), '', { mode: 0o600 });
  const custom = path.join(path.dirname(kilnDir), 'orders.sqlite');
  fs.writeFileSync(custom, '', { mode: 0o600 });
  const who = isolation.prepareServer({
    env: 'dev',
    workDir: path.join(kilnDir, 'servers', 'web-http-dev-v001-1'),
    logFile: path.join(kilnDir, 'logs', 'dev', 'web-http-dev', 'web-http-dev-v001-1.log'),
    stores: [path.join(kilnDir, 'data', 'dev', 'orders.db'), custom],
  })!;
  const g = who.gid;
  assert.deepEqual(owner(kilnDir), [0, g, '0710']);
  assert.deepEqual(owner(path.join(kilnDir, 'servers')), [0, g, '0710']);
  assert.deepEqual(owner(path.join(kilnDir, 'servers', 'web-http-dev-v001-1')), [who.uid, g, '0700']);
  assert.deepEqual(owner(path.join(kilnDir, 'logs', 'dev')), [0, g, '0710']);
  assert.deepEqual(owner(path.join(kilnDir, 'logs', 'dev', 'web-http-dev')), [who.uid, g, '0700']);
  assert.deepEqual(owner(path.join(kilnDir, 'secrets', 'dev')), [0, g, '0710']);
  assert.deepEqual(owner(path.join(kilnDir, 'secrets', 'dev', 'web_token')), [who.uid, g, '0400']);
  assert.deepEqual(owner(path.join(kilnDir, 'data', 'dev')), [who.uid, g, '0700']);
  assert.deepEqual(owner(path.join(kilnDir, 'data', 'dev', 'orders.db')), [who.uid, g, '0600']);
  // A hard link a server made in its own data directory to a file that is not its own stays as it is.
  const victim = path.join(path.dirname(kilnDir), 'victim');
  fs.writeFileSync(victim, 'root only', { mode: 0o600 });
  fs.linkSync(victim, path.join(kilnDir, 'data', 'dev', 'evil.db'));
  isolation.prepareServer({ env: 'dev', workDir: path.join(kilnDir, 'servers', 'web-http-dev-v001-2'), logFile: path.join(kilnDir, 'logs', 'dev', 'web-http-dev', 'x.log'), stores: [] });
  assert.deepEqual(owner(victim), [0, 0, '0600'], 'a hard link is never given away');
  assert.deepEqual(owner(custom), [who.uid, g, '0600'], 'a store at a custom path');
  assert.deepEqual(owner(path.join(kilnDir, 'apps')), [0, g, '0750']);
  assert.deepEqual(owner(path.join(kilnDir, 'run')), [0, 0, '0700'], "the token and sockets stay Kiln's alone");
  assert.deepEqual(owner(path.join(kilnDir, 'state.db')), [0, 0, '0600']);
});

test('a project under a directory other users cannot pass through: a clear error, not a failing server', (t) => {
  assert.equal(process.getuid?.(), 0, 'this test runs as root (as CI does)');
  const { dir, kilnDir, isolation } = project(t);
  fs.chmodSync(dir, 0o700);
  assert.throws(
    () => isolation.prepareServer({ env: 'dev', workDir: path.join(kilnDir, 'servers', 's'), logFile: path.join(kilnDir, 'logs', 'dev', 'c', 's.log'), stores: [] }),
    (e: unknown) => e instanceof KilnError && e.code === 'ISOLATION_UNAVAILABLE' && e.message.includes(`${dir} is mode 0700`) && /chmod o\+x/.test(e.hint ?? ''),
  );
});

test('not root: servers run as Kiln itself, and the view says what isolation is lost', (t) => {
  const { kilnDir, registry } = project(t);
  const store = openStore(path.dirname(kilnDir));
  t.after(() => store.db.close());
  const isolation = new Isolation(kilnDir, store.db, { euid: 1000, registry: new IdRegistry(registry) });
  assert.equal(isolation.serverIdentity('dev'), null);
  assert.equal(isolation.buildIdentity(), null);
  assert.equal(isolation.prepareServer({ env: 'dev', workDir: '/x', logFile: '/x/y.log', stores: [] }), null);
  const v = isolation.view();
  assert.equal(v.mode, 'none');
  const line = formatIsolation(v);
  assert.match(line, /^! isolation: none — kiln runs as .*, not root/);
  assert.match(line, /every environment's secrets/);
  assert.match(line, /API token/);
  assert.deepEqual(fs.readdirSync(registry), [], 'nothing allocated');
});
