// Issue 11, defect 8: a data migration must never stop the control plane. A 15 s CPU-bound
// data migration runs during a deploy (SQLite and PostgreSQL) while DNS and the status API are
// probed; a store another connection holds locked makes the deploy wait without blocking, and
// fail with DATA_LOCKED naming the store, not a raw "database is locked".
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { setupShop, type Shop } from './lib/shop.js';
import { probeDns, probeStatusApi } from './lib/liveness.js';
import { sleep } from './lib/wait.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

/** A data migration that computes for 15 s without yielding, then writes its result. */
const SLOW_ENTRY = [
  'export async function migrate(db) {',
  '  await db.exec("CREATE TABLE backfill (n INTEGER NOT NULL)");',
  '  const end = Date.now() + 15000;',
  '  let n = 0;',
  '  while (Date.now() < end) n++;',
  '  await db.query("INSERT INTO backfill (n) VALUES (?)", [n]);',
  '}',
  '',
].join('\n');

describe('defect 8: data migrations never block the control plane', () => {
  let shop: Shop;
  let server: TestPostgres;
  const db = `shop_live_${process.pid}`;
  const changelog = (): string => path.join(shop.p.dir, 'db', 'orders');

  before(async () => {
    server = await startPostgres();
    server.createDatabase(db);
    shop = await setupShop({
      edit: (y) => y.replace('environments:\n', 'environments:\n  prod:\n    runtime: process\n    data: { orders: { engine: postgres, url: "${secret.orders_url}" } }\n'),
    });
    await shop.p.kiln(['secret', 'set', 'orders_url', '--env', 'prod'], { input: server.url(db) });
    await shop.p.kiln(['deploy', 'r1', '--env', 'prod']);
  });
  after(async () => {
    await shop?.p.cleanup();
    server?.dropDatabase(db);
    server?.stop();
  });

  /** Deploys `release` to `env` with DNS and the status API probed throughout. */
  async function deployProbed(release: string, env: string, opts: { allowFail?: boolean; json?: boolean } = {}) {
    const dns = probeDns(shop.p.dnsPort, `api-http-${env}.shop.test`);
    const api = probeStatusApi(shop.p.dir, env);
    // `kiln status` itself, in the middle of the migration.
    const cli = sleep(5000).then(() => shop.p.kiln(['status', '--env', env]));
    // Progress lines go to stderr without --json; the error object to stdout with it.
    const res = await shop.p.kiln(['deploy', release, '--env', env, ...(opts.json ? ['--json'] : [])], { allowFail: opts.allowFail ?? false });
    return { res, dns: await dns.stop(), api: await api.stop(), cli: await cli };
  }

  for (const env of ['dev', 'prod'] as const) {
    const engine = env === 'dev' ? 'SQLite' : 'PostgreSQL';
    test(`defect 8: DNS and kiln status answer within 200 ms throughout a 15 s migration in a deploy (${engine})`, async (t) => {
      if (env === 'dev') {
        fs.writeFileSync(path.join(changelog(), '0004_slow_backfill.js'), SLOW_ENTRY);
        await shop.p.kiln(['release', 'create']);
      }
      const { res, dns, api, cli } = await deployProbed('r2', env);
      const migrationMs = Number(/applied 0004_slow_backfill\.js.*?(\d+) ms/.exec(res.stderr)?.[1]);
      t.diagnostic(`${engine}: migration ${migrationMs} ms; longest DNS silence ${Math.round(dns.longestSilenceMs)} ms (${dns.answered}/${dns.sent} answered, slowest ${Math.round(dns.maxLatencyMs)} ms); status API: ${api.calls} calls, slowest ${Math.round(api.maxLatencyMs)} ms`);
      assert.ok(migrationMs >= 15000, `the migration took ${migrationMs} ms\n${res.stderr}`);
      assert.ok(dns.longestSilenceMs < 200, `DNS was silent for ${Math.round(dns.longestSilenceMs)} ms`);
      assert.ok(dns.answered >= 300, `only ${dns.answered} DNS answers`);
      assert.ok(api.maxLatencyMs < 200, `the status API took ${Math.round(api.maxLatencyMs)} ms`);
      assert.equal(api.failed, 0);
      // Progress: entry n/m, and how long it has run.
      assert.match(res.stderr, /orders: applying 0004_slow_backfill\.js \(1\/1\)/);
      assert.match(res.stderr, /orders: 0004_slow_backfill\.js \(1\/1\) running for \d+ s/);
      assert.match(res.stderr, /orders: applied 0004_slow_backfill\.js \(1\/1\) in \d+ ms/);
      assert.equal(cli.code, 0);
      assert.match(cli.stdout, new RegExp(`api-http-${env}`));
    });
  }

  test('defect 8: a deploy whose SQLite store another connection holds locked waits without blocking DNS, then fails with DATA_LOCKED', async (t) => {
    fs.writeFileSync(path.join(changelog(), '0005_add_note.sql'), 'ALTER TABLE orders ADD COLUMN note TEXT;\n');
    const rel = JSON.parse((await shop.p.kiln(['release', 'create', '--json'])).stdout) as { name: string };
    // Another writer (a CLI migration's transaction, a server's) holds the write lock throughout.
    const holder = new Database(path.join(shop.p.dir, '.kiln', 'data', 'dev', 'orders.db'));
    holder.exec('BEGIN IMMEDIATE');
    let probed;
    try {
      probed = await deployProbed(rel.name, 'dev', { allowFail: true, json: true });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const { res, dns, api } = probed;
    t.diagnostic(`lock wait: longest DNS silence ${Math.round(dns.longestSilenceMs)} ms (${dns.answered} answers); status API slowest ${Math.round(api.maxLatencyMs)} ms`);
    assert.equal(res.code, 1, res.stderr);
    const err = (JSON.parse(res.stdout) as { error: { code: string; message: string; hint?: string } }).error;
    assert.equal(err.code, 'DATA_LOCKED', res.stdout);
    assert.match(err.message, /orders \(dev, sqlite .*orders\.db\) is locked/);
    assert.match(err.hint ?? '', /lock-wait/);
    assert.doesNotMatch(res.stderr + res.stdout, /SqliteError|database is locked/);
    assert.ok(dns.longestSilenceMs < 200, `DNS was silent for ${Math.round(dns.longestSilenceMs)} ms`);
    assert.ok(api.maxLatencyMs < 200, `the status API took ${Math.round(api.maxLatencyMs)} ms`);
    // Once the lock is free, the same deploy goes through.
    const again = await shop.p.kiln(['deploy', rel.name, '--env', 'dev']);
    assert.match(again.stderr, /orders: applied 0005_add_note\.sql \(1\/1\)/);
  });

  test('defect 8: on PostgreSQL, a migration behind a table lock another session holds is DATA_LOCKED after --lock-wait', async () => {
    const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: db });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
      const t0 = Date.now();
      const res = await shop.p.kiln(['data', 'migrate', 'orders', '--env', 'prod', '--lock-wait', '2s', '--json'], { allowFail: true });
      const tookMs = Date.now() - t0;
      assert.equal(res.code, 1, res.stderr);
      const err = (JSON.parse(res.stdout) as { error: { code: string; message: string; hint?: string } }).error;
      assert.equal(err.code, 'DATA_LOCKED', res.stdout);
      assert.match(err.message, /orders \(prod, postgres from secret orders_url\) is locked/);
      assert.ok(tookMs < 15000, `gave up after ${tookMs} ms`);
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
    assert.equal(server.psql(db, 'SELECT max(position) FROM kiln_changelog').trim(), '4', 'nothing more was applied');
    const ok = await shop.p.kiln(['data', 'migrate', 'orders', '--env', 'prod']);
    assert.match(ok.stdout, /0004 -> 0005/);
  });
});
