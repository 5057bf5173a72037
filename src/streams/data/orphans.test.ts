// What a process killed with -9 in the middle of a snapshot or a pg_dump/pg_restore leaves on
// disk (a half-written blob, a password file) is removed by the next one; a live owner's is kept.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { removeOrphanPassFiles } from './postgres.js';
import { removeOrphanIncoming } from './snapshot.js';
import { makeDataProject } from './testkit.js';

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a killed snapshot\'s incoming blob is removed by the next one; a live process\'s stays', () => {
  const p = makeDataProject('  dev: {}');
  try {
    const dir = path.join(p.store.oci.dir, 'blobs', 'sha256');
    const dead = path.join(dir, `.incoming.tmp-${deadPid()}-0badc0de`);
    const live = path.join(dir, `.incoming.tmp-${process.pid}-00c0ffee`);
    for (const f of [dead, live]) fs.writeFileSync(f, 'half a dump');
    const before = fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
    removeOrphanIncoming(p.store.oci);
    assert.equal(fs.existsSync(dead), false);
    assert.equal(fs.existsSync(live), true);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort(), before, 'blobs are never touched');
  } finally {
    p.cleanup();
  }
});

test('a killed tool run\'s password file is removed by the next one; a live process\'s stays', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-passfiles-'));
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = tmp;
  try {
    const dead = path.join(tmp, `kiln-pgpass-${deadPid()}-AbC123`);
    const live = path.join(tmp, `kiln-pgpass-${process.ppid}-XyZ789`);
    const other = path.join(tmp, 'kiln-pgpassive');
    for (const d of [dead, live, other]) {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'pgpass'), 'h:1:*:u:secret\n', { mode: 0o600 });
    }
    removeOrphanPassFiles();
    assert.deepEqual([dead, live, other].map((d) => fs.existsSync(d)), [false, true, true]);
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
