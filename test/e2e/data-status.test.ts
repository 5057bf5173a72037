// `kiln data status` is a read command: on a SQLite store that no deploy or migrate has made yet
// it says so (text and --json), exits 0, and creates nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeProject, type TestProject } from './lib/project.js';

let p: TestProject;
before(async () => {
  p = await makeProject();
  await p.kiln(['init']);
});
after(async () => {
  await p?.cleanup();
});

test('data status on a SQLite store not created yet: "not created yet", exit 0, no file made', async () => {
  const file = path.join(p.dir, '.kiln', 'data', 'dev', 'orders.db');
  const text = await p.kiln(['data', 'status', 'orders', '--env', 'dev']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /orders \(dev, sqlite .*orders\.db\): not created yet \(changelog head 0003\)/);
  assert.match(text.stdout, /pending {2}0001_create_orders\.sql/);
  const json = JSON.parse((await p.kiln(['data', 'status', 'orders', '--env', 'dev', '--json'])).stdout) as { created: boolean; position: number; head: number; pending: unknown[] };
  assert.deepEqual([json.created, json.position, json.head, json.pending.length], [false, 0, 3, 3]);
  assert.equal(fs.existsSync(file), false, 'status created the store');
  assert.equal(fs.existsSync(path.dirname(file)), false);
  // Once migrated, the same command reports it as created.
  await p.kiln(['data', 'migrate', 'orders', '--env', 'dev']);
  const after = JSON.parse((await p.kiln(['data', 'status', 'orders', '--env', 'dev', '--json'])).stdout) as { created: boolean; position: number };
  assert.deepEqual([after.created, after.position], [true, 3]);
});
