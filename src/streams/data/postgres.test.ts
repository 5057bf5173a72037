import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startPostgres } from '../../../test/support/postgres.js';
import { pgTargetOf } from './bindings.js';
import { pgDumpCommand, pgRestoreCommand } from './postgres.js';
import { runScenario } from './scenario.js';
import { makeDataProject } from './testkit.js';

const binding = (secret: string) => `{ data: { orders: { engine: postgres, url: "\${secret.${secret}}" } } }`;

test('PostgreSQL store: migrate, snapshot, replicas, tamper, failure, kill -9', async (t) => {
  const pg = await startPostgres();
  after(() => pg.stop());
  pg.createDatabase('shop_prod');
  const p = makeDataProject(`  prod: ${binding('prod_url')}\n  test: ${binding('test_url')}\n  test2: ${binding('test2_url')}`);
  p.secret('prod', 'prod_url', pg.url('shop_prod'));
  p.secret('test', 'test_url', pg.url('shop_test'));
  p.secret('test2', 'test2_url', pg.url('shop_test2'));
  const databases = () => pg.psql('postgres', 'SELECT datname FROM pg_database ORDER BY 1').trim().split('\n');
  try {
    await runScenario(t, p, {
      source: 'prod',
      replicas: ['test', 'test2'],
      async replicaExists(loc) {
        return loc.engine === 'postgres' && databases().includes(pgTargetOf(loc).database);
      },
      async temporaries(loc) {
        return loc.engine === 'postgres' ? databases().filter((d) => d.startsWith(`${pgTargetOf(loc).database}_kt_`)) : [];
      },
    });
  } finally {
    p.cleanup();
  }
});

test('pg_dump and pg_restore get the password through PGPASSFILE, never in their arguments', () => {
  const target = { host: '127.0.0.1', port: 5432, user: 'u', password: 's3cret', database: 'shop' };
  for (const cmd of [pgDumpCommand(target, '/tmp/out', '/tmp/pass'), pgRestoreCommand(target, 'shop_tmp', '/tmp/in', '/tmp/pass')]) {
    assert.ok(!cmd.argv.join(' ').includes('s3cret'));
    assert.ok(!Object.values(cmd.env).join(' ').includes('s3cret'));
    assert.equal(cmd.env['PGPASSFILE'], '/tmp/pass');
  }
  assert.deepEqual(pgDumpCommand(target, '/tmp/out', '/tmp/pass').argv.slice(1), ['--format=custom', '--no-owner', '--no-acl', '--exclude-table-data=kiln_lock', '--file=/tmp/out']);
});
