// The data layer's acceptance scenario, run against each engine (sqlite.test.ts,
// postgres.test.ts): migrate, snapshot, replicas (latest and older position) compared row by
// row with the source, tamper, a failing entry, and kill -9 during a migration and a replica.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { KilnError } from '../../errors.js';
import { connectStore, locateStore, type StoreLocation } from './bindings.js';
import { changelogOf } from './changelog.js';
import { readHistory } from './history.js';
import { readLock } from './lock.js';
import { migrateStore } from './migrate.js';
import { createReplica } from './replica.js';
import { snapshotStore } from './snapshot.js';
import { findSnapshot, listDataTags } from './tags.js';
import { hangingEntry, kill9, startChild, waitForFile, type DataProject } from './testkit.js';

export interface EngineHooks {
  /** Source environment, replica environments (the second is used for the kill -9 replica). */
  source: string;
  replicas: [string, string];
  /** Whether the replica of `env` exists under its real name. */
  replicaExists(loc: StoreLocation): Promise<boolean>;
  /** Names of leftover temporaries of a replica of `env`. */
  temporaries(loc: StoreLocation): Promise<string[]>;
}

async function rows(loc: StoreLocation, withTotal = true): Promise<unknown[]> {
  const conn = await connectStore(loc);
  try {
    const r = await conn.query<Record<string, unknown>>(`SELECT id, item, qty${withTotal ? ', total' : ''} FROM orders ORDER BY id`);
    return r.map((x) => ({ id: Number(x['id']), item: x['item'], qty: Number(x['qty']), ...(withTotal ? { total: x['total'] === null ? null : Number(x['total']) } : {}) }));
  } finally {
    await conn.close();
  }
}

async function history(loc: StoreLocation): Promise<Array<{ position: number; checksum: string }>> {
  const conn = await connectStore(loc);
  try {
    return (await readHistory(conn)).map((h) => ({ position: h.position, checksum: h.checksum }));
  } finally {
    await conn.close();
  }
}

async function migrate(p: DataProject, loc: StoreLocation, opts: { toPosition?: number; waitMs?: number } = {}) {
  const conn = await connectStore(loc);
  try {
    return await migrateStore(conn, changelogOf(p.spec, 'orders'), `orders (${loc.env})`, opts);
  } finally {
    await conn.close();
  }
}

