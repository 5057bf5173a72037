// Platform services on the embedded default, through the real CLI and control plane: data
// stores migrated by deploys (and breaking entries refused), a secret that never leaks, and
// central logs queried with `kiln logs`.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startLoad, waitFor } from './lib/load.js';
import { postJson, setupShop, SHOP_TOKEN, type Shop } from './lib/shop.js';

interface DataStatus {
  position: number;
  head: number;
  pending: Array<{ name: string }>;
}

describe('data stores move with releases', () => {
  let shop: Shop;
  const changelog = (): string => path.join(shop.p.dir, 'db', 'orders');
  const dataStatus = async (): Promise<DataStatus> =>
    JSON.parse((await shop.p.kiln(['data', 'status', 'orders', '--env', 'dev', '--json'])).stdout) as DataStatus;
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('deploying r1 brought the store to its changelog head before the servers started', async () => {
    const s = await dataStatus();
    assert.equal(s.position, 3);
    assert.deepEqual(s.pending, []);
    // api gets the store's location as a flag and is healthy only when the store exists.
    assert.equal((await shop.get('api-http-dev.shop.test', '/items')).status, 200);
  });

  test('the api keeps orders in the SQLite store: posted and read back through the proxy, and from the file', async () => {
    const api = 'api-http-dev.shop.test';
    const post = (body: unknown): Promise<{ status: number; body: string }> => postJson(shop.p.proxyPort, api, '/orders', body);
    const created = await post({ item: 'stoneware plate', qty: 3, price: 15 });
    assert.equal(created.status, 201, created.body);
    assert.equal((await post({ item: 'mug', qty: 1, price: 12.25 })).status, 201);
    // Values that are not an order are refused and change nothing.
    assert.equal((await post({ item: "mug'); DROP TABLE orders; --", qty: 1, price: 1 })).status, 400);
    assert.equal((await post({ item: 'mug', qty: 0, price: 1 })).status, 400);
    const viaProxy = JSON.parse((await shop.get(api, '/orders')).body) as { engine: string; orders: Array<Record<string, unknown>> };
    assert.equal(viaProxy.engine, 'sqlite');
    assert.deepEqual(viaProxy.orders.map((o) => [o['item'], o['qty'], o['price_cents']]), [['stoneware plate', 3, 1500], ['mug', 1, 1225]]);
    const db = new Database(path.join(shop.p.dir, '.kiln', 'data', 'dev', 'orders.db'), { readonly: true });
    try {
      assert.deepEqual(viaProxy.orders, db.prepare('SELECT id, item, qty, price_cents, created_at FROM orders ORDER BY id').all());
    } finally {
      db.close();
    }
  });

  test('a release with two new entries: migrated, then switched, with zero failed requests', async (t) => {
    fs.writeFileSync(path.join(changelog(), '0004_add_note.sql'), 'ALTER TABLE orders ADD COLUMN note TEXT;\n');
    fs.writeFileSync(path.join(changelog(), '0005_index_item.sql'), 'CREATE INDEX orders_item ON orders(item);\n');
    const rel = JSON.parse((await shop.p.kiln(['release', 'create', '--json'])).stdout) as { name: string; created: boolean };
    assert.equal(rel.created, true, 'a new changelog head is a new release');
    const before = await shop.status();
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 6 });
    await waitFor(() => load.stats().total >= 200);
    const res = await shop.p.kiln(['deploy', rel.name, '--env', 'dev']);
    const n = load.stats().total;
    await waitFor(() => load.stats().total >= n + 300);
    const report = await load.stop();
    t.diagnostic(`requests: ${report.total}, failed: ${report.failed}`);
    assert.equal(report.failed, 0, report.errors.join('\n'));
    assert.match(res.stderr, /data orders: 3 -> 5 \(0004_add_note\.sql, 0005_index_item\.sql\)/);
    // Only the data head moved: the store migrates, and every cluster keeps its group (its
    // servers would be exactly the ones running), so nothing starts and nothing switches.
    assert.doesNotMatch(res.stderr, /starting|switched|->.*-v002/, res.stderr);
    assert.match(res.stderr, /api-http-dev: unchanged, keeps api-http-dev-v001/);
    assert.deepEqual((await shop.status()).clusters.map((c) => c.active), before.clusters.map((c) => c.active));
    assert.equal((await dataStatus()).position, 5);
  });

  test('a breaking entry is refused with the reason and its location; nothing changes', async () => {
    const before = await shop.status();
    fs.writeFileSync(path.join(changelog(), '0006_drop_note.sql'), '-- the old servers still read note\nALTER TABLE orders DROP COLUMN note;\n');
    const rel = JSON.parse((await shop.p.kiln(['release', 'create', '--json'])).stdout) as { name: string };
    const res = await shop.p.kiln(['deploy', rel.name, '--env', 'dev'], { allowFail: true });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /0006_drop_note\.sql:2:\d+/);
    assert.match(res.stderr, /drop/i);
    assert.equal((await dataStatus()).position, 5);
    const after = await shop.status();
    assert.deepEqual(
      after.clusters.map((c) => [c.name, c.active]),
      before.clusters.map((c) => [c.name, c.active]),
    );
    // Declared breaking, the same change goes through.
    const breaking = JSON.parse((await shop.p.kiln(['release', 'create', '--breaking', '--json'])).stdout) as { name: string };
    await shop.p.kiln(['deploy', breaking.name, '--env', 'dev']);
    assert.equal((await dataStatus()).position, 6);
  });
});

