import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError } from '../errors.js';
import { MEDIA, OciLayout } from './oci-layout.js';

function layout(t: { after: (fn: () => void) => void }): { oci: OciLayout; lock: string; desc: ReturnType<OciLayout['putArtifact']> } {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-lock-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  const oci = OciLayout.init(path.join(d, 'oci'));
  const b = oci.putBlob(Buffer.from('layer'));
  const desc = oci.putArtifact(MEDIA.appArtifact, [{ mediaType: MEDIA.layerTar, digest: b.digest, size: b.size }]);
  return { oci, lock: path.join(oci.dir, 'index.json.lock'), desc };
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('defect 12: a stale layout lock whose owner is dead is taken over at once', (t) => {
  const { oci, lock, desc } = layout(t);
  // What a `kiln app tag` killed with -9 while it held the index lock leaves: a fresh lock file.
  fs.writeFileSync(lock, JSON.stringify({ pid: deadPid() }));
  const started = Date.now();
  oci.setRef('app/api:1.0.0', desc);
  // The bound: not the 10 s wait for a live owner.
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
  assert.equal(oci.getRef('app/api:1.0.0')?.digest, desc.digest);
  assert.equal(fs.existsSync(lock), false, 'the lock is released afterwards');
});

test('defect 12: a layout lock held by a live process is a STORE_LOCKED error naming it, not a stack trace', (t) => {
  const { oci, lock, desc } = layout(t);
  const holder = process.ppid; // alive for the whole test, and not this process
  fs.writeFileSync(lock, JSON.stringify({ pid: holder }));
  oci.lockWaitMs = 100;
  assert.throws(
    () => oci.setRef('app/api:1.0.0', desc),
    (e: unknown) => e instanceof KilnError && e.code === 'STORE_LOCKED' && e.message.includes(`process ${holder}`) && /kill \d+/.test(e.hint ?? ''),
  );
  assert.equal(oci.getRef('app/api:1.0.0'), undefined);
  assert.ok(fs.existsSync(lock), "a live owner's lock is left alone");
});
