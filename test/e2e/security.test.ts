// Access (issue 7): every control-plane API call needs the token; the proxy's admin API is not
// reachable through its public listeners; the DNS server refuses recursion and other zones; files
// under .kiln holding secrets or tokens are readable by their owner only.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { findRepoRoot } from './lib/project.js';
import { setupShop, processesMatching, type Shop } from './lib/shop.js';

/**
 * Every call src/server/api.ts serves, read from its source (so a new call is covered the day it
 * is added), plus one it doesn't; with a body that would act if the call were allowed.
 */
function apiCalls(): Array<{ method: string; path: string; body?: unknown }> {
  const source = fs.readFileSync(path.join(findRepoRoot(), 'src', 'server', 'api.ts'), 'utf8');
  const routes = [...source.matchAll(/case '(GET|POST|PUT|DELETE) (\/v1\/[^']*)'/g)].map((m) => ({ method: m[1]!, path: m[2]! }));
  assert.ok(routes.length >= 7, `found the API's calls in api.ts: ${routes.map((r) => r.path).join(', ')}`);
  const bodies: Record<string, unknown> = {
    '/v1/deploy': { env: 'dev', release: 'r1' },
    '/v1/rollback': { env: 'dev' },
    '/v1/down': {},
    '/v1/env/create': { name: 'evil', like: 'dev', release: 'r1' },
    '/v1/env/destroy': { env: 'dev' },
    '/v1/promote': { from: 'dev', to: 'dev', release: 'r1' },
  };
  const calls = routes.map((r) => ({ ...r, path: r.method === 'GET' ? `${r.path}?env=dev` : r.path, ...(r.method === 'GET' ? {} : { body: bodies[r.path] ?? { env: 'dev' } }) }));
  return [...calls, { method: 'GET', path: '/v1/logs?env=dev&follow=1' }, { method: 'POST', path: '/v1/down', body: { env: 'dev' } }, { method: 'GET', path: '/v1/nothing-here' }];
}

/** The rows of state.db (events included: a refused call must not even be recorded as an attempt). */
function stateRows(dir: string): string {
  const db = new Database(path.join(dir, '.kiln', 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>;
    const h = crypto.createHash('sha256');
    for (const t of tables) h.update(t.name + JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all()));
    return h.digest('hex');
  } finally {
    db.close();
  }
}

