// A test environment from a release with the data of an environment that keeps its store in
// PostgreSQL: the new environment gets a database of its own on the same server (a replica of
// the source's snapshot plus the release's changelog); the source is untouched; destroy drops it.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeProject, type TestProject } from './lib/project.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

describe('environments from a release with PostgreSQL data', () => {
  let p: TestProject;
  let pg: TestPostgres;
  const db = `shop_${process.pid}`;

  before(async () => {
    pg = await startPostgres();
    pg.createDatabase(db);
    p = await makeProject();
    const file = path.join(p.dir, 'kiln.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace(
        'environments:\n',
        'environments:\n  prod:\n    runtime: process\n    data: { orders: { engine: postgres, url: "${secret.orders_url}" } }\n',
      ),
    );
    await p.kiln(['init']);
    await p.kiln(['app', 'tag', 'api', '1.0.0']);
    await p.kiln(['app', 'tag', 'web', '1.0.0']);
    await p.kiln(['release', 'create']);
    await p.kiln(['secret', 'set', 'orders_url', '--env', 'prod'], { input: pg.url(db) });
    await p.startServer();
    await p.kiln(['deploy', 'r1', '--env', 'prod']);
    pg.psql(db, "INSERT INTO orders (id, item, qty, created_at) VALUES (1, 'apple', 3, '2026-11-26'), (2, 'pear', 1, '2026-11-26')");
  });
  after(async () => {
    await p?.cleanup();
    pg?.dropDatabase(db);
  });

  test('env create gets its own database: prod snapshot + changelog; prod untouched; destroy drops it', async () => {
    const prodBefore = pg.psql(db, 'SELECT id, item, qty, price_cents FROM orders ORDER BY id');
    const res = await p.kiln(['env', 'create', 'test-r1', '--release', 'r1', '--data-from', 'prod', '--like', 'prod']);
    assert.match(res.stderr, new RegExp(`${db}_test_r1`));
    const own = `${db}_test_r1`;
    assert.equal(pg.psql(own, 'SELECT id, item, qty, price_cents FROM orders ORDER BY id'), prodBefore, "the replica's rows equal prod's");
    assert.equal(pg.psql(own, 'SELECT max(position) FROM kiln_changelog').trim(), '3');
    pg.psql(own, "INSERT INTO orders (id, item, qty, created_at) VALUES (3, 'plum', 9, '2026-11-26')");
    assert.equal(pg.psql(db, 'SELECT id, item, qty, price_cents FROM orders ORDER BY id'), prodBefore, 'prod is untouched');
    // The new environment's secret names its own database; prod's still names prod's.
    const secret = (env: string): string => fs.readFileSync(path.join(p.dir, '.kiln', 'secrets', env, 'orders_url'), 'utf8');
    assert.match(secret('test-r1'), new RegExp(`/${own}$`));
    assert.match(secret('prod'), new RegExp(`/${db}$`));
    await p.kiln(['env', 'destroy', 'test-r1']);
    assert.equal(pg.psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${own}'`).trim(), '0', 'its database is dropped');
    assert.equal(pg.psql(db, 'SELECT count(*) FROM orders').trim(), '2');
  });
});
