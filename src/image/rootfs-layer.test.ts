import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { indexTar } from './tar-index.js';
import { mergeLayers, writeRootfsLayer } from './rootfs-layer.js';
import { packDirectory } from './tar.js';
import { KilnError } from '../errors.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-rootfs-test-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A rootfs tree with owners, setuid, a hard link, a symlink and a device node. */
function makeTree(root: string): void {
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'dev'));
  fs.mkdirSync(path.join(root, 'home/user'), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/bin/su'), 'su binary');
  fs.chmodSync(path.join(root, 'usr/bin/su'), 0o4755);
  fs.writeFileSync(path.join(root, 'usr/bin/perl'), 'perl');
  fs.linkSync(path.join(root, 'usr/bin/perl'), path.join(root, 'usr/bin/perl5.36'));
  fs.symlinkSync('usr/bin', path.join(root, 'bin'));
  fs.writeFileSync(path.join(root, 'home/user/notes'), 'mine');
  fs.chownSync(path.join(root, 'home/user/notes'), 1000, 1000);
  spawnSync('mknod', [path.join(root, 'dev/null'), 'c', '1', '3']);
}

function listing(tarFile: string): string[] {
  const r = spawnSync('tar', ['-tvf', tarFile, '--numeric-owner'], { encoding: 'utf8' });
  return r.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
}

test('a rootfs tar from GNU tar becomes a layer that keeps owners, setuid bits and hard links and drops devices', async (t) => {
  const d = tmp(t);
  const tree = path.join(d, 'tree');
  makeTree(tree);
  // Two inputs with different entry order and tar dialect give the same layer bytes.
  spawnSync('tar', ['-cf', path.join(d, 'a.tar'), '-C', tree, '.']);
  spawnSync('tar', ['--format=gnu', '--sort=name', '-cf', path.join(d, 'b.tar'), '-C', tree, 'usr', 'home', 'dev', 'bin']);
  const a = writeRootfsLayer(mergeLayers([indexTar(path.join(d, 'a.tar'), 'a.tar')]), 'a', { outFile: path.join(d, 'a.layer') });
  const b = writeRootfsLayer(mergeLayers([indexTar(path.join(d, 'b.tar'), 'b.tar')]), 'b', { outFile: path.join(d, 'b.layer') });
  assert.equal(a.digest, b.digest);
  assert.equal(a.dropped, 1);
  const l = listing(a.path);
  assert.ok(l.some((x) => x.startsWith('-rwsr-xr-x 0/0') && x.endsWith('usr/bin/su')), l.join('\n'));
  assert.ok(l.some((x) => x.startsWith('-rw-r--r-- 1000/1000') && x.endsWith('home/user/notes')));
  assert.ok(l.some((x) => x.startsWith('h') && x.endsWith('usr/bin/perl5.36 link to usr/bin/perl')));
  assert.ok(!l.some((x) => x.includes('dev/null')));
  // Kiln's own rootfs packing of the same tree agrees on owners and links.
  const p = await packDirectory(tree, { rootfs: true, outFile: path.join(d, 'p.tar') });
  const pl = listing(p.path);
  assert.ok(pl.some((x) => x.startsWith('-rwsr-xr-x 0/0') && x.endsWith('usr/bin/su')));
  assert.ok(pl.some((x) => x.startsWith('h') && x.endsWith('usr/bin/perl5.36 link to usr/bin/perl')));
});

test('OCI whiteouts remove files and opaque directories of lower layers', (t) => {
  const d = tmp(t);
  const mk = (name: string, files: Record<string, string>): string => {
    const dir = path.join(d, name);
    for (const [f, c] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), c);
    }
    spawnSync('tar', ['-cf', dir + '.tar', '-C', dir, '.']);
    return dir + '.tar';
  };
  const l1 = mk('l1', { 'etc/a': '1', 'etc/b': '1', 'opt/x/y': '1', 'keep': '1' });
  const l2 = mk('l2', { 'etc/.wh.a': '', 'opt/x/.wh..wh..opq': '', 'opt/x/new': '2' });
  const tree = mergeLayers([indexTar(l1, 'l1'), indexTar(l2, 'l2')]);
  const names = [...tree.keys()].filter((n) => !n.endsWith('/')).sort();
  assert.deepEqual(names, ['etc/b', 'keep', 'opt/x/new']);
});

test('a truncated or corrupt rootfs tar is an INPUT_INVALID error naming the input', (t) => {
  const d = tmp(t);
  const tree = path.join(d, 'tree');
  makeTree(tree);
  const full = path.join(d, 'full.tar');
  spawnSync('tar', ['-cf', full, '-C', tree, '.']);
  const bytes = fs.readFileSync(full);
  const cut = path.join(d, 'cut.tar');
  fs.writeFileSync(cut, bytes.subarray(0, 1024 + 100));
  assert.throws(() => indexTar(cut, 'base.tar (os.bb.import)'), (e: unknown) => e instanceof KilnError && e.code === 'INPUT_INVALID' && /^base\.tar \(os\.bb\.import\): truncated/.test(e.message));
  const bad = Buffer.from(bytes);
  bad[0] = bad[0]! ^ 0xff;
  const corrupt = path.join(d, 'corrupt.tar');
  fs.writeFileSync(corrupt, bad);
  assert.throws(() => indexTar(corrupt, 'corrupt.tar'), /corrupt\.tar: not a valid tar archive/);
});
