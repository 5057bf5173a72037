// Migration 9 (history-indexes.ts) on a store that already has history: it adds the indexes and
// leaves every row as it was; one that fails part-way leaves none of them (one transaction).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStateDb, schemaVersion } from './state-db.js';
import { MIGRATIONS } from './schema.js';
import { RuntimeState } from './runtime-state.js';
import { HISTORY_INDEXES_SQL } from './history-indexes.js';

// Found by its SQL: the lead may renumber it when branches with migrations of their own merge.
const VERSION = MIGRATIONS.find((m) => m.sql === HISTORY_INDEXES_SQL)!.version;
const BEFORE = MIGRATIONS.filter((m) => m.version < VERSION);
const NEW_INDEXES = ['deployments_env', 'events_env', 'events_subject', 'server_groups_state'];

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-history-indexes-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const indexes = (db: ReturnType<typeof openStateDb>): string[] =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (${NEW_INDEXES.map(() => '?').join(',')}) ORDER BY name`).all(...NEW_INDEXES) as Array<{ name: string }>).map((r) => r.name);

/** A store at the version before migration 9, holding a cluster, a destroyed and an active group, a deployment and events. */
function storeBefore(dir: string): void {
  const db = openStateDb(dir, BEFORE);
  const state = new RuntimeState(db);
  state.ensureCluster({ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', lb_port: 40100 });
  const id = state.startDeployment('dev', 'r2', 'deploy');
  for (const [build, s] of [[1, 'destroyed'], [2, 'active']] as const) {
    const name = `api-http-dev-v00${build}`;
    state.insertGroup({ name, cluster: 'api-http-dev', build, release: `r${build}`, deployment_id: id, replicas: 1, template: { project: 'shop', env: 'dev', service: 'api', role: 'http', cluster: 'api-http-dev', release: `r${build}`, appDigest: 'sha256:x', appDir: '/x', run: ['node'] } });
    state.setGroupState(name, s);
    state.addEvent({ deployment_id: id, env: 'dev', cluster: 'api-http-dev', subject: name, kind: 'group.created', message: `${name}: created` });
  }
  state.finishDeployment(id, true);
  db.close();
}

test('migration 9 adds the indexes to a store with history and keeps every row', (t) => {
  const d = tmp(t);
  storeBefore(d);
  const db = openStateDb(d);
  t.after(() => db.close());
  assert.equal(schemaVersion(db), MIGRATIONS.at(-1)!.version);
  assert.deepEqual(indexes(db), NEW_INDEXES);
  const state = new RuntimeState(db);
  assert.deepEqual(state.groups({ cluster: 'api-http-dev' }).map((g) => [g.name, g.state]), [['api-http-dev-v001', 'destroyed'], ['api-http-dev-v002', 'active']]);
  assert.deepEqual(state.groups({ states: ['active'] }).map((g) => g.name), ['api-http-dev-v002']);
  assert.equal(state.lastEventAbout('api-http-dev-v001', ['group.created'])?.message, 'api-http-dev-v001: created');
  assert.equal(state.lastDeployment('dev')?.state, 'succeeded');
});

test('migration 9 failing part-way (a name already taken) leaves the store at the version before with none of its indexes', (t) => {
  const d = tmp(t);
  storeBefore(d);
  const pre = openStateDb(d, BEFORE);
  // Taken by hand: the migration's third CREATE INDEX fails after the first two ran.
  pre.exec('CREATE INDEX events_env ON events(at)');
  pre.close();
  assert.throws(() => openStateDb(d), /events_env already exists/);
  const db = openStateDb(d, BEFORE);
  t.after(() => db.close());
  assert.equal(schemaVersion(db), BEFORE.at(-1)!.version);
  assert.deepEqual(indexes(db), ['events_env']);
});
