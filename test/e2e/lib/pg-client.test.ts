// The example api's own PostgreSQL client (examples/shop/apps/api/pg-client.js, no npm
// dependencies) against a real PostgreSQL server: SCRAM-SHA-256 and md5 logins, parameters that
// stay values, NULLs, errors with their SQLSTATE, and a wrong password refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { findRepoRoot } from './project.js';
import { startPostgres, type TestPostgres } from '../../support/postgres.js';

interface PgClient {
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, string | null>>>;
  close(): void;
}
interface PgModule {
  connect(opts: { host: string; port: number; user: string; password: string; database: string }): Promise<PgClient>;
  parseUrl(url: string): { host: string; port: number; user: string; password: string; database: string };
  PgError: new (...args: never[]) => Error & { code?: string };
}

const pg = createRequire(import.meta.url)(path.join(findRepoRoot(), 'examples', 'shop', 'apps', 'api', 'pg-client.js')) as PgModule;

describe('the example api PostgreSQL client', () => {
  let server: TestPostgres;
  const db = 'kiln_pgclient_test';
  before(async () => {
    server = await startPostgres();
    server.createDatabase(db);
  });
  after(() => server.dropDatabase(db));

  test('SCRAM-SHA-256 login; parameters are values, not SQL; NULL and text round-trip', async () => {
    const c = await pg.connect(pg.parseUrl(server.url(db) + '\n'));
    try {
      await c.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, note TEXT)');
      const evil = "x'); DROP TABLE t; --";
      const rows = await c.query('INSERT INTO t (id, name, note) VALUES ($1, $2, $3) RETURNING id, name, note', [1, evil, null]);
      assert.deepEqual(rows, [{ id: '1', name: evil, note: null }]);
      await c.query('INSERT INTO t (id, name, note) VALUES ($1, $2, $3)', [2, 'zürich ☕', '']);
      // Queries sent together run one after the other on the one connection.
      const [all, count] = await Promise.all([c.query('SELECT id, name, note FROM t ORDER BY id'), c.query('SELECT count(*) AS n FROM t')]);
      assert.deepEqual(all, [{ id: '1', name: evil, note: null }, { id: '2', name: 'zürich ☕', note: '' }]);
      assert.deepEqual(count, [{ n: '2' }]);
      assert.equal(server.psql(db, 'SELECT name FROM t WHERE id = 2').trim(), 'zürich ☕');
      // An error names its SQLSTATE and leaves the connection usable.
      await assert.rejects(c.query('INSERT INTO t (id, name) VALUES ($1, $2)', [1, 'dup']), (e: Error & { code?: string }) => e instanceof pg.PgError && e.code === '23505');
      assert.deepEqual(await c.query('SELECT count(*) AS n FROM t'), [{ n: '2' }]);
    } finally {
      c.close();
    }
  });

  test('md5 login works too, and a wrong password is refused', async () => {
    const role = 'kiln_md5_user';
    const password = 'md5-p@ss:w/rd';
    server.psql('postgres', `DROP ROLE IF EXISTS ${role}`);
    server.psql('postgres', `SET password_encryption = 'md5'; CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    // This test cluster asks everyone for scram-sha-256; let this one role log in with md5 (first match wins).
    const hba = server.psql('postgres', 'SHOW hba_file').trim();
    const original = fs.readFileSync(hba, 'utf8');
    fs.writeFileSync(hba, `host all ${role} 127.0.0.1/32 md5\n` + original);
    server.psql('postgres', 'SELECT pg_reload_conf()');
    try {
      const c = await pg.connect({ host: server.host, port: server.port, user: role, password, database: db });
      assert.deepEqual(await c.query('SELECT current_user AS u, $1::int + 1 AS n', [41]), [{ u: role, n: '42' }]);
      c.close();
      await assert.rejects(pg.connect({ host: server.host, port: server.port, user: role, password: 'wrong', database: db }), /password authentication failed/);
      await assert.rejects(pg.connect({ ...pg.parseUrl(server.url(db)), password: 'wrong' }), /password authentication failed/);
    } finally {
      fs.writeFileSync(hba, original);
      server.psql('postgres', 'SELECT pg_reload_conf()');
      server.psql('postgres', `DROP ROLE IF EXISTS ${role}`);
    }
  });
});