export async function runScenario(t: TestContext, p: DataProject, hooks: EngineHooks): Promise<void> {
  const loc = (env: string) => locateStore(p.spec, p.store.kilnDir, env, 'orders');
  const src = loc(hooks.source);
  const [r1, r2] = [loc(hooks.replicas[0]), loc(hooks.replicas[1])];
  let rowsAt2: unknown[] = [];

  await t.test('migrate, snapshot, and replicas at the head and at an older position equal the source', async () => {
    assert.deepEqual((await migrate(p, src, { toPosition: 2 })).applied.map((a) => a.name), ['0001_create_orders.sql', '0002_seed.sql']);
    rowsAt2 = await rows(src, false);
    assert.equal(rowsAt2.length, 3);
    const s2 = await snapshotStore(p.store, src, changelogOf(p.spec, 'orders'));
    assert.equal(s2.ref, 'data/orders:0002-1');
    const applied = await migrate(p, src);
    assert.deepEqual(applied.applied.map((a) => a.position), [3, 4]);
    const s4 = await snapshotStore(p.store, src, changelogOf(p.spec, 'orders'));
    assert.equal(s4.tag.tag, '0004-1');
    assert.equal(s4.tag.source.position, 4);
    assert.ok(p.store.oci.getRef('data/orders:0004-1'), 'the snapshot has an OCI ref');
    assert.deepEqual(listDataTags(p.store.db, 'orders').map((x) => x.tag), ['0002-1', '0004-1']);
    assert.deepEqual(await rows(src), [
      { id: 1, item: 'apple', qty: 3, total: 30 },
      { id: 2, item: 'pear', qty: 5, total: 50 },
      { id: 3, item: 'fig', qty: 1, total: 10 },
    ]);

    // Newest snapshot of the source environment, changelog applied: the same rows and history.
    const latest = findSnapshot(p.store.db, 'orders', { env: hooks.source });
    await createReplica(p.store, r1, changelogOf(p.spec, 'orders'), latest);
    assert.deepEqual(await rows(r1), await rows(src));
    assert.deepEqual(await history(r1), await history(src));

    // An older position: the 0002 snapshot, nothing applied past it.
    const old = findSnapshot(p.store.db, 'orders', { env: hooks.source, maxPosition: 2 });
    assert.equal(old.tag, '0002-1');
    await assert.rejects(createReplica(p.store, r1, changelogOf(p.spec, 'orders'), old, { toPosition: 2 }), /already exists/);
    await createReplica(p.store, r1, changelogOf(p.spec, 'orders'), old, { toPosition: 2, replace: true });
  });

  await t.test('the older replica holds exactly the source rows at that position', async () => {
    // At position 2 there is no total column yet.
    assert.deepEqual(await rows(r1, false), rowsAt2);
    assert.deepEqual((await history(r1)).map((h) => h.position), [1, 2]);
  });

  await t.test('an edited applied entry is refused, naming the file and both checksums; nothing is applied', async () => {
    const file = path.join(p.changelogDir, '0002_seed.sql');
    const original = fs.readFileSync(file, 'utf8');
    const before = changelogOf(p.spec, 'orders').entries[1]?.checksum as string;
    p.entry('0005_pending.sql', 'CREATE TABLE pending_table (x INTEGER);\n');
    fs.appendFileSync(file, "INSERT INTO orders (id, item, qty) VALUES (9, 'sneaky', 1);\n");
    const after = changelogOf(p.spec, 'orders').entries[1]?.checksum as string;
    await assert.rejects(migrate(p, src), (e: unknown) => {
      assert.ok(e instanceof KilnError);
      assert.equal(e.code, 'DATA_CHANGELOG');
      assert.equal(e.location?.file, file);
      assert.match(e.message, new RegExp(`${before}.*${after}`));
      return true;
    });
    assert.deepEqual((await history(src)).map((h) => h.position), [1, 2, 3, 4]);
    fs.writeFileSync(file, original);
    fs.rmSync(path.join(p.changelogDir, '0005_pending.sql'));
  });

  await t.test('a failing entry rolls back with its history row, and the next run retries it', async () => {
    const file = p.entry('0005_bad.sql', 'CREATE TABLE audit (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n');
    await assert.rejects(migrate(p, src), (e: unknown) => e instanceof KilnError && e.code === 'DATA_FAILED' && e.location?.file === file);
    assert.deepEqual((await history(src)).map((h) => h.position), [1, 2, 3, 4]);
    const conn = await connectStore(src);
    await assert.rejects(conn.query('SELECT * FROM audit'), /audit/);
    await conn.close();
    p.entry('0005_bad.sql', 'CREATE TABLE audit (x INTEGER);\n');
    assert.deepEqual((await migrate(p, src)).applied.map((a) => a.position), [5]);
  });

  await t.test('kill -9 during a migration: consistent position, nothing half-applied, the lock does not block', async () => {
    const marker = path.join(p.dir, 'hang-migrate');
    p.entry('0006_hang.js', hangingEntry(marker));
    const child = startChild('migrate', p.dir, { env: hooks.source });
    await waitForFile(marker, child);
    await kill9(child);
    assert.deepEqual((await history(src)).map((h) => h.position), [1, 2, 3, 4, 5]);
    assert.ok(!(await rows(src)).some((r) => (r as { id: number }).id === 100), 'the killed entry left no row');
    const conn = await connectStore(src);
    assert.ok(await readLock(conn), 'the killed migrator left its lock');
    await conn.close();
    // waitMs 0: a lock held by the dead process is taken over at once, or this throws DATA_LOCKED.
    assert.deepEqual((await migrate(p, src, { waitMs: 0 })).applied.map((a) => a.position), [6]);
    assert.ok((await rows(src)).some((r) => (r as { id: number }).id === 100));
  });

  await t.test('kill -9 during a replica: no half-made replica; the next replica succeeds and cleans up', async () => {
    const snap = await snapshotStore(p.store, src, changelogOf(p.spec, 'orders'));
    assert.equal(snap.tag.tag, '0006-1');
    const marker = path.join(p.dir, 'hang-replica');
    p.entry('0007_hang.js', hangingEntry(marker).replace('[100,', '[200,'));
    const child = startChild('replica', p.dir, { env: hooks.replicas[1], tag: '0006-1' });
    await waitForFile(marker, child);
    await kill9(child);
    assert.equal(await hooks.replicaExists(r2), false, 'no replica under the real name');
    assert.equal((await hooks.temporaries(r2)).length, 1, 'the killed replica left its temporary');
    await createReplica(p.store, r2, changelogOf(p.spec, 'orders'), findSnapshot(p.store.db, 'orders', { tag: '0006-1' }));
    assert.deepEqual(await hooks.temporaries(r2), []);
    await migrate(p, src);
    assert.deepEqual(await rows(r2), await rows(src));
    assert.deepEqual(await history(r2), await history(src));
  });
}
