// Modes of .kiln (modes.ts) and changing owners without following what a server planted
// (owned-paths.ts). Needs root (as CI runs): owners are changed to other uids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { initKilnDir, openStore } from './init.js';
import { secureStoreModes } from './modes.js';
import { ensureDirChain, firstClosedAncestor, ownEntries } from './owned-paths.js';
import { KilnError } from '../errors.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-modes-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const mode = (p: string): number => fs.lstatSync(p).mode & 0o7777;
const octal = (m: number): string => m.toString(8).padStart(4, '0');

/** Every entry under `dir` that anyone but its owner (and, with `group`, that group) may use. */
function openToOthers(dir: string, group: number | null): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      const others = st.mode & 0o007;
      const grp = group !== null && st.gid === group ? 0 : st.mode & 0o070;
      if (!st.isSymbolicLink() && (others || grp)) out.push(`${path.relative(dir, p)} ${octal(st.mode & 0o777)}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

test('kiln init: .kiln 0700 and nothing in it open to other users (state.db, oci blobs, run/token)', (t) => {
  const d = tmp(t);
  const old = process.umask(0o022); // as a shell leaves it: the store must not depend on the umask
  try {
    const { kilnDir } = initKilnDir(d);
    assert.equal(mode(kilnDir), 0o700);
    for (const f of ['state.db', '.gitignore', 'run/token', 'oci/index.json']) assert.equal(mode(path.join(kilnDir, f)) & 0o077, 0, `${f} is ${octal(mode(path.join(kilnDir, f)))}`);
    for (const b of fs.readdirSync(path.join(kilnDir, 'oci', 'blobs', 'sha256'))) assert.equal(mode(path.join(kilnDir, 'oci', 'blobs', 'sha256', b)), 0o400, `blob ${b}`);
    assert.deepEqual(openToOthers(kilnDir, null), []);
  } finally {
    process.umask(old);
  }
});

test('a store an older Kiln left 0755/0644 is closed by the next command that opens it', (t) => {
  const d = tmp(t);
  const { kilnDir } = initKilnDir(d);
  for (const p of ['', 'oci', 'logs', 'run']) fs.chmodSync(path.join(kilnDir, p), 0o755);
  for (const f of ['state.db', '.gitignore']) fs.chmodSync(path.join(kilnDir, f), 0o644);
  fs.writeFileSync(path.join(kilnDir, 'logs', 'proxy.log'), 'x', { mode: 0o644 });
  openStore(d).db.close();
  assert.deepEqual(openToOthers(kilnDir, null).filter((e) => !e.startsWith('oci/blobs/')), []);
});

test("with the servers' group: .kiln and the gates 0710 for that group, private parts 0700/0600", (t) => {
  assert.equal(process.getuid?.(), 0, 'this test changes groups: it runs as root (as CI does)');
  const d = tmp(t);
  const { kilnDir } = initKilnDir(d);
  for (const g of ['secrets', 'data', 'logs', 'servers', 'apps']) fs.mkdirSync(path.join(kilnDir, g), { recursive: true });
  const group = 0x70000123;
  secureStoreModes(kilnDir, group);
  const st = fs.statSync(kilnDir);
  assert.deepEqual([st.gid, octal(st.mode & 0o7777)], [group, '0710']);
  for (const g of ['secrets', 'data', 'logs', 'servers']) assert.deepEqual([fs.statSync(path.join(kilnDir, g)).gid, octal(mode(path.join(kilnDir, g)))], [group, '0710'], g);
  assert.equal(mode(path.join(kilnDir, 'apps')), 0o750);
  for (const p of ['run', 'oci']) assert.deepEqual([fs.statSync(path.join(kilnDir, p)).gid, mode(path.join(kilnDir, p))], [0, 0o700], p);
  assert.deepEqual([fs.statSync(path.join(kilnDir, 'state.db')).gid, mode(path.join(kilnDir, 'state.db'))], [0, 0o600]);
  assert.deepEqual(openToOthers(kilnDir, group), []);
});

test('ensureDirChain makes and fixes each level through O_NOFOLLOW, and refuses a planted link', (t) => {
  assert.equal(process.getuid?.(), 0, 'this test changes owners: it runs as root (as CI does)');
  const d = tmp(t);
  const uid = 0x70000200;
  const dir = ensureDirChain(d, ['logs', 'dev', 'web-http-dev'], (i) => (i === 2 ? { uid, gid: uid, mode: 0o700 } : { uid: 0, gid: uid, mode: 0o710 }));
  assert.deepEqual([fs.statSync(dir).uid, mode(dir)], [uid, 0o700]);
  assert.deepEqual([fs.statSync(path.join(d, 'logs')).uid, mode(path.join(d, 'logs'))], [0, 0o710]);
  // A server owning web-http-dev plants a link where Kiln makes a directory of its own.
  const victim = path.join(d, 'victim');
  fs.mkdirSync(victim, { mode: 0o700 });
  fs.symlinkSync(victim, path.join(dir, 'srv'));
  assert.throws(
    () => ensureDirChain(d, ['logs', 'dev', 'web-http-dev', 'srv'], () => ({ uid, gid: uid, mode: 0o777 })),
    (e: unknown) => e instanceof KilnError && e.code === 'ISOLATION_UNAVAILABLE' && /symbolic link/.test(e.message),
  );
  assert.deepEqual([fs.statSync(victim).uid, mode(victim)], [0, 0o700], 'the link target is untouched');
});

test('ownEntries owns regular files and skips links and FIFOs without blocking or changing their targets', (t) => {
  assert.equal(process.getuid?.(), 0, 'this test changes owners: it runs as root (as CI does)');
  const d = tmp(t);
  const dir = path.join(d, 'secrets');
  fs.mkdirSync(path.join(dir, 'v2'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'token'), 'x', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'v2', 'url'), 'y', { mode: 0o600 });
  const target = path.join(d, 'shadow');
  fs.writeFileSync(target, 'z', { mode: 0o600 });
  fs.symlinkSync(target, path.join(dir, 'link'));
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  const uid = 0x70000300;
  ownEntries(dir, { uid, gid: uid, mode: 0o400 }, { uid: 0, gid: uid, mode: 0o710 });
  assert.deepEqual([fs.statSync(path.join(dir, 'token')).uid, mode(path.join(dir, 'token'))], [uid, 0o400]);
  assert.deepEqual([fs.statSync(path.join(dir, 'v2', 'url')).uid, mode(path.join(dir, 'v2', 'url'))], [uid, 0o400], 'subdirectories are walked');
  assert.deepEqual([fs.statSync(path.join(dir, 'v2')).gid, mode(path.join(dir, 'v2'))], [uid, 0o710]);
  assert.deepEqual([fs.statSync(target).uid, mode(target)], [0, 0o600], 'a link is not followed');
  assert.equal(fs.statSync(path.join(dir, 'fifo')).uid, 0, 'a FIFO is skipped');
});

test('firstClosedAncestor names the first directory above that others cannot pass through', (t) => {
  const d = tmp(t);
  fs.mkdirSync(path.join(d, 'a', 'b', '.kiln'), { recursive: true });
  fs.chmodSync(d, 0o711);
  fs.chmodSync(path.join(d, 'a'), 0o750);
  fs.chmodSync(path.join(d, 'a', 'b'), 0o755);
  assert.deepEqual(firstClosedAncestor(path.join(d, 'a', 'b', '.kiln')), { dir: path.join(d, 'a'), mode: 0o750 });
  fs.chmodSync(path.join(d, 'a'), 0o751);
  assert.equal(firstClosedAncestor(path.join(d, 'a', 'b', '.kiln')), null);
});
