// The data layer's gates and lock waits, at the level of the engine (the CLI and the control
// plane are in test/e2e/data-gates.test.ts and data-liveness.test.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { KilnError } from '../../errors.js';
import { connectStore, locateStore } from './bindings.js';
import { changelogOf } from './changelog.js';
import { readHistory } from './history.js';
import { lintChangelog } from './lint.js';
import { migrateStore } from './migrate.js';
import { runOffThread } from './off-thread.js';
import { makeDataProject } from './testkit.js';

/** The longest gap between ticks of a 10 ms timer while fn runs: how long the event loop was blocked. */
async function longestStall<T>(fn: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 10);
  const [result] = await Promise.allSettled([fn()]);
  clearInterval(timer);
  return { result: result as PromiseSettledResult<T>, stallMs: Math.max(stallMs, performance.now() - last) };
}

test('defect 9: an entry with a COMMIT is refused by lint and migrate at file:line:column, and nothing of it is applied', async () => {
  const p = makeDataProject('  dev: {}');
  try {
    const loc = locateStore(p.spec, p.store.kilnDir, 'dev', 'orders');
    const conn = await connectStore(loc);
    try {
      await migrateStore(conn, changelogOf(p.spec, 'orders'), 'orders (dev)');
      const file = p.entry('0005_escape.sql', "CREATE TABLE audit (x INTEGER);\n  COMMIT;\nINSERT INTO audit VALUES ('COMMIT; -- not this one');\nINSERT INTO no_such_table VALUES (1);\n");
      const lint = lintChangelog(changelogOf(p.spec, 'orders'), 4);
      assert.deepEqual(lint.map((f) => [f.line, f.column, f.allowed]), [[2, 3, false]]);
      assert.match(lint[0]?.reason ?? '', /COMMIT ends or opens a transaction/);
      await assert.rejects(migrateStore(conn, changelogOf(p.spec, 'orders'), 'orders (dev)'), (e: unknown) => {
        assert.ok(e instanceof KilnError, String(e));
        assert.equal(e.code, 'DATA_CHANGELOG');
        assert.deepEqual(e.location, { file, line: 2, column: 3 });
        assert.match(e.message, /COMMIT/);
        return true;
      });
      assert.deepEqual((await readHistory(conn)).map((h) => h.position), [1, 2, 3, 4]);
      assert.deepEqual(await conn.query("SELECT name FROM sqlite_master WHERE name = 'audit'"), [], 'nothing of the entry was applied');
      // A data migration that runs COMMIT through its db is stopped and rolled back too.
      fs.rmSync(file);
      p.entry('0005_escape.js', "export async function migrate(db) { await db.exec('CREATE TABLE audit (x INTEGER)'); await db.exec('commit'); }\n");
      await assert.rejects(migrateStore(conn, changelogOf(p.spec, 'orders'), 'orders (dev)'), (e: unknown) => e instanceof KilnError && e.code === 'DATA_CHANGELOG' && /ran COMMIT/.test(e.message));
      assert.deepEqual(await conn.query("SELECT name FROM sqlite_master WHERE name = 'audit'"), []);
    } finally {
      await conn.close();
    }
  } finally {
    p.cleanup();
  }
});

test('defect 8: a store whose SQLite write lock another connection holds is DATA_LOCKED after the bound, and the wait blocks no event loop', async () => {
  const p = makeDataProject('  dev: {}');
  try {
    const loc = locateStore(p.spec, p.store.kilnDir, 'dev', 'orders');
    const first = await connectStore(loc);
    await migrateStore(first, changelogOf(p.spec, 'orders'), 'orders (dev)', { toPosition: 2 });
    await first.close();
    // Another writer (a CLI migration, a server) holds the write lock.
    const holder = new Database(loc.engine === 'sqlite' ? loc.file : '');
    holder.exec('BEGIN IMMEDIATE');
    try {
      const { result, stallMs } = await longestStall(async () => {
        const conn = await connectStore(loc, { lockWaitMs: 1500 });
        try {
          return await migrateStore(conn, changelogOf(p.spec, 'orders'), 'orders (dev)', { waitMs: 1500, lockWaitMs: 1500 });
        } finally {
          await conn.close();
        }
      });
      assert.equal(result.status, 'rejected');
      const e = (result as PromiseRejectedResult).reason as unknown;
      assert.ok(e instanceof KilnError, `a raw error: ${String(e)}`);
      assert.equal(e.code, 'DATA_LOCKED');
      assert.match(e.message, /orders \(dev, sqlite .*orders\.db\) is locked/);
      assert.match(e.hint ?? '', /lock-wait/);
      assert.ok(stallMs < 200, `the event loop stalled ${Math.round(stallMs)} ms while waiting for the lock`);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // Once the lock is free, the same migration goes through.
    const conn = await connectStore(loc);
    assert.deepEqual((await migrateStore(conn, changelogOf(p.spec, 'orders'), 'orders (dev)')).applied.map((a) => a.position), [3, 4]);
    await conn.close();
  } finally {
    p.cleanup();
  }
});

test('a CPU-bound .js entry runs on a worker thread: the caller\'s event loop keeps ticking, progress says n/m and elapsed', async () => {
  const p = makeDataProject('  dev: {}');
  try {
    p.entry('0005_spin.js', 'export async function migrate(db) { const end = Date.now() + 1500; let n = 0; while (Date.now() < end) n++; await db.query("UPDATE orders SET total = ?", [n > 0 ? 1 : 0]); }\n');
    const loc = locateStore(p.spec, p.store.kilnDir, 'dev', 'orders');
    const events: string[] = [];
    const { result, stallMs } = await longestStall(() =>
      runOffThread({ target: { kind: 'store', loc }, changelog: changelogOf(p.spec, 'orders'), what: 'orders (dev)' }, { heartbeatMs: 500, onProgress: (e) => events.push(e.kind === 'running' ? `running ${e.n}/${e.m}` : `${e.kind} ${'n' in e ? `${e.n}/${e.m}` : ''}`) }),
    );
    assert.equal(result.status, 'fulfilled', result.status === 'rejected' ? String(result.reason) : '');
    assert.deepEqual((result as PromiseFulfilledResult<{ to: number }>).value.to, 5);
    assert.ok(stallMs < 200, `the event loop stalled ${Math.round(stallMs)} ms`);
    assert.deepEqual(events.filter((e) => !e.startsWith('running')), ['start 1/5', 'applied 1/5', 'start 2/5', 'applied 2/5', 'start 3/5', 'applied 3/5', 'start 4/5', 'applied 4/5', 'start 5/5', 'applied 5/5']);
    assert.ok(events.includes('running 5/5'), events.join(', '));
    // Errors come back as the KilnErrors they were.
    p.entry('0006_bad.sql', 'INSERT INTO no_such_table VALUES (1);\n');
    await assert.rejects(runOffThread({ target: { kind: 'store', loc }, changelog: changelogOf(p.spec, 'orders'), what: 'orders (dev)' }), (e: unknown) => e instanceof KilnError && e.code === 'DATA_FAILED' && /0006_bad\.sql failed and was rolled back/.test(e.message));
  } finally {
    p.cleanup();
  }
});
