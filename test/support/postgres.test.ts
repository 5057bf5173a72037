import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import pg from 'pg';
import { startPostgres } from './postgres.js';

test('a private PostgreSQL cluster starts on loopback with password auth and stops', async () => {
  const cluster = await startPostgres();
  after(() => cluster.stop());
  assert.equal(await startPostgres(), cluster, 'once per test process');
  cluster.createDatabase('probe');
  const client = new pg.Client({ connectionString: cluster.url('probe') });
  await client.connect();
  const r = await client.query('SELECT 1 + 1 AS two');
  await client.end();
  assert.equal(r.rows[0].two, 2);
  const wrong = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: cluster.user, password: 'wrong', database: 'probe' });
  await assert.rejects(wrong.connect(), /password authentication failed/);
  assert.equal(cluster.psql('probe', 'SELECT 40 + 2').trim(), '42');
  const dataDirs = fs.readdirSync('/tmp').filter((n) => n.startsWith('kiln-pg-'));
  assert.ok(dataDirs.length >= 1);
});
