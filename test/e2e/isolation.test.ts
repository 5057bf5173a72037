// Isolation (issue 11, defect 5; docs/isolation.md), through the real CLI, control plane, proxy
// and servers, as root (as CI runs). A hostile app, deployed to dev and prod, reads, writes and
// connects to whatever paths it is asked about and reports what happened; a second local user
// made by the test (useradd, removed after) tries every path under .kiln and both sockets.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeProject, type TestProject } from './lib/project.js';
import type { StatusView } from '../../src/server/status.js';

/** The hostile app: GET /probe?op=read|write|list|connect&path=… answers what happened. */
const PROBE_SERVER = String.raw`
const fs = require('fs'), http = require('http'), net = require('net');
const flags = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => { const i = a.indexOf('='); return [a.slice(2, i), a.slice(i + 1)]; }));
const attempt = (op, p) => new Promise((resolve) => {
  const done = (e, extra = {}) => resolve(e ? { ok: false, code: e.code || String(e) } : { ok: true, ...extra });
  try {
    if (op === 'read') return done(null, { text: fs.readFileSync(p, 'utf8').slice(0, 200) });
    if (op === 'write') { fs.appendFileSync(p, 'x'); return done(null); }
    if (op === 'list') return done(null, { names: fs.readdirSync(p) });
    if (op === 'connect') { const s = net.connect(p); s.on('connect', () => { s.destroy(); done(null); }); s.on('error', (e) => done(e)); return; }
    done({ code: 'bad op' });
  } catch (e) { done(e); }
});
http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/healthz') return res.end('ok');
  if (u.pathname === '/whoami') return res.end(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), secret: flags.secret, db: flags.db, logFile: flags['log-file'] }));
  if (u.pathname === '/build-info') return res.end(fs.readFileSync(__dirname + '/build-info.json'));
  res.end(JSON.stringify(await attempt(u.searchParams.get('op'), u.searchParams.get('path'))));
}).listen(Number(flags.port), '127.0.0.1');
`;

/** Its build: what the build could read, and its whole environment, into the artifact. */
const PROBE_BUILD = String.raw`
const fs = require('fs');
const reads = {};
for (const p of process.env.PROBE_PATHS.split(':')) { try { fs.readFileSync(p); reads[p] = 'read'; } catch (e) { reads[p] = e.code; } }
fs.writeFileSync('build-info.json', JSON.stringify({ uid: process.getuid(), env: Object.keys(process.env).sort(), reads }));
`;

/** A second local user's view: every path it is given, opened, listed or connected to. */
const OUTSIDER = String.raw`
const fs = require('fs'), net = require('net');
const paths = JSON.parse(fs.readFileSync(0, 'utf8'));
(async () => {
  const out = {};
  for (const [p, kind] of paths) {
    out[p] = await new Promise((resolve) => {
      try {
        if (kind === 'socket') { const s = net.connect(p); s.on('connect', () => { s.destroy(); resolve('connected'); }); s.on('error', (e) => resolve(e.code)); return; }
        if (kind === 'dir') { fs.readdirSync(p); return resolve('listed'); }
        fs.closeSync(fs.openSync(p, 'r')); resolve('opened');
      } catch (e) { resolve(e.code); }
    });
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

const SECRETS = { dev: 'dev-secret-3f9a1c', prod: 'prod-secret-b72e04' };

function get(port: number, host: string, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers: { host }, agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${host}${urlPath}: ${res.statusCode} ${body}`))));
      })
      .on('error', reject);
  });
}

