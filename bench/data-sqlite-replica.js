#!/usr/bin/env node
// Replica of a SQLite store (copy of the snapshot blob, verified by hash, changelog applied,
// renamed into place) vs `cp` of the same file: the bound. Target: within 1.5x.
//   node bench/data-sqlite-replica.js            # 1 GB
//   KILN_BENCH_MB=64 node bench/data-sqlite-replica.js
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { makeDataProject } from '../dist/src/streams/data/testkit.js';
import { changelogOf, connectStore, createReplica, locateStore, migrateStore, snapshotStore } from '../dist/src/streams/data/index.js';

const MB = Number(process.env.KILN_BENCH_MB ?? 1024);
const RUNS = Number(process.env.KILN_BENCH_RUNS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const p = makeDataProject('  dev: {}\n  test: {}');
try {
  const src = locateStore(p.spec, p.store.kilnDir, 'dev', 'orders');
  const conn = await connectStore(src);
  await migrateStore(conn, changelogOf(p.spec, 'orders'), 'bench');
  await conn.close();
  const db = new BetterSqlite3(src.file);
  db.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, data BLOB)');
  const ins = db.prepare('INSERT INTO filler (data) VALUES (randomblob(8192))');
  const rows = Math.ceil((MB * 1024 * 1024) / 8300);
  db.transaction(() => { for (let i = 0; i < rows; i++) ins.run(); })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const snap = await snapshotStore(p.store, src, changelogOf(p.spec, 'orders'));
  const blob = p.store.oci.blobPath(snap.tag.digest);
  console.log(`store: ${(snap.tag.size / 1048576).toFixed(0)} MB, snapshot ${snap.ref}`);
  const cpTimes = [];
  const kilnTimes = [];
  const dest = locateStore(p.spec, p.store.kilnDir, 'test', 'orders');
  for (let i = 0; i < RUNS; i++) {
    const target = path.join(p.dir, 'cp-copy.db');
    let t = performance.now();
    const r = spawnSync('cp', [blob, target]);
    if (r.status !== 0) throw new Error('cp failed');
    cpTimes.push(performance.now() - t);
    fs.rmSync(target);
    t = performance.now();
    await createReplica(p.store, dest, changelogOf(p.spec, 'orders'), snap.tag, { replace: true });
    kilnTimes.push(performance.now() - t);
  }
  const cp = median(cpTimes);
  const kiln = median(kilnTimes);
  console.log(`cp (bound):     median ${cp.toFixed(0)} ms over ${RUNS} runs`);
  console.log(`kiln replica:   median ${kiln.toFixed(0)} ms over ${RUNS} runs`);
  console.log(`ratio kiln/cp:  ${(kiln / cp).toFixed(2)}x (target <= 1.5x)`);
} finally {
  p.cleanup();
}
