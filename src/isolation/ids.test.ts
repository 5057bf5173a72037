// uid/gid allocation (ids.ts, registry.ts): stable per (store, subject), never a number the
// machine or another store uses, recorded in state.db, and given up only by stores that are gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStateDb } from '../store/state-db.js';
import { IsolationIdTable } from '../store/isolation-ids.js';
import { allocateId, firstCandidate, ID_BASE, ID_SPAN } from './ids.js';
import { IdRegistry } from './registry.js';
import { readSystemIds, type SystemIds } from './system-ids.js';

function tmp(t: { after: (fn: () => void) => void }, prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A store (its .kiln with a state.db) and its table of numbers. */
function store(t: { after: (fn: () => void) => void }): { kilnDir: string; table: IsolationIdTable } {
  const kilnDir = path.join(tmp(t, 'kiln-ids-store-'), '.kiln');
  fs.mkdirSync(kilnDir);
  const db = openStateDb(kilnDir);
  t.after(() => db.close());
  return { kilnDir, table: new IsolationIdTable(db) };
}

const machine = (taken: number[] = [], unmappable: number[] = [], inUse: number[] = []): (() => SystemIds) => () => ({
  taken: (id) => taken.includes(id),
  mappable: (id) => !unmappable.includes(id),
  inUse: new Set(inUse),
});

test('a subject gets one number in the range, the same on every call and after a restart', (t) => {
  const s = store(t);
  const registry = new IdRegistry(tmp(t, 'kiln-ids-reg-'));
  const deps = { table: s.table, registry, system: machine() };
  const dev = allocateId(deps, { store: s.kilnDir, subject: 'env:dev' });
  assert.ok(dev >= ID_BASE && dev < ID_BASE + ID_SPAN && dev < 2 ** 31, `${dev} is in the range, below 2^31`);
  assert.equal(dev, firstCandidate({ store: s.kilnDir, subject: 'env:dev' }), 'a free first candidate is taken');
  assert.equal(allocateId(deps, { store: s.kilnDir, subject: 'env:dev' }), dev);
  assert.equal(s.table.get('env:dev'), dev, 'recorded in state.db');
  const prod = allocateId(deps, { store: s.kilnDir, subject: 'env:prod' });
  assert.notEqual(prod, dev);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(registry.dir, String(dev)), 'utf8')).subject, 'env:dev');
  assert.equal(fs.statSync(registry.dir).mode & 0o777, 0o700, 'the registry is root-only');
});

test('numbers the machine uses, cannot map or another store claimed are skipped', (t) => {
  const a = store(t);
  const b = store(t);
  const registry = new IdRegistry(tmp(t, 'kiln-ids-reg-'));
  const first = firstCandidate({ store: a.kilnDir, subject: 'env:dev' });
  const next = (n: number): number => ID_BASE + ((n - ID_BASE + 1) % ID_SPAN);
  // The first candidate is an account's uid, the second unmappable, the third held by store b.
  const second = next(first);
  const third = next(second);
  assert.ok(registry.claim(third, { store: b.kilnDir, subject: 'env:x' }));
  const got = allocateId({ table: a.table, registry, system: machine([first], [second]) }, { store: a.kilnDir, subject: 'env:dev' });
  assert.equal(got, next(third));
});

test('two stores with the same environment names never share a number', (t) => {
  const registry = new IdRegistry(tmp(t, 'kiln-ids-reg-'));
  const seen = new Map<number, string>();
  for (let i = 0; i < 20; i++) {
    const s = store(t);
    for (const subject of ['group', 'build', 'env:dev', 'env:prod']) {
      const id = allocateId({ table: s.table, registry, system: machine() }, { store: s.kilnDir, subject });
      assert.ok(!seen.has(id), `${id} given to ${subject} of store ${i} and to ${seen.get(id)}`);
      seen.set(id, `${subject} of store ${i}`);
    }
  }
});

test("a recorded number another store holds now is given up for a new one; the other's claim stays", (t) => {
  const a = store(t);
  const b = store(t);
  const registry = new IdRegistry(tmp(t, 'kiln-ids-reg-'));
  const old = allocateId({ table: a.table, registry, system: machine() }, { store: a.kilnDir, subject: 'env:dev' });
  // The registry was wiped and store b claimed that number first.
  fs.rmSync(path.join(registry.dir, String(old)));
  assert.ok(registry.claim(old, { store: b.kilnDir, subject: 'env:dev' }));
  const now = allocateId({ table: a.table, registry, system: machine() }, { store: a.kilnDir, subject: 'env:dev' });
  assert.notEqual(now, old);
  assert.equal(a.table.get('env:dev'), now);
  assert.deepEqual(registry.read(old), { store: b.kilnDir, subject: 'env:dev' });
});

test('the sweep frees claims of stores that are gone, unless a process still runs as the number', (t) => {
  const registry = new IdRegistry(tmp(t, 'kiln-ids-reg-'));
  const live = store(t);
  const gone = path.join(os.tmpdir(), `kiln-ids-gone-${process.pid}`, '.kiln');
  assert.ok(registry.claim(ID_BASE + 1, { store: live.kilnDir, subject: 'env:dev' }));
  assert.ok(registry.claim(ID_BASE + 2, { store: gone, subject: 'env:dev' }));
  assert.ok(registry.claim(ID_BASE + 3, { store: gone, subject: 'env:prod' }));
  assert.equal(registry.sweep(new Set(), Date.now()), 0, 'young claims stay (a store may be being made)');
  const later = Date.now() + 60 * 60_000;
  assert.equal(registry.sweep(new Set([ID_BASE + 3]), later), 1);
  assert.notEqual(registry.read(ID_BASE + 1), null, "a live store's claim stays");
  assert.equal(registry.read(ID_BASE + 2), null, "a gone store's claim is freed");
  assert.notEqual(registry.read(ID_BASE + 3), null, 'a number a live process runs as stays claimed');
});

test('a claim is exclusive: the second owner is refused, the first owner may claim again', (t) => {
  const registry = new IdRegistry(tmp(t, 'kiln-ids-reg-'));
  const one = { store: '/a/.kiln', subject: 'env:dev' };
  assert.equal(registry.claim(ID_BASE, one), true);
  assert.equal(registry.claim(ID_BASE, one), true);
  assert.equal(registry.claim(ID_BASE, { store: '/b/.kiln', subject: 'env:dev' }), false);
  registry.release(ID_BASE, { store: '/b/.kiln', subject: 'env:dev' });
  assert.deepEqual(registry.read(ID_BASE), one, 'only the holder releases');
  assert.deepEqual(fs.readdirSync(registry.dir), [String(ID_BASE)], 'no temp files left');
});

test("this machine's accounts and its own processes' ids count as taken", () => {
  const sys = readSystemIds();
  assert.ok(sys.taken(0), 'root');
  assert.ok(sys.taken(process.getuid!()), 'this process');
  assert.ok(sys.inUse.has(process.getuid!()));
  assert.ok(sys.mappable(ID_BASE), 'the range is mappable here');
});
