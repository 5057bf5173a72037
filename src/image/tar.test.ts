import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { packDirectory, extractTar, removeReadOnlyTree, sourceDateEpoch } from './tar.js';
import { encodeHeader, padding, BLOCK, type TarHeader } from './tar-header.js';
import { KilnError } from '../errors.js';

const LONG_DIR = 'a-rather-long-directory-name-that-goes-on-and-on-for-quite-a-while';
const LONG_FILE = 'and-a-file-name-that-is-also-long-enough-to-need-the-ustar-prefix-or-pax.txt';

function tmp(t: { after: (fn: () => void) => void }, name: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-tar-${name}-`));
  t.after(() => removeReadOnlyTree(d));
  return d;
}

/** Build the same tree in a given creation order, umask and mtime. */
function makeTree(root: string, order: 'forward' | 'reverse', umask: number, mtime: number): void {
  const old = process.umask(umask);
  try {
    const steps: Array<() => void> = [
      () => fs.mkdirSync(path.join(root, 'lib', 'deep'), { recursive: true }),
      () => fs.writeFileSync(path.join(root, 'server.js'), 'console.log("hi")\n'),
      () => fs.writeFileSync(path.join(root, 'lib', 'deep', 'util.js'), 'export const x = 1;\n'),
      () => {
        fs.writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho run\n');
        fs.chmodSync(path.join(root, 'run.sh'), 0o700 & ~umask | 0o100);
      },
      () => fs.symlinkSync('lib/deep/util.js', path.join(root, 'util-link.js')),
      () => fs.mkdirSync(path.join(root, 'empty')),
      () => {
        fs.mkdirSync(path.join(root, LONG_DIR, LONG_DIR), { recursive: true });
        fs.writeFileSync(path.join(root, LONG_DIR, LONG_DIR, LONG_FILE), 'long\n');
      },
      () => fs.writeFileSync(path.join(root, 'debug.log'), 'noise'),
    ];
    // Parents must exist before children, so "reverse" reverses the independent steps only.
    const ordered = order === 'forward' ? steps : [steps[0]!, ...steps.slice(1).reverse()];
    for (const s of ordered) s();
  } finally {
    process.umask(old);
  }
  const touch = (p: string): void => {
    fs.lutimesSync(p, mtime, mtime);
    if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) touch(path.join(p, n));
  };
  touch(root);
}

test('packing the same tree twice gives the same digest whatever the mtimes, umask and creation order', async (t) => {
  const a = tmp(t, 'a');
  const b = tmp(t, 'b');
  makeTree(a, 'forward', 0o022, 1_000_000);
  makeTree(b, 'reverse', 0o077, 2_000_000);
  const pa = await packDirectory(a, { prefix: 'app/', exclude: ['*.log'] });
  const pb = await packDirectory(b, { prefix: 'app/', exclude: ['*.log'] });
  t.after(() => fs.rmSync(pa.path, { force: true }));
  t.after(() => fs.rmSync(pb.path, { force: true }));
  assert.match(pa.digest, /^sha256:[a-f0-9]{64}$/);
  assert.equal(pa.digest, pb.digest);
  assert.equal(pa.size, fs.statSync(pa.path).size);
  assert.deepEqual(fs.readFileSync(pa.path), fs.readFileSync(pb.path));
  assert.equal(pa.files, 4);
});

test('GNU tar lists the entries sorted, with fixed owner, mode and mtime', async (t) => {
  const a = tmp(t, 'list');
  makeTree(a, 'forward', 0o022, 1_500_000);
  const packed = await packDirectory(a, { prefix: 'app/', exclude: ['*.log'] });
  t.after(() => fs.rmSync(packed.path, { force: true }));
  const r = spawnSync('tar', ['--numeric-owner', '-tvf', packed.path], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const rows = r.stdout.trim().split('\n').map((l) => {
    const f = l.split(/\s+/);
    return { mode: f[0], owner: f[1], date: `${f[3]} ${f[4]}`, name: f.slice(5).join(' ') };
  });
  const long = `app/${LONG_DIR}/${LONG_DIR}/${LONG_FILE}`;
  assert.deepEqual(rows.map((x) => x.name), [
    'app/',
    `app/${LONG_DIR}/`,
    `app/${LONG_DIR}/${LONG_DIR}/`,
    long,
    'app/empty/',
    'app/lib/',
    'app/lib/deep/',
    'app/lib/deep/util.js',
    'app/run.sh',
    'app/server.js',
    'app/util-link.js -> lib/deep/util.js',
  ]);
  assert.ok(long.length > 155, 'the long name needs a pax header');
  for (const row of rows) {
    assert.equal(row.owner, '0/0');
    assert.equal(row.date, '1970-01-01 00:00');
  }
  const mode = (n: string): string | undefined => rows.find((x) => x.name.startsWith(n))?.mode;
  assert.equal(mode('app/lib/'), 'drwxr-xr-x');
  assert.equal(mode('app/run.sh'), '-rwxr-xr-x');
  assert.equal(mode('app/server.js'), '-rw-r--r--');
  assert.equal(mode('app/util-link.js'), 'lrwxrwxrwx');
});

test('SOURCE_DATE_EPOCH sets the mtime of every entry', async (t) => {
  const a = tmp(t, 'sde');
  fs.writeFileSync(path.join(a, 'f'), 'x');
  const before = process.env['SOURCE_DATE_EPOCH'];
  process.env['SOURCE_DATE_EPOCH'] = '1700000000';
  t.after(() => {
    if (before === undefined) delete process.env['SOURCE_DATE_EPOCH'];
    else process.env['SOURCE_DATE_EPOCH'] = before;
  });
  const p = await packDirectory(a, { prefix: 'app/' });
  t.after(() => fs.rmSync(p.path, { force: true }));
  const r = spawnSync('tar', ['-tvf', p.path], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.match(r.stdout, /2023-11-14 22:13 app\/f/);
  assert.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: 'yesterday' }), (e: unknown) => e instanceof KilnError && e.code === 'USAGE');
});

test('extract round-trips content, modes and symlinks, read-only when asked; GNU tar agrees', async (t) => {
  const a = tmp(t, 'src');
  makeTree(a, 'forward', 0o022, 1_000_000);
  const packed = await packDirectory(a, { prefix: 'app/', exclude: ['debug.log'] });
  t.after(() => fs.rmSync(packed.path, { force: true }));
  const dest = tmp(t, 'dest');
  const res = await extractTar(packed.path, dest, { stripPrefix: 'app/', readOnly: true });
  assert.deepEqual(res, { files: 4, dirs: 5, symlinks: 1 });
  assert.equal(fs.readFileSync(path.join(dest, 'server.js'), 'utf8'), 'console.log("hi")\n');
  assert.equal(fs.readFileSync(path.join(dest, LONG_DIR, LONG_DIR, LONG_FILE), 'utf8'), 'long\n');
  assert.equal(fs.readlinkSync(path.join(dest, 'util-link.js')), 'lib/deep/util.js');
  assert.equal(fs.readFileSync(path.join(dest, 'util-link.js'), 'utf8'), 'export const x = 1;\n');
  assert.equal(fs.existsSync(path.join(dest, 'debug.log')), false);
  assert.equal(fs.statSync(path.join(dest, 'run.sh')).mode & 0o777, 0o555);
  assert.equal(fs.statSync(path.join(dest, 'server.js')).mode & 0o777, 0o444);
  assert.equal(fs.statSync(path.join(dest, 'lib')).mode & 0o777, 0o555);
  assert.ok(fs.statSync(path.join(dest, 'empty')).isDirectory());

  // Writable extraction keeps the archive's modes, and the Buffer form gives the same tree.
  const dest2 = tmp(t, 'dest2');
  await extractTar(fs.readFileSync(packed.path), dest2, { stripPrefix: 'app/' });
  assert.equal(fs.statSync(path.join(dest2, 'run.sh')).mode & 0o777, 0o755);
  assert.equal(fs.statSync(path.join(dest2, 'server.js')).mode & 0o777, 0o644);

  const gnu = tmp(t, 'gnu');
  const r = spawnSync('tar', ['-xf', packed.path, '-C', gnu]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.equal(fs.readFileSync(path.join(gnu, 'app', LONG_DIR, LONG_DIR, LONG_FILE), 'utf8'), 'long\n');
  assert.equal(fs.readFileSync(path.join(gnu, 'app', 'run.sh'), 'utf8'), fs.readFileSync(path.join(dest, 'run.sh'), 'utf8'));
});

/** A tar made by hand, to say things our packer never would. */
function hostileTar(entries: Array<Partial<TarHeader> & { name: string; body?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'file';
    parts.push(encodeHeader({ name: e.name, type, mode: e.mode ?? 0o644, size: type === 'file' ? body.length : 0, mtime: 0, linkname: e.linkname ?? '' }));
    if (type === 'file') parts.push(body, Buffer.alloc(padding(body.length)));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

test('hostile archives are refused and write nothing outside the destination', async (t) => {
  // dest sits two levels down so that every escape ('../../x') lands inside base, where the test can
  // see it, and never in the shared temp directory (where another program may own an 'x').
  const base = tmp(t, 'hostile');
  const dest = path.join(base, 'inner', 'dest');
  const cases: Array<{ why: RegExp; tar: Buffer }> = [
    { why: /contains "\.\."/, tar: hostileTar([{ name: 'app/../../x', body: 'pwn' }]) },
    { why: /absolute path/, tar: hostileTar([{ name: path.join(base, 'abs'), body: 'pwn' }]) },
    { why: /points outside/, tar: hostileTar([{ name: 'app/l', type: 'symlink', linkname: '../../x' }]) },
    { why: /is absolute/, tar: hostileTar([{ name: 'app/l', type: 'symlink', linkname: '/etc' }]) },
    {
      why: /through the symlink/,
      tar: hostileTar([
        { name: 'app/', type: 'dir', mode: 0o755 },
        { name: 'app/l', type: 'symlink', linkname: '.' },
        { name: 'app/l/x', type: 'symlink', linkname: '..' },
      ]),
    },
    { why: /outside app\//, tar: hostileTar([{ name: 'other/x', body: 'pwn' }]) },
  ];
  for (const c of cases) {
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    await assert.rejects(extractTar(c.tar, dest, { stripPrefix: 'app/' }), (e: unknown) => {
      assert.ok(e instanceof KilnError, String(e));
      assert.equal(e.code, 'CORRUPT_STORE');
      assert.match(e.message, c.why);
      return true;
    });
  }
  assert.deepEqual(fs.readdirSync(base).sort(), ['inner']);
  assert.deepEqual(fs.readdirSync(path.join(base, 'inner')).sort(), ['dest']);
});

test('exclude patterns: bare names match at any depth, paths with / from the root, ** across directories', async (t) => {
  const a = tmp(t, 'ex');
  for (const f of ['keep.js', 'x.log', 'sub/y.log', 'node_modules/m.js', 'sub/node_modules/n.js', 'dist/cache/c', 'dist/ok', 'deep/a/b/t.tmp']) {
    fs.mkdirSync(path.dirname(path.join(a, f)), { recursive: true });
    fs.writeFileSync(path.join(a, f), f);
  }
  const p = await packDirectory(a, { exclude: ['*.log', 'node_modules', 'dist/cache/', 'deep/**/*.tmp'] });
  t.after(() => fs.rmSync(p.path, { force: true }));
  const r = spawnSync('tar', ['-tf', p.path], { encoding: 'utf8' });
  assert.deepEqual(r.stdout.trim().split('\n'), ['deep/', 'deep/a/', 'deep/a/b/', 'dist/', 'dist/ok', 'keep.js', 'sub/']);
});
