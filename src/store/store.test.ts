import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { openStateDb, schemaVersion } from './state-db.js';
import { MIGRATIONS } from './schema.js';
import { OciLayout, MEDIA, EMPTY_DESCRIPTOR, sha256Digest, verifyBlobFile } from './oci-layout.js';
import { initKilnDir, openStore, readToken } from './init.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-store-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const isKiln = (code: string) => (e: unknown) => e instanceof KilnError && e.code === code;

test('writeFileAtomic replaces the file whole, with the given mode, and leaves no temp files', (t) => {
  const d = tmp(t);
  const f = path.join(d, 'x.json');
  writeFileAtomic(f, 'one');
  writeFileAtomic(f, Buffer.from('two'), 0o600);
  assert.equal(fs.readFileSync(f, 'utf8'), 'two');
  assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(d), ['x.json']);
});

test('state.db: WAL, migrations applied once and recorded, newer schema refused', (t) => {
  const d = tmp(t);
  const db = openStateDb(d);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(schemaVersion(db), MIGRATIONS.at(-1)!.version);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as Array<{ name: string }>).map((r) => r.name);
  assert.ok(tables.includes('tags') && tables.includes('releases') && tables.includes('schema_migrations'));
  db.close();

  // Re-opening applies nothing twice; a later migration is applied on the next open.
  const more = [...MIGRATIONS, { version: 99, name: 'test extra', sql: 'CREATE TABLE extra (x INTEGER)' }];
  const db2 = openStateDb(d, more);
  assert.equal(schemaVersion(db2), 99);
  assert.equal((db2.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n, more.length);
  db2.close();

  // This code only knows MIGRATIONS: a store at version 99 was written by a newer kiln.
  assert.throws(() => openStateDb(d), (e: unknown) => {
    assert.ok(isKiln('CORRUPT_STORE')(e));
    assert.match((e as KilnError).hint ?? '', /upgrade kiln/);
    return true;
  });
});

test('a failing migration leaves the database at the previous version', (t) => {
  const d = tmp(t);
  const bad = [...MIGRATIONS, { version: 50, name: 'broken', sql: 'CREATE TABLE ok1 (x INTEGER); THIS IS NOT SQL' }];
  assert.throws(() => openStateDb(d, bad));
  const db = openStateDb(d);
  t.after(() => db.close());
  assert.equal(schemaVersion(db), MIGRATIONS.at(-1)!.version);
  assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name='ok1'").get(), undefined);
});

test('OCI layout: blobs by digest, verified on read, refs in index.json', async (t) => {
  const d = tmp(t);
  const oci = OciLayout.init(path.join(d, 'oci'));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(d, 'oci', 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  assert.ok(oci.hasBlob(EMPTY_DESCRIPTOR.digest), 'the empty config blob is always there');
  assert.equal(EMPTY_DESCRIPTOR.digest, sha256Digest('{}'));

  const a = oci.putBlob(Buffer.from('hello'));
  assert.deepEqual(a, { digest: sha256Digest('hello'), size: 5 });
  assert.deepEqual(oci.putBlob(Buffer.from('hello')), a, 'putting it again is a no-op');
  assert.equal(oci.readBlob(a.digest).toString(), 'hello');
  assert.equal(oci.blobPath(a.digest), path.join(d, 'oci', 'blobs', 'sha256', a.digest.slice(7)));

  const big = path.join(d, 'big.bin');
  fs.writeFileSync(big, Buffer.alloc(3 * 1024 * 1024 + 7, 0x61));
  const b = await oci.putBlobFromFile(big);
  assert.equal(b.size, 3 * 1024 * 1024 + 7);
  assert.equal(b.digest, sha256Digest(fs.readFileSync(big)));
  assert.equal(verifyBlobFile(oci, b.digest), oci.blobPath(b.digest));

  // A damaged blob is reported, never used.
  fs.chmodSync(oci.blobPath(a.digest), 0o644);
  fs.writeFileSync(oci.blobPath(a.digest), 'HELLO');
  assert.throws(() => oci.readBlob(a.digest), isKiln('CORRUPT_STORE'));
  assert.throws(() => verifyBlobFile(oci, a.digest), isKiln('CORRUPT_STORE'));
  assert.throws(() => oci.readBlob(sha256Digest('never stored')), isKiln('CORRUPT_STORE'));

  const desc = oci.putArtifact(MEDIA.appArtifact, [{ mediaType: MEDIA.layerTar, digest: b.digest, size: b.size }]);
  oci.setRef('app/api:1.0.0', desc);
  oci.setRef('app/api:0.9.0', desc);
  oci.setRef('app/api:1.0.0', desc); // replacing keeps one entry
  assert.deepEqual(oci.listRefs().map((r) => r.ref), ['app/api:0.9.0', 'app/api:1.0.0']);
  assert.equal(oci.getRef('app/api:1.0.0')?.digest, desc.digest);
  assert.equal(oci.getRef('nope'), undefined);
  const index = JSON.parse(fs.readFileSync(path.join(d, 'oci', 'index.json'), 'utf8'));
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'app/api:0.9.0');
  const m = oci.readManifest(desc.digest);
  assert.equal(m.mediaType, MEDIA.manifest);
  assert.equal(m.artifactType, 'application/vnd.kiln.app.v1');
  assert.deepEqual(m.config, EMPTY_DESCRIPTOR);
  assert.deepEqual(m.layers, [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: b.digest, size: b.size }]);
  // No leftover temp or lock files.
  assert.deepEqual(fs.readdirSync(path.join(d, 'oci')).sort(), ['blobs', 'index.json', 'oci-layout']);
  assert.ok(fs.readdirSync(path.join(d, 'oci', 'blobs', 'sha256')).every((n) => /^[a-f0-9]{64}$/.test(n)));
});

test('initKilnDir creates the store once, keeps the token, and openStore needs it', (t) => {
  const project = tmp(t);
  assert.throws(() => openStore(project), (e: unknown) => {
    assert.ok(isKiln('NOT_INITIALISED')(e));
    assert.match((e as KilnError).hint ?? '', /kiln init/);
    return true;
  });
  assert.equal(fs.existsSync(path.join(project, '.kiln')), false, 'openStore creates nothing');

  const first = initKilnDir(project);
  assert.equal(first.created, true);
  assert.equal(first.kilnDir, path.join(project, '.kiln'));
  for (const p of ['state.db', 'oci/oci-layout', 'oci/index.json', 'logs', 'run/token']) {
    assert.ok(fs.existsSync(path.join(first.kilnDir, p)), p);
  }
  assert.equal(fs.statSync(path.join(first.kilnDir, 'run')).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(first.kilnDir, 'run', 'token')).mode & 0o777, 0o600);
  const token = readToken(first.kilnDir);
  assert.match(token, /^[a-f0-9]{64}$/);

  const second = initKilnDir(project);
  assert.equal(second.created, false);
  assert.equal(readToken(first.kilnDir), token, 'the token is never replaced');

  const store = openStore(project);
  t.after(() => store.db.close());
  assert.equal(store.kilnDir, first.kilnDir);
  assert.equal(store.oci.dir, path.join(first.kilnDir, 'oci'));
  assert.equal(schemaVersion(store.db), MIGRATIONS.at(-1)!.version);
});
