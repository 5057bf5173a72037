// The deploy lock in state.db: one holder per environment across control planes (two
// connections to one .kiln here), renewed while held, free once its owner dies or it expires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { processStartTime } from '../runtime/process/proc.js';
import { DeployLocks, lockOwnerId, ownerAlive } from './deploy-lock.js';
import { openStateDb } from './state-db.js';

function twoControlPlanes(t: { after(fn: () => void): void }): { a: DeployLocks; b: DeployLocks; clock: { now: number }; bOf(now: () => number): DeployLocks } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-lock-'));
  const dbA = openStateDb(dir);
  const dbB = openStateDb(dir);
  t.after(() => {
    dbA.close();
    dbB.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const clock = { now: Date.now() };
  return { a: new DeployLocks(dbA, () => clock.now), b: new DeployLocks(dbB, () => clock.now), clock, bOf: (now) => new DeployLocks(dbB, now) };
}

const refused = (fn: () => void): KilnError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KilnError && e.code === 'DEPLOY_IN_PROGRESS', String(e));
    return e;
  }
  assert.fail('the lock was not refused');
};

test('one holder per environment across two control planes; release frees it; other environments are independent', (t) => {
  const { a, b } = twoControlPlanes(t);
  const ownerA = lockOwnerId();
  const ownerB = lockOwnerId();
  assert.notEqual(ownerA, ownerB);
  a.acquire('prod', ownerA, 'deploy');
  const e = refused(() => b.acquire('prod', ownerB, 'deploy'));
  assert.match(e.message, /deploy of prod is in progress/);
  refused(() => a.acquire('prod', ownerA, 'deploy')); // the holder itself cannot start a second one
  b.acquire('dev', ownerB, 'deploy');
  b.release('prod', ownerB); // not its lock: nothing happens
  assert.equal(a.get('prod')?.owner, ownerA);
  a.release('prod', ownerA);
  b.acquire('prod', ownerB, 'rollback');
  assert.equal(a.get('prod')?.operation, 'rollback');
});

test('a lock whose time ran out is free; renewal keeps it; a lost lock cannot be renewed', (t) => {
  const { a, b, clock } = twoControlPlanes(t);
  const ownerA = lockOwnerId();
  a.acquire('prod', ownerA, 'deploy', 1000);
  clock.now += 900;
  assert.ok(a.renew('prod', ownerA, 1000));
  clock.now += 900;
  refused(() => b.acquire('prod', lockOwnerId(), 'deploy'));
  clock.now += 200; // 1100 ms after the renewal: expired (a hung holder)
  const ownerB = lockOwnerId();
  b.acquire('prod', ownerB, 'deploy');
  assert.equal(a.renew('prod', ownerA), false, 'the old holder learns it lost the lock');
  assert.equal(b.get('prod')?.owner, ownerB);
});

test('a lock left by a killed process is free at once, and clearStale removes it', async (t) => {
  const { a, b } = twoControlPlanes(t);
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const pid = child.pid!;
  const dead = `${pid}:${processStartTime(pid)}:abc123`;
  assert.ok(ownerAlive(dead));
  a.acquire('prod', dead, 'deploy');
  refused(() => b.acquire('prod', lockOwnerId(), 'deploy'));
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  assert.equal(ownerAlive(dead), false);
  assert.deepEqual(b.clearStale().map((l) => l.owner), [dead]);
  assert.equal(b.get('prod'), undefined);
  a.acquire('prod', dead, 'deploy'); // and acquire takes a dead owner's lock by itself too
  b.acquire('prod', lockOwnerId(), 'deploy');
});

test('hold() renews while the work runs and releases after it, also when it fails', async (t) => {
  const { bOf } = twoControlPlanes(t);
  const b = bOf(Date.now);
  const owner = lockOwnerId();
  let during: KilnError | undefined;
  await b.hold('prod', owner, 'deploy', async () => {
    await new Promise((r) => setTimeout(r, 250)); // > the 60 ms lifetime: only renewal keeps it
    during = refused(() => bOf(Date.now).acquire('prod', lockOwnerId(), 'deploy'));
  }, 60);
  assert.ok(during);
  assert.equal(b.get('prod'), undefined, 'released');
  await assert.rejects(b.hold('prod', owner, 'deploy', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(b.get('prod'), undefined, 'released after a failure');
});

test("an env operation's row outlives its dead owner until it is finished: clearStale keeps what it is told to, list and isStale find it", async (t) => {
  const { a, b } = twoControlPlanes(t);
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const pid = child.pid!;
  const dead = `${pid}:${processStartTime(pid)}:abc123`;
  a.acquire('create:test-r9', dead, 'env create');
  a.acquire('prod', dead, 'deploy');
  const e = refused(() => b.acquire('create:test-r9', lockOwnerId(), 'env create'));
  assert.match(e.message, new RegExp(`locked by pid ${pid} \\(env create\\) since \\d{4}-`));
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  const cleared = b.clearStale((r) => r.env.startsWith('create:'));
  assert.deepEqual(cleared.map((l) => l.env), ['prod']);
  const kept = b.list('create:');
  assert.deepEqual(kept.map((l) => [l.env, l.operation]), [['create:test-r9', 'env create']]);
  assert.equal(b.isStale(kept[0]!), true);
  assert.deepEqual(b.list('rebuild:'), []);
});
