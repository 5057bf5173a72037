// Bad input gets a clear error, a non-zero exit, and changes nothing on disk.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeProject, makeReleasedProject, type ServerProc, type TestProject } from './lib/project.js';

/** Everything Kiln keeps: file contents under .kiln (but SQLite's own WAL files) and the rows of state.db. */
function snapshot(dir: string): string {
  const h = crypto.createHash('sha256');
  const kiln = path.join(dir, '.kiln');
  if (!fs.existsSync(kiln)) return 'no .kiln';
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (/^state\.db/.test(name) || st.isSocket()) continue;
      h.update(path.relative(kiln, p));
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) h.update(fs.readFileSync(p));
    }
  };
  walk(kiln);
  const db = new Database(path.join(kiln, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>;
    for (const t of tables) h.update(JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all()));
  } finally {
    db.close();
  }
  return h.digest('hex');
}

function rawApi(socketPath: string, method: string, urlPath: string, token?: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...(data ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('bad input', () => {
  let p: TestProject;
  let server: ServerProc;
  before(async () => {
    p = await makeReleasedProject();
    server = await p.startServer();
  });
  after(async () => {
    await p?.cleanup();
  });

  test('a malformed kiln.yaml: file:line:column, the allowed keys, exit 1, nothing changed', async () => {
    const file = path.join(p.dir, 'kiln.yaml');
    const good = fs.readFileSync(file, 'utf8');
    const before = snapshot(p.dir);
    try {
      fs.writeFileSync(file, good.replace('replicas: 2, port: http', 'replica: 2, port: http'));
      const line = good.split('\n').findIndex((l) => l.includes('replicas: 2, port: http')) + 1;
      for (const args of [['release', 'create'], ['app', 'tag', 'api', '9.9.9'], ['init']]) {
        const r = await p.kiln(args, { allowFail: true });
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, new RegExp(`kiln\\.yaml:${line}:\\d+: unknown key "replica"`), r.stderr);
        assert.match(r.stderr, /replicas/, 'names the allowed key');
      }
      fs.writeFileSync(file, good + '\n  bad: [unclosed\n');
      const r = await p.kiln(['release', 'create'], { allowFail: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /kiln\.yaml:\d+:\d+/);
      assert.equal(snapshot(p.dir), before);
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  test('kiln init on an invalid kiln.yaml creates nothing', async () => {
    const q = await makeProject();
    try {
      fs.writeFileSync(path.join(q.dir, 'kiln.yaml'), 'project: shop\nservices: {}\nenvironments: { dev: { runtime: vmware } }\n');
      const r = await q.kiln(['init'], { allowFail: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /kiln\.yaml:3:\d+: .*vmware/);
      assert.match(r.stderr, /process, podman, kubernetes/);
      assert.equal(fs.existsSync(path.join(q.dir, '.kiln')), false);
    } finally {
      await q.cleanup();
    }
  });

  test('an unknown release: clear error naming it, exit 1, nothing deployed', async () => {
    const before = snapshot(p.dir);
    const r = await p.kiln(['deploy', 'r99', '--env', 'dev'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /r99/);
    assert.match(r.stderr, /r1/, 'lists the releases that exist');
    const env = await p.kiln(['deploy', 'r1', '--env', 'nope'], { allowFail: true });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /environment "nope".*\n.*dev/);
    assert.equal(snapshot(p.dir), before);
  });

  test('a tag that exists with other content: immutable, both digests named, nothing changed', async () => {
    const before = snapshot(p.dir);
    const appFile = path.join(p.dir, 'apps', 'api', 'server.js');
    const original = fs.readFileSync(appFile, 'utf8');
    try {
      fs.writeFileSync(appFile, original + '\n// changed\n');
      const r = await p.kiln(['app', 'tag', 'api', '1.0.0'], { allowFail: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /app\/api:1\.0\.0/);
      assert.equal((r.stderr.match(/sha256:[0-9a-f]{12}/g) ?? []).length >= 2, true, r.stderr);
      assert.match(r.stderr, /immutable/);
      assert.equal(snapshot(p.dir), before);
    } finally {
      fs.writeFileSync(appFile, original);
    }
    // Same content again: a no-op, not an error.
    const again = await p.kiln(['app', 'tag', 'api', '1.0.0']);
    assert.match(again.stdout, /already tagged/);
    for (const bad of ['../x', 'a/b', 'head', '1..2', 'x'.repeat(200)]) {
      const r = await p.kiln(['app', 'tag', 'api', bad], { allowFail: true });
      assert.notEqual(r.code, 0, bad);
    }
    assert.equal(snapshot(p.dir), before);
  });

  test('the API without the token or with a wrong one: 401 and nothing changes', async () => {
    const sock = path.join(p.dir, '.kiln', 'run', 'kiln.sock');
    const before = snapshot(p.dir);
    for (const token of [undefined, 'wrong', '']) {
      const s = await rawApi(sock, 'GET', '/v1/status', token);
      assert.equal(s.status, 401);
      const d = await rawApi(sock, 'POST', '/v1/deploy', token, { release: 'r1', env: 'dev' });
      assert.equal(d.status, 401);
      assert.match(d.body, /token/);
    }
    assert.equal(snapshot(p.dir), before);
    const good = fs.readFileSync(path.join(p.dir, '.kiln', 'run', 'token'), 'utf8').trim();
    assert.equal((await rawApi(sock, 'GET', '/v1/status', good)).status, 200);
    assert.equal(fs.statSync(path.join(p.dir, '.kiln', 'run', 'token')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
  });

  test('a missing token file: the CLI says what to do, exit 1', async () => {
    const tokenFile = path.join(p.dir, '.kiln', 'run', 'token');
    const saved = fs.readFileSync(tokenFile);
    fs.rmSync(tokenFile);
    try {
      const r = await p.kiln(['status'], { allowFail: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /token is missing/);
      assert.match(r.stderr, /kiln init/);
    } finally {
      fs.writeFileSync(tokenFile, saved, { mode: 0o600 });
    }
    assert.ok(server.pid > 0);
  });

  test('usage errors exit 2 and every command has --help', async () => {
    const r = await p.kiln(['deploy'], { allowFail: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing argument <release>/);
    const u = await p.kiln(['deploy', 'r1', '--bogus'], { allowFail: true });
    assert.equal(u.code, 2);
    assert.match(u.stderr, /--bogus/);
    const help = await p.kiln(['--help']);
    const verbs = [...help.stdout.matchAll(/^ {2}([a-z]+(?: [a-z]+)?)\s{2,}/gm)].map((m) => m[1] as string);
    assert.ok(verbs.length >= 12, verbs.join(','));
    for (const v of verbs) {
      const h = await p.kiln([...v.split(' '), '--help']);
      assert.match(h.stdout, new RegExp(`^kiln ${v}`), v);
      assert.match(h.stdout, /Options:/);
    }
  });
});