function request(
  target: { socketPath: string } | { port: number },
  method: string,
  urlPath: string,
  headers: http.OutgoingHttpHeaders,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const where = 'socketPath' in target ? { socketPath: target.socketPath } : { host: '127.0.0.1', port: target.port };
    const req = http.request({ ...where, method, path: urlPath, headers: { ...headers, ...(data ? { 'content-type': 'application/json' } : {}) }, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(data);
  });
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('access controls', () => {
  let shop: Shop;
  let kiln: string;
  before(async () => {
    shop = await setupShop();
    kiln = path.join(shop.p.dir, '.kiln');
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('every API call without the token, with a wrong one, or a malformed header: 401 and nothing changes', async () => {
    const socketPath = path.join(kiln, 'run', 'kiln.sock');
    const token = fs.readFileSync(path.join(kiln, 'run', 'token'), 'utf8').trim();
    const rowsBefore = stateRows(shop.p.dir);
    const procsBefore = processesMatching(`${shop.p.dir}/.kiln/`).sort();
    const wrong = [
      {},
      { authorization: 'Bearer ' + 'f'.repeat(token.length) },
      { authorization: 'Bearer ' + token.slice(0, -1) },
      { authorization: 'Bearer ' + token + 'x' },
      { authorization: token },
      { authorization: 'Basic ' + Buffer.from(`kiln:${token}`).toString('base64') },
      { authorization: 'Bearer ' },
    ];
    let refused = 0;
    const CALLS = apiCalls();
    for (const call of CALLS) {
      for (const headers of wrong) {
        const r = await request({ socketPath }, call.method, call.path, headers, call.body);
        assert.equal(r.status, 401, `${call.method} ${call.path} with ${JSON.stringify(headers)}: ${r.body}`);
        assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
        assert.ok(!r.body.includes(token), 'the answer never echoes the token');
        refused++;
      }
    }
    assert.equal(refused, CALLS.length * wrong.length);
    assert.equal(stateRows(shop.p.dir), rowsBefore, 'state.db unchanged');
    assert.deepEqual(processesMatching(`${shop.p.dir}/.kiln/`).sort(), procsBefore, 'the same processes run');
    // The same call with the token works: the 401s above were about the token, not the call.
    const ok = await request({ socketPath }, 'GET', '/v1/health', { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200);
  });

  test("the proxy's admin paths through the public listener and a cluster's port reach no admin API", async () => {
    const adminSocket = path.join(kiln, 'run', 'proxy.sock');
    const table = await request({ socketPath: adminSocket }, 'GET', '/routes', {});
    assert.equal(table.status, 200, 'the admin API answers on its own socket');
    const st = await shop.status();
    const apiPort = Number(new URL(st.clusters.find((c) => c.name === 'api-http-dev')!.url as string).port);
    const evil = JSON.stringify({ version: 1e9, clusters: [] });
    const targets: Array<{ port: number; host: string; what: string }> = [
      { port: shop.p.proxyPort, host: 'nothing.shop.test', what: 'public listener, unknown host' },
      { port: shop.p.proxyPort, host: 'localhost', what: 'public listener, localhost' },
      { port: shop.p.proxyPort, host: 'api-http-dev.shop.test', what: 'public listener, a cluster host' },
      { port: apiPort, host: `127.0.0.1:${apiPort}`, what: "the api cluster's port" },
    ];
    for (const t of targets) {
      for (const p of ['/routes', '/stats', '/healthz', '/admin/routes', '//routes', '/routes?x=1']) {
        for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
          const r = await request({ port: t.port }, method, p, { host: t.host, 'content-type': 'application/json' }, method === 'GET' ? undefined : JSON.parse(evil));
          assert.ok(!r.body.includes('"clusters"') && !r.body.includes('"inFlight"'), `${method} ${p} via ${t.what} answered like the admin API: ${r.status} ${r.body.slice(0, 200)}`);
        }
      }
    }
    const after = await request({ socketPath: adminSocket }, 'GET', '/routes', {});
    assert.equal(after.body, table.body, 'the route table is unchanged');
    const served = await shop.get('api-http-dev.shop.test', '/items');
    assert.equal(served.status, 200, 'and the proxy still routes');
  });

  test('DNS: a recursive query for a name outside the zone is REFUSED; the zone itself answers', () => {
    const dig = (...args: string[]): string =>
      execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+tries=1', '+time=2', ...args], { encoding: 'utf8' });
    const status = (out: string): string => /status: (\w+)/.exec(out)?.[1] ?? `no status in: ${out}`;
    for (const q of [['+recurse', 'example.com', 'A'], ['+norecurse', 'example.com', 'A'], ['+recurse', 'localhost', 'A'], ['+recurse', 'com', 'NS'], ['+recurse', '1.0.0.127.in-addr.arpa', 'PTR'], ['+recurse', 'shop.test.evil.example', 'A']]) {
      const out = dig(...q);
      assert.equal(status(out), 'REFUSED', `dig ${q.join(' ')}:\n${out}`);
      assert.doesNotMatch(out, /flags:[^;]*\bra\b/, 'recursion is not offered');
    }
    assert.equal(status(dig('+recurse', 'api-http-dev.shop.test', 'A')), 'NOERROR');
  });

  test('files under .kiln holding secrets or tokens are 0600, their directories 0700', () => {
    const run = path.join(kiln, 'run');
    assert.equal(mode(run), 0o700, '.kiln/run');
    for (const f of ['token', 'kiln.sock', 'proxy.sock', 'server.json', 'proxy.json']) {
      assert.equal(mode(path.join(run, f)), 0o600, `.kiln/run/${f} is ${mode(path.join(run, f)).toString(8)}`);
    }
    // As root, servers run as their environment's uid (docs/isolation.md): the secrets' directories
    // let only the servers' group pass (0710), each file is 0400 for its environment's uid.
    const secrets = path.join(kiln, 'secrets');
    for (const d of [secrets, path.join(secrets, 'dev')]) assert.equal(mode(d) & 0o067, 0, `${d} is ${mode(d).toString(8)}`);
    const files = fs.readdirSync(path.join(secrets, 'dev'));
    assert.ok(files.includes('web_token'));
    for (const f of files) assert.equal(mode(path.join(secrets, 'dev', f)) & 0o077, 0, `.kiln/secrets/dev/${f}`);
  });
});
