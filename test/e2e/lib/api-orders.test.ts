// The example api's orders store (examples/shop/apps/api/orders.js) on its two npm drivers:
// better-sqlite3 on a SQLite file (two replicas' connections on one file, a file replaced under a
// running server), pg on a real PostgreSQL server (the URL read from a file, concurrent inserts
// racing for the next id, the password never in an error), and a build without better-sqlite3
// answering with what is missing. The drivers resolve to Kiln's own node_modules, which lock the
// same versions as the api's package-lock.json (checked here too).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { findRepoRoot } from './project.js';
import { startPostgres, type TestPostgres } from '../../support/postgres.js';

interface Order { id: number; item: string; qty: number; price_cents: number | null; created_at: string }
interface Store { engine: string; check(): void; list(): Promise<Order[]>; add(o: ReturnType<OrdersModule['validateOrder']>): Promise<Order>; close(): void }
interface OrdersModule {
  openOrders(db: string): Store;
  validateOrder(body: unknown): { item: string; qty: number; priceCents: number; createdAt: string };
}

const apiDir = path.join(findRepoRoot(), 'examples', 'shop', 'apps', 'api');
const orders = createRequire(import.meta.url)(path.join(apiDir, 'orders.js')) as OrdersModule;
const SCHEMA = fs.readdirSync(path.join(apiDir, '..', '..', 'db', 'orders')).filter((f) => f.endsWith('.sql')).sort()
  .map((f) => fs.readFileSync(path.join(apiDir, '..', '..', 'db', 'orders', f), 'utf8'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-api-orders-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sqliteFile(name: string): string {
  const file = path.join(tmp, name);
  const db = new Database(file);
  for (const sql of SCHEMA) db.exec(sql);
  db.close();
  return file;
}

test("the api locks the driver versions it is tested with here (Kiln's own)", () => {
  const lock = JSON.parse(fs.readFileSync(path.join(apiDir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const own = (name: string): string => (JSON.parse(fs.readFileSync(path.join(findRepoRoot(), 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(lock.packages['node_modules/pg']?.version, own('pg'));
  assert.equal(lock.packages['node_modules/better-sqlite3']?.version, own('better-sqlite3'));
});

test('SQLite through better-sqlite3: rows with their ids, two connections on one file, a replaced file picked up', async () => {
  const file = sqliteFile('orders.db');
  const a = orders.openOrders(file);
  const b = orders.openOrders(file);
  try {
    assert.equal(a.engine, 'sqlite');
    a.check();
    const evil = "x'); DROP TABLE orders; --";
    assert.throws(() => orders.validateOrder({ item: evil, qty: 1, price: 1 }), /item must be/);
    const placed = await Promise.all([1, 2, 3, 4].map((i) => (i % 2 ? a : b).add(orders.validateOrder({ item: `mug ${i}`, qty: i, price: 12.5 }))));
    assert.deepEqual(placed.map((o) => o.id).sort(), [1, 2, 3, 4]);
    const listed = await b.list();
    assert.deepEqual(listed.map((o) => [o.id, o.qty, o.price_cents]), placed.map((o) => [o.id, o.qty, 1250]).sort((x, y) => x[0]! - y[0]!));
    // Another database renamed over the file (a new inode): the next request reads the new one.
    const other = sqliteFile('other.db');
    fs.renameSync(other, file);
    assert.deepEqual(await a.list(), []);
    assert.equal((await a.add(orders.validateOrder({ item: 'bowl', qty: 1, price: 18 }))).id, 1);
  } finally {
    a.close();
    b.close();
  }
});

test('a build without better-sqlite3 says so when the store is opened (the health check), not with a stack trace', () => {
  // A copy of the app outside the repository: no node_modules on its way up.
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-api-bare-'));
  try {
    fs.copyFileSync(path.join(apiDir, 'orders.js'), path.join(bare, 'orders.js'));
    const m = createRequire(path.join(bare, 'x.js'))(path.join(bare, 'orders.js')) as OrdersModule;
    const store = m.openOrders(sqliteFile('bare.db'));
    assert.throws(() => store.check(), /the SQLite driver better-sqlite3 is not in this build: `npm ci` could not install it/);
  } finally {
    fs.rmSync(bare, { recursive: true, force: true });
  }
});

describe('PostgreSQL through pg', () => {
  let server: TestPostgres;
  const dbName = 'kiln_api_orders_test';
  before(async () => {
    server = await startPostgres();
    server.createDatabase(dbName);
    for (const sql of SCHEMA) server.psql(dbName, sql);
  });
  after(() => server.dropDatabase(dbName));

  test('the URL comes from the --db file; concurrent inserts from two replicas get distinct ids', async () => {
    const urlFile = path.join(tmp, 'orders_url');
    fs.writeFileSync(urlFile, server.url(dbName) + '\n', { mode: 0o600 });
    const a = orders.openOrders(urlFile);
    const b = orders.openOrders(urlFile);
    try {
      assert.equal(a.engine, 'postgres');
      const placed = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).add(orders.validateOrder({ item: `plate ${i}`, qty: i + 1, price: 15 }))));
      assert.deepEqual(placed.map((o) => o.id).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8]);
      const listed = await a.list();
      assert.equal(listed.length, 8);
      assert.deepEqual(listed[0], { ...placed.find((o) => o.id === 1)!, price_cents: 1500 });
      assert.equal(server.psql(dbName, 'SELECT count(*) FROM orders').trim(), '8');
    } finally {
      a.close();
      b.close();
    }
  });

  test('a wrong password is refused, and the error does not show it', async () => {
    const u = new URL(server.url(dbName));
    u.password = 'wrong-p4ss-7f3e';
    const urlFile = path.join(tmp, 'bad_url');
    fs.writeFileSync(urlFile, u.toString(), { mode: 0o600 });
    const store = orders.openOrders(urlFile);
    try {
      await assert.rejects(store.list(), (e: Error) => /password authentication failed/.test(e.message) && !e.message.includes('wrong-p4ss-7f3e'));
    } finally {
      store.close();
    }
  });
});
