import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError } from '../../errors.js';
import { indexTar } from '../../image/tar-index.js';
import { listTags, resolveTag } from '../app/tags.js';
import { buildOs, diffBom, mmdebstrapCommand, osTagSource, readBom, resolveSources } from './index.js';
import { makeImageProject, makeRootfsTar } from './testkit.js';

function noTags(p: { store: { db: Parameters<typeof listTags>[0] } }, stream = 'os/bb'): void {
  assert.equal(listTags(p.store.db, stream).length, 0, 'no tag may be created');
}

test('importing a rootfs tar tags os/<base>:<date>.<n> with its packages; unchanged inputs are a cache hit', async (t) => {
  const p = await makeImageProject({ dpkg: { busybox: '1:1.35.0-4', libc6: '2.36-9' } });
  t.after(() => p.cleanup());
  const a = await buildOs(p.store, p.spec, 'bb');
  assert.equal(a.created, true);
  assert.match(a.tag.tag, /^\d{4}\.\d{2}\.\d{2}\.1$/);
  assert.equal(a.packages, 2);
  assert.equal(p.store.oci.getRef(`os/bb:${a.tag.tag}`)?.digest, a.tag.manifestDigest);

  const again = await buildOs(p.store, p.spec, 'bb');
  assert.deepEqual([again.cached, again.created, again.tag.tag], [true, false, a.tag.tag]);
  // Forced rebuild of the same input: bit-for-bit the same layer, so no new tag.
  const forced = await buildOs(p.store, p.spec, 'bb', { force: true });
  assert.deepEqual([forced.cached, forced.created, forced.tag.digest], [false, false, a.tag.digest]);

  // A new base tar (one package upgraded, one added): a new tag, and os diff names the changes.
  await makeRootfsTar(path.join(p.dir, 'base.tar'), { busybox: '1:1.36.1-1', libc6: '2.36-9', tzdata: '2024a' });
  const b = await buildOs(p.store, p.spec, 'bb');
  assert.equal(b.created, true);
  assert.match(b.tag.tag, /\.2$/);
  const d = diffBom(readBom(p.store.oci, osTagSource(a.tag).bom), readBom(p.store.oci, osTagSource(b.tag).bom));
  assert.deepEqual(d, { added: [{ name: 'tzdata', version: '2024a' }], removed: [], changed: [{ name: 'busybox', from: '1:1.35.0-4', to: '1:1.36.1-1' }] });
  assert.equal(resolveTag(p.store.db, 'os/bb', 'head').tag, b.tag.tag);
});

test('a corrupt or truncated base tar is an error naming the input, and no tag is made', async (t) => {
  const p = await makeImageProject();
  t.after(() => p.cleanup());
  const file = path.join(p.dir, 'base.tar');
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(buildOs(p.store, p.spec, 'bb'), (e: unknown) => e instanceof KilnError && e.code === 'INPUT_INVALID' && e.message.startsWith('base.tar (os.bb.import): truncated'));
  const bad = Buffer.from(bytes);
  bad.fill(0x41, 0, 200); // garbage over the first header
  fs.writeFileSync(file, bad);
  await assert.rejects(buildOs(p.store, p.spec, 'bb'), /base\.tar \(os\.bb\.import\): not a valid tar archive/);
  noTags(p);
  assert.deepEqual(fs.readdirSync(path.join(p.store.kilnDir, 'tmp')), [], 'temp files are removed');
});