describe('secrets and logs', () => {
  let shop: Shop;
  const outputs: string[] = [];
  const kiln = async (args: string[]): Promise<string> => {
    const r = await shop.p.kiln(args);
    outputs.push(r.stdout, r.stderr);
    return r.stdout;
  };
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('web reads its token from the secret file it was given as a flag', async () => {
    const page = await shop.get('web-http-dev.shop.test', '/');
    const fp = 'sha256:' + crypto.createHash('sha256').update(SHOP_TOKEN).digest('hex').slice(0, 12);
    assert.match(page.body, new RegExp(`token ${fp}`));
    const secret = path.join(shop.p.dir, '.kiln', 'secrets', 'dev', 'web_token');
    // Readable by its environment's servers' uid only (0400 as root, docs/isolation.md; else 0600).
    assert.equal(fs.statSync(secret).mode & 0o077, 0);
    assert.equal(fs.readFileSync(secret, 'utf8'), SHOP_TOKEN);
  });

  test("the secret's value is nowhere: not in ps, not in any other file under .kiln, not in any output", async () => {
    await kiln(['status', '--env', 'dev', '--json']);
    await kiln(['release', 'show', 'r1', '--json']);
    await kiln(['deploy', 'r1', '--env', 'dev', '--dry-run', '--json']);
    await kiln(['deploy', 'r1', '--env', 'dev']);
    await kiln(['secret', 'list', '--env', 'dev']);
    const flags = await kiln(['flags', 'web', '--env', 'dev']);
    assert.match(flags, /--token-file=\S+\/\.kiln\/secrets\/dev\/web_token/, 'the flag carries the path');
    await kiln(['logs', 'web-http-dev', '--json']);
    for (const o of outputs) assert.ok(!o.includes(SHOP_TOKEN), 'a command printed the secret');
    for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      let cmd = '';
      try {
        cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      assert.ok(!cmd.includes(SHOP_TOKEN), `process ${pid} has the secret in its arguments`);
    }
    const secretFile = path.join(shop.p.dir, '.kiln', 'secrets', 'dev', 'web_token');
    const walk = (d: string): void => {
      for (const name of fs.readdirSync(d)) {
        const p = path.join(d, name);
        const st = fs.lstatSync(p);
        if (st.isDirectory()) walk(p);
        // The secret's file and its version files (what servers are given: secrets/versions.ts).
        else if (st.isFile() && p !== secretFile && !p.startsWith(`${secretFile}@`)) assert.ok(!fs.readFileSync(p).includes(SHOP_TOKEN), `${p} holds the secret`);
      }
    };
    walk(path.join(shop.p.dir, '.kiln'));
  });

  test('a flag naming a secret that is not set: a clear error before anything starts', async () => {
    const file = path.join(shop.p.dir, 'kiln.yaml');
    const original = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, original.replace('${secret.web_token}', '${secret.not_set}'));
      const before = await shop.status();
      const r = await shop.p.kiln(['deploy', 'r1', '--env', 'dev'], { allowFail: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /secret "not_set" is not set for environment dev/);
      assert.match(r.stderr, /kiln secret set not_set --env dev/);
      assert.deepEqual((await shop.status()).clusters.map((c) => c.active), before.clusters.map((c) => c.active));
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  test('kiln logs: lines from every server, tagged, filtered by text and build', async () => {
    for (let i = 0; i < 5; i++) await shop.get('api-http-dev.shop.test', `/items?probe=${i}`);
    const lines = await waitFor(
      async () => {
        const out = (await shop.p.kiln(['logs', 'api-http-dev', '--grep', 'probe=', '--json'])).stdout.trim().split('\n').filter(Boolean);
        return out.length >= 5 ? out.map((l) => JSON.parse(l) as Record<string, string>) : null;
      },
      { timeoutMs: 15_000, what: 'the request lines in the central log' },
    );
    for (const l of lines) {
      assert.equal(l.cluster, 'api-http-dev');
      assert.equal(l.env, 'dev');
      assert.match(String(l.server), /^api-http-dev-v\d{3}-\d+$/);
      assert.equal(l.stream, 'log');
      assert.match(String(l.text), /probe=/);
    }
    const build = lines[0]!.group!.slice('api-http-dev-'.length);
    const byBuild = (await shop.p.kiln(['logs', 'api-http-dev', '--build', build, '--grep', 'probe=', '--json'])).stdout.trim().split('\n');
    assert.ok(byBuild.length >= 1);
    // A build that does not exist is an error listing those that do (issue 13), not an empty answer.
    const none = await shop.p.kiln(['logs', 'api-http-dev', '--build', 'v999', '--json'], { allowFail: true });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /api-http-dev has no build v999/);
    assert.match(none.stderr, new RegExp(`builds: .*${build}`));
  });
});

describe('log export', () => {
  let shop: Shop;
  let receiver: http.Server;
  const bodies: Array<{ path: string; body: string }> = [];
  before(async () => {
    // A local OTLP/HTTP receiver: what an OpenTelemetry collector would get.
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    shop = await setupShop({ edit: (y) => `${y}\nlogs: { export: { otlp: "http://127.0.0.1:${port}" }, retention: { max-age: 1h } }\n` });
  });
  after(async () => {
    await shop?.p.cleanup();
    await new Promise((r) => receiver.close(r));
  });

  test('lines reach an OTLP endpoint configured in kiln.yaml, tagged with cluster and server', async () => {
    await shop.get('api-http-dev.shop.test', '/items?exported=1');
    const record = await waitFor(
      () => {
        for (const b of bodies) {
          if (b.path !== '/v1/logs' || !b.body.includes('exported=1')) continue;
          const doc = JSON.parse(b.body) as { resourceLogs: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue: string } }> } }> };
          for (const rl of doc.resourceLogs) {
            const attrs = Object.fromEntries(rl.resource.attributes.map((a) => [a.key, a.value.stringValue]));
            if (attrs['kiln.cluster'] === 'api-http-dev') return attrs;
          }
        }
        return null;
      },
      { timeoutMs: 20_000, what: 'an OTLP export with the request line' },
    );
    assert.equal(record['service.name'], 'api');
    assert.equal(record['deployment.environment.name'], 'dev');
    assert.match(String(record['service.instance.id']), /^api-http-dev-v001-\d+$/);
  });
});
