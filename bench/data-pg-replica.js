#!/usr/bin/env node
// PostgreSQL replica of a database: template copy (CREATE DATABASE … TEMPLATE … STRATEGY
// FILE_COPY of a restored snapshot) vs dump/restore (pg_restore of the snapshot each time), in
// one run on a private cluster (Debian's postgresql package). The first template replica pays
// one restore to make the template; the figures below are for the replicas after it.
//   node bench/data-pg-replica.js            # about 1 GB
//   KILN_BENCH_MB=100 node bench/data-pg-replica.js
import { makeDataProject } from '../dist/src/streams/data/testkit.js';
import { changelogOf, connectStore, createReplica, locateStore, migrateStore, snapshotStore } from '../dist/src/streams/data/index.js';
import { startPostgres } from '../dist/test/support/postgres.js';

const MB = Number(process.env.KILN_BENCH_MB ?? 1024);
const RUNS = Number(process.env.KILN_BENCH_RUNS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const binding = (s) => `{ data: { orders: { engine: postgres, url: "\${secret.${s}}" } } }`;

const pg = await startPostgres();
const p = makeDataProject(`  prod: ${binding('prod')}\n  test: ${binding('test')}`);
try {
  pg.createDatabase('bench_prod');
  p.secret('prod', 'prod', pg.url('bench_prod'));
  p.secret('test', 'test', pg.url('bench_test'));
  const src = locateStore(p.spec, p.store.kilnDir, 'prod', 'orders');
  const conn = await connectStore(src);
  await migrateStore(conn, changelogOf(p.spec, 'orders'), 'bench');
  // ~1 KB rows of incompressible-ish text plus an index: what restore has to rebuild.
  await conn.exec('CREATE TABLE filler (id BIGSERIAL PRIMARY KEY, data TEXT NOT NULL)');
  const rows = Math.ceil((MB * 1024 * 1024) / 1150);
  for (let done = 0; done < rows; done += 100_000) {
    const n = Math.min(100_000, rows - done);
    await conn.exec(`INSERT INTO filler (data) SELECT string_agg(md5(random()::text), '') FROM generate_series(1, ${n} * 32) g GROUP BY g % ${n}`);
  }
  const size = await conn.query("SELECT pg_database_size('bench_prod') AS s");
  await conn.close();
  console.log(`database: ${(Number(size[0].s) / 1048576).toFixed(0)} MB`);
  let t = performance.now();
  const snap = await snapshotStore(p.store, src, changelogOf(p.spec, 'orders'));
  console.log(`snapshot (pg_dump -Fc): ${(performance.now() - t).toFixed(0)} ms, ${(snap.tag.size / 1048576).toFixed(0)} MB blob`);
  const dest = locateStore(p.spec, p.store.kilnDir, 'test', 'orders');
  const times = { restore: [], template: [] };
  t = performance.now();
  await createReplica(p.store, dest, changelogOf(p.spec, 'orders'), snap.tag, { replace: true, pgStrategy: 'template' });
  console.log(`first template replica (restore into the template, then copy): ${(performance.now() - t).toFixed(0)} ms`);
  for (let i = 0; i < RUNS; i++) {
    for (const strategy of ['restore', 'template']) {
      t = performance.now();
      await createReplica(p.store, dest, changelogOf(p.spec, 'orders'), snap.tag, { replace: true, pgStrategy: strategy });
      times[strategy].push(performance.now() - t);
    }
  }
  const r = median(times.restore);
  const c = median(times.template);
  console.log(`dump/restore (pg_restore --jobs=2): median ${r.toFixed(0)} ms over ${RUNS} runs`);
  console.log(`template copy (FILE_COPY):          median ${c.toFixed(0)} ms over ${RUNS} runs`);
  console.log(`ratio restore/template: ${(r / c).toFixed(2)}x`);
} finally {
  p.cleanup();
  pg.stop();
}