test('an OCI archive imports with its digests checked; a tampered blob is an error naming it', async (t) => {
  const p = await makeImageProject();
  t.after(() => p.cleanup());
  const first = await buildOs(p.store, p.spec, 'bb');
  // Export the OS tag as an OCI archive with skopeo (gzip layers), then import it as base "oci".
  const archive = path.join(p.dir, 'image.tar');
  const r = spawnSync('skopeo', ['copy', '--dest-compress', `oci:${p.store.oci.dir}:os/bb:${first.tag.tag}`, `oci-archive:${archive}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  fs.appendFileSync(path.join(p.dir, 'kiln.yaml'), '');
  const yaml = fs.readFileSync(path.join(p.dir, 'kiln.yaml'), 'utf8').replace('  bb: { import: base.tar }', '  bb: { import: base.tar }\n  oci: { import: image.tar }');
  fs.writeFileSync(path.join(p.dir, 'kiln.yaml'), yaml);
  const spec = p.reload();
  const imported = await buildOs(p.store, spec, 'oci');
  // The same tree through skopeo's gzip and back: the same layer digest.
  assert.equal(imported.tag.digest, first.tag.digest);

  // Flip one byte inside the layer blob.
  const entries = indexTar(archive, 'image.tar');
  const layer = entries.filter((e) => e.name.startsWith('blobs/')).sort((a, b) => b.size - a.size)[0]!;
  const fd = fs.openSync(archive, 'r+');
  const one = Buffer.alloc(1);
  fs.readSync(fd, one, 0, 1, layer.offset + Math.floor(layer.size / 2));
  one[0] = one[0]! ^ 0x01;
  fs.writeSync(fd, one, 0, 1, layer.offset + Math.floor(layer.size / 2));
  fs.closeSync(fd);
  await assert.rejects(buildOs(p.store, spec, 'oci'), (e: unknown) => {
    assert.ok(e instanceof KilnError && e.code === 'INPUT_INVALID', String(e));
    assert.match(e.message, /^image\.tar \(os\.oci\.import\): (blob sha256:[0-9a-f]{64} \(layer 1 of 1\) does not match its digest|layer 1 of 1 could not be read)/);
    return true;
  });
  assert.equal(listTags(p.store.db, 'os/oci').length, 1, 'no new tag');
});

test('an unreachable mirror is an error naming it, before mmdebstrap runs; no tag is made', async (t) => {
  // A loopback port that refuses connections: bind one, then close it.
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
  const mirror = `http://127.0.0.1:${port}/debian`;
  const p = await makeImageProject({ osYaml: `  bb: { debian: { suite: bookworm, mirror: "${mirror}" } }` });
  t.after(() => p.cleanup());
  await assert.rejects(buildOs(p.store, p.spec, 'bb'), (e: unknown) => {
    assert.ok(e instanceof KilnError && e.code === 'MIRROR_UNREACHABLE', String(e));
    assert.match(e.message, new RegExp(`^os\\.bb\\.debian: mirror ${mirror.replace(/[.:/]/g, '\\$&')} is unreachable \\(ECONNREFUSED`));
    return true;
  });
  noTags(p);
});

test('mmdebstrap is called as an argument array with a fixed SOURCE_DATE_EPOCH; sources come from apt configuration', (t) => {
  const dir = fs.mkdtempSync('/tmp/kiln-apt-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'sources.list.d'));
  fs.writeFileSync(
    path.join(dir, 'sources.list.d', 'debian.sources'),
    'Types: deb\nURIs: http://127.0.0.1:9/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://127.0.0.1:9/security\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\nURIs: http://127.0.0.1:9/other\nSuites: trixie\nComponents: main\n',
  );
  const spec = { kind: 'debian' as const, suite: 'bookworm', components: ['main'], include: ['ca-certificates'] };
  const sources = resolveSources(spec, 'os.b.debian', dir);
  assert.deepEqual(sources.map((s) => `${s.uri} ${s.suite}`), ['http://127.0.0.1:9/debian bookworm', 'http://127.0.0.1:9/debian bookworm-updates', 'http://127.0.0.1:9/security bookworm-security']);
  const cmd = mmdebstrapCommand(spec, sources, '/out.tar', 1704067200);
  assert.deepEqual(cmd.argv, [
    'mmdebstrap', '--variant=minbase', '--mode=root', '--format=tar', '--components=main', '--include=ca-certificates', 'bookworm', '/out.tar',
    'deb http://127.0.0.1:9/debian bookworm main', 'deb http://127.0.0.1:9/debian bookworm-updates main', 'deb http://127.0.0.1:9/security bookworm-security main',
  ]);
  assert.deepEqual(cmd.env, { SOURCE_DATE_EPOCH: '1704067200' });
  assert.throws(() => resolveSources({ ...spec, suite: 'sid' }, 'os.b.debian', dir), /no apt source for suite "sid"/);
});