describe('isolation', () => {
  let p: TestProject;
  let kiln: string;
  /** What the dev server gets when it tries `op` on `target`. */
  let probe: (env: 'dev' | 'prod', op: string, target: string) => Promise<{ ok: boolean; code?: string; text?: string }>;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'isolation needs root: these tests run as root (as CI does)');
    p = await makeProject();
    // A project directory others may pass through (as most are): what keeps them out is .kiln's.
    fs.chmodSync(p.dir, 0o711);
    kiln = path.join(p.dir, '.kiln');
    fs.rmSync(path.join(p.dir, 'apps'), { recursive: true, force: true });
    fs.mkdirSync(path.join(p.dir, 'apps', 'probe'), { recursive: true });
    fs.writeFileSync(path.join(p.dir, 'apps', 'probe', 'server.js'), PROBE_SERVER);
    fs.writeFileSync(path.join(p.dir, 'apps', 'probe', 'build.js'), PROBE_BUILD);
    fs.mkdirSync(path.join(p.dir, 'db', 'notes'), { recursive: true });
    fs.writeFileSync(path.join(p.dir, 'db', 'notes', '0001_create_notes.sql'), 'CREATE TABLE notes (body TEXT);\n');
    const buildReads = [path.join(kiln, 'run', 'token'), path.join(kiln, 'state.db'), path.join(p.dir, 'kiln.yaml')].join(':');
    fs.writeFileSync(
      path.join(p.dir, 'kiln.yaml'),
      [
        'project: iso',
        'domain: iso.test',
        `proxy: { port: ${p.proxyPort} }`,
        `dns: { port: ${p.dnsPort} }`,
        'data:',
        '  notes: { engine: sqlite, changelog: db/notes }',
        'services:',
        '  probe:',
        `    app: { path: apps/probe, build: [node, build.js], run: [node, server.js], build-env: { PROBE_PATHS: "${buildReads}" } }`,
        '    roles: { http: { replicas: 1, port: http, health: /healthz } }',
        '    flags: { secret: "${secret.token}", db: "${data.notes.url}" }',
        'environments:',
        '  dev: { runtime: process }',
        '  prod: { runtime: process }',
        '',
      ].join('\n'),
    );
    await p.kiln(['init']);
    process.env.KILN_ISOLATION_LEAK = 'a value the build must not see';
    try {
      await p.kiln(['app', 'tag', 'probe', '1.0.0']);
    } finally {
      delete process.env.KILN_ISOLATION_LEAK;
    }
    await p.kiln(['release', 'create']);
    for (const env of ['dev', 'prod'] as const) await p.kiln(['secret', 'set', 'token', '--env', env], { input: SECRETS[env] });
    await p.startServer();
    for (const env of ['dev', 'prod']) await p.kiln(['deploy', 'r1', '--env', env]);
    probe = async (env, op, target) => JSON.parse(await get(p.proxyPort, `probe-http-${env}.iso.test`, `/probe?op=${op}&path=${encodeURIComponent(target)}`)) as { ok: boolean; code?: string; text?: string };
  });
  after(async () => {
    await p?.cleanup();
  });

  test("defect 5: a dev server cannot read prod's secret, the API token, state.db or prod's store (EACCES), nor reach either socket", async () => {
    const own = await probe('dev', 'read', path.join(kiln, 'secrets', 'dev', 'token'));
    assert.deepEqual(own, { ok: true, text: SECRETS.dev }, 'it reads its own secret');
    const denied: Array<[string, string]> = [
      ['read', path.join(kiln, 'secrets', 'prod', 'token')],
      ['read', path.join(kiln, 'run', 'token')],
      ['read', path.join(kiln, 'state.db')],
      ['read', path.join(kiln, 'logs.db')],
      ['read', path.join(kiln, 'data', 'prod', 'notes.db')],
      ['list', path.join(kiln, 'logs', 'prod')],
      ['list', path.join(kiln, 'oci')],
      ['connect', path.join(kiln, 'run', 'kiln.sock')],
      ['connect', path.join(kiln, 'run', 'proxy.sock')],
    ];
    for (const [op, target] of denied) {
      const r = await probe('dev', op, target);
      assert.deepEqual(r, { ok: false, code: 'EACCES' }, `dev ${op} ${path.relative(p.dir, target)}: ${JSON.stringify(r)}`);
    }
    // Each environment's server is its own user: prod is kept out of dev's secret the same way.
    assert.deepEqual(await probe('prod', 'read', path.join(kiln, 'secrets', 'dev', 'token')), { ok: false, code: 'EACCES' });
    assert.deepEqual(await probe('prod', 'read', path.join(kiln, 'secrets', 'prod', 'token')), { ok: true, text: SECRETS.prod });
  });

  test('a server runs as its environment’s own uid with one group, writes only its own store, log and directory; the app files are read-only', async () => {
    const dev = JSON.parse(await get(p.proxyPort, 'probe-http-dev.iso.test', '/whoami')) as { uid: number; gid: number; groups: number[]; db: string; logFile: string };
    const prod = JSON.parse(await get(p.proxyPort, 'probe-http-prod.iso.test', '/whoami')) as { uid: number; gid: number; groups: number[] };
    assert.notEqual(dev.uid, 0);
    assert.notEqual(prod.uid, 0);
    assert.notEqual(dev.uid, prod.uid, 'one uid per environment');
    assert.deepEqual(dev.groups, [dev.gid], 'no supplementary group');
    assert.deepEqual(await probe('dev', 'write', dev.db), { ok: true }, 'its own store');
    assert.deepEqual(await probe('dev', 'write', path.join(path.dirname(dev.logFile), 'extra.log')), { ok: true }, 'its own log directory');
    assert.deepEqual(await probe('dev', 'write', 'scratch.txt'), { ok: true }, 'its working directory');
    const app = fs.readdirSync(path.join(kiln, 'apps'))[0]!;
    assert.equal((await probe('dev', 'read', path.join(kiln, 'apps', app, 'server.js'))).ok, true, 'it reads the app files');
    assert.deepEqual(await probe('dev', 'write', path.join(kiln, 'apps', app, 'server.js')), { ok: false, code: 'EACCES' }, 'but cannot change them');
    assert.deepEqual(await probe('dev', 'write', path.join(kiln, 'apps', app, 'new.js')), { ok: false, code: 'EACCES' });
  });

  test('the build ran as the build user with only build-env and PATH/LANG/TZ/HOME/TMPDIR, and could not read .kiln', async () => {
    const info = JSON.parse(await get(p.proxyPort, 'probe-http-dev.iso.test', '/build-info')) as { uid: number; env: string[]; reads: Record<string, string> };
    assert.notEqual(info.uid, 0);
    assert.deepEqual(info.env, ['HOME', 'LANG', 'PATH', 'PROBE_PATHS', 'TMPDIR', 'TZ'], 'nothing of the caller’s environment');
    assert.equal(info.reads[path.join(kiln, 'run', 'token')], 'EACCES');
    assert.equal(info.reads[path.join(kiln, 'state.db')], 'EACCES');
    // The declared names and values are recorded with the tag.
    const db = new Database(path.join(kiln, 'state.db'), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT source FROM tags WHERE stream = 'app/probe' AND tag = '1.0.0'").get() as { source: string };
      assert.deepEqual((JSON.parse(row.source) as { buildEnv?: unknown }).buildEnv, { PROBE_PATHS: info.reads && Object.keys(info.reads).join(':') });
    } finally {
      db.close();
    }
  });

  test('kiln status shows the isolation mode: users, one uid per environment', async () => {
    const v = JSON.parse((await p.kiln(['status', '--json'])).stdout) as StatusView;
    assert.equal(v.isolation?.mode, 'users');
    const envs = v.isolation?.mode === 'users' ? v.isolation.environments : {};
    assert.deepEqual(Object.keys(envs).sort(), ['dev', 'prod']);
    assert.match((await p.kiln(['status'])).stdout, /^isolation: users — servers run as one uid per environment/m);
  });

  test('a second local user can read nothing under .kiln and cannot connect to either socket', async (t) => {
    const name = `kiln-t${crypto.randomBytes(4).toString('hex')}`;
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    t.after(() => execFileSync('userdel', [name]));
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    // Every entry under .kiln (seen as root), .kiln itself, and the two sockets.
    const paths: Array<[string, string]> = [[kiln, 'dir']];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        paths.push([full, e.isDirectory() ? 'dir' : e.isSocket() ? 'socket' : 'file']);
        if (e.isDirectory()) walk(full);
      }
    };
    walk(kiln);
    assert.ok(paths.some(([f]) => f.endsWith('kiln.sock')) && paths.some(([f]) => f.endsWith('proxy.sock')), 'both sockets are there');
    assert.ok(paths.length > 40, `${paths.length} paths`);
    const r = spawnSync(process.execPath, ['-e', OUTSIDER], { input: JSON.stringify(paths), uid, gid, encoding: 'utf8', cwd: '/' });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as Record<string, string>;
    const reached = Object.entries(seen).filter(([, code]) => code !== 'EACCES');
    t.diagnostic(`${paths.length} paths tried as ${name} (uid ${uid}): ${paths.length - reached.length} EACCES`);
    assert.deepEqual(reached, [], 'every path and both sockets: EACCES');
  });
});
