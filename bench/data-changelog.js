#!/usr/bin/env node
// A changelog of many small entries applied (each its own transaction + history row): entries/s.
// SQLite always; PostgreSQL too when its server binaries are installed (a private cluster).
//   node bench/data-changelog.js         # 1,000 entries
//   KILN_BENCH_ENTRIES=200 node bench/data-changelog.js
import fs from 'node:fs';
import { makeDataProject } from '../dist/src/streams/data/testkit.js';
import { changelogOf, connectStore, locateStore, migrateStore } from '../dist/src/streams/data/index.js';
import { startPostgres } from '../dist/test/support/postgres.js';

const N = Number(process.env.KILN_BENCH_ENTRIES ?? 1000);
const entries = { '0001_create.sql': 'CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\n' };
for (let i = 2; i <= N; i++) entries[`${String(i).padStart(4, '0')}_step.sql`] = `INSERT INTO counters (id, n) VALUES (${i}, ${i * 7});\n`;

async function run(label, p, env) {
  const loc = locateStore(p.spec, p.store.kilnDir, env, 'orders');
  const conn = await connectStore(loc);
  const t = performance.now();
  const r = await migrateStore(conn, changelogOf(p.spec, 'orders'), 'bench');
  const ms = performance.now() - t;
  await conn.close();
  console.log(`${label}: ${r.applied.length} entries in ${ms.toFixed(0)} ms = ${(r.applied.length / (ms / 1000)).toFixed(0)} entries/s`);
}

const p = makeDataProject('  dev: {}\n  pg: { data: { orders: { engine: postgres, url: "${secret.url}" } } }', entries);
try {
  await run('sqlite  ', p, 'dev');
  if (fs.existsSync('/usr/lib/postgresql')) {
    const pg = await startPostgres();
    try {
      pg.createDatabase('bench');
      p.secret('pg', 'url', pg.url('bench'));
      await run('postgres', p, 'pg');
    } finally {
      pg.stop();
    }
  }
} finally {
  p.cleanup();
}
