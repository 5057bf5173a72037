// Template databases (kiln_snap_<digest>) do not pile up on a PostgreSQL server: a newer snapshot
// drops the older ones of its store, a replica keeps only the template it used and the newest,
// and `prunePgTemplates` (kiln data prune) drops the rest, or all of them. Real PostgreSQL.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startPostgres } from '../../../test/support/postgres.js';
import { connectStore, locateStore, type StoreLocation } from './bindings.js';
import { changelogOf } from './changelog.js';
import { migrateStore } from './migrate.js';
import { createReplica, pgTemplateName } from './replica.js';
import { snapshotStore } from './snapshot.js';
import { prunePgTemplates } from './templates.js';
import { makeDataProject } from './testkit.js';

const binding = (secret: string) => `{ data: { orders: { engine: postgres, url: "\${secret.${secret}}" } } }`;

test('PostgreSQL template databases: only the newest snapshot\'s (and the one in use) are kept', async () => {
  const pg = await startPostgres();
  after(() => pg.stop());
  pg.createDatabase('tpl_prod');
  const p = makeDataProject(`  prod: ${binding('prod_url')}\n  test: ${binding('test_url')}`);
  p.secret('prod', 'prod_url', pg.url('tpl_prod'));
  p.secret('test', 'test_url', pg.url('tpl_test'));
  const templates = () => pg.psql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'kiln_snap_%' ORDER BY 1").trim().split('\n').filter(Boolean).sort();
  const loc = (env: string) => locateStore(p.spec, p.store.kilnDir, env, 'orders') as Extract<StoreLocation, { engine: 'postgres' }>;
  const changelog = changelogOf(p.spec, 'orders');
  try {
    const conn = await connectStore(loc('prod'));
    await migrateStore(conn, changelog, 'prod');
    await conn.close();
    const s1 = await snapshotStore(p.store, loc('prod'), changelog);
    const t1 = pgTemplateName(s1.tag.digest);
    await createReplica(p.store, loc('test'), changelog, s1.tag);
    assert.deepEqual(templates(), [t1], 'the replica restored the snapshot once into its template');

    pg.psql('tpl_prod', "INSERT INTO orders (id, item, qty) VALUES (4, 'plum', 2)");
    const s2 = await snapshotStore(p.store, loc('prod'), changelog);
    const t2 = pgTemplateName(s2.tag.digest);
    assert.notEqual(t1, t2);
    assert.deepEqual(s2.templates?.dropped, [t1], 'a newer snapshot drops the older template');
    assert.deepEqual(templates(), []);

    await createReplica(p.store, loc('test'), changelog, s2.tag, { replace: true });
    assert.deepEqual(templates(), [t2]);
    // A replica of the older snapshot needs its template again; the newest one stays.
    await createReplica(p.store, loc('test'), changelog, s1.tag, { replace: true });
    assert.deepEqual(templates(), [t1, t2].sort());
    assert.equal(pg.psql('tpl_test', 'SELECT count(*) FROM orders').trim(), '3', 'the replica is of the older snapshot');

    const pruned = await prunePgTemplates(p.store, loc('test'));
    assert.deepEqual([pruned.dropped, pruned.kept, pruned.failed], [[t1], [t2], []]);
    const all = await prunePgTemplates(p.store, loc('test'), { all: true });
    assert.deepEqual([all.dropped, all.kept], [[t2], []]);
    assert.deepEqual(templates(), []);
    // Without templates a replica still works: it restores the newest snapshot's template again.
    await createReplica(p.store, loc('test'), changelog, s2.tag, { replace: true });
    assert.equal(pg.psql('tpl_test', 'SELECT count(*) FROM orders').trim(), '4');
    assert.deepEqual(templates(), [t2]);
  } finally {
    p.cleanup();
  }
});
