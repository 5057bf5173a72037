import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../errors.js';
import type { ProjectSpec, ServiceSpec } from '../spec/types.js';
import { initKilnDir, openStore, type Store } from '../store/init.js';
import { MEDIA } from '../store/oci-layout.js';
import { canonicalJson } from '../util/canonical-json.js';
import { buildAndTagApp } from '../streams/app/index.js';
import { createRelease, listReleases, getRelease, diffReleases, formatReleaseDiff, type ReleaseRecord } from './index.js';

const isKiln = (code: string) => (e: unknown) => e instanceof KilnError && e.code === code;
const health = { path: '/healthz', intervalMs: 200, timeoutMs: 1000, retries: 3, graceMs: 10000 };

function service(name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    app: { path: `apps/${name}`, run: ['node', 'server.js'], exclude: [], buildEnv: {} },
    roles: { http: { name: 'http', replicas: 2, port: 'http', health, flags: {} } },
    flags: { 'log-file': '${log.file}' },
    flagsStyle: 'equals',
    args: [],
    ...extra,
  };
}

function setup(t: { after: (fn: () => void) => void }): { spec: ProjectSpec; store: Store; write: (svc: string, body: string) => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-release-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (svc: string, body: string): void => {
    fs.mkdirSync(path.join(dir, 'apps', svc), { recursive: true });
    fs.writeFileSync(path.join(dir, 'apps', svc, 'server.js'), body);
  };
  write('api', 'api v1');
  write('web', 'web v1');
  initKilnDir(dir);
  const store = openStore(dir);
  t.after(() => store.db.close());
  const spec: ProjectSpec = {
    file: path.join(dir, 'kiln.yaml'),
    dir,
    project: 'shop',
    domain: 'shop.test',
    proxy: { engine: 'kiln', haproxy: '/usr/sbin/haproxy', host: '127.0.0.1', port: 8080 },
    dns: { host: '127.0.0.1', port: 5353 },
    logs: { retention: {}, export: {} },
    os: {},
    data: {},
    services: { api: service('api'), web: service('web') },
    environments: {},
  };
  return { spec, store, write };
}

function created(r: ReleaseRecord | { unchanged: ReleaseRecord }): ReleaseRecord {
  assert.ok(!('unchanged' in r), 'expected a new release');
  return r;
}

test('a release needs a tag for every service', async (t) => {
  const { spec, store } = setup(t);
  await buildAndTagApp(store, spec, 'api', '1.0.0');
  assert.throws(() => createRelease(store.db, store.oci, spec), (e: unknown) => {
    assert.ok(isKiln('TAG_NOT_FOUND')(e));
    assert.equal((e as KilnError).message, 'app/web has no tags; run `kiln app tag web <version>`');
    return true;
  });
  assert.deepEqual(listReleases(store.db), []);
});

test('releases are numbered, content-addressed, chained by parent, and not repeated when nothing changed', async (t) => {
  const { spec, store, write } = setup(t);
  const api1 = await buildAndTagApp(store, spec, 'api', '1.0.0');
  await buildAndTagApp(store, spec, 'web', '1.0.0');
  const r1 = created(createRelease(store.db, store.oci, spec));
  assert.equal(r1.name, 'r1');
  assert.equal(r1.manifest.parent, null);
  assert.equal(r1.manifest.project, 'shop');
  assert.deepEqual(r1.manifest.services['api']?.app, { stream: 'app/api', tag: '1.0.0', digest: api1.tag.digest });
  assert.deepEqual(r1.manifest.services['api']?.roles['http'], { replicas: 2, port: 'http', health, flags: {} });
  assert.deepEqual(r1.manifest.services['api']?.run, ['node', 'server.js']);

  // The manifest is stored as canonical JSON under its digest, and referenced as release/r1.
  const blob = store.oci.readBlob(r1.digest).toString('utf8');
  assert.equal(blob, canonicalJson(r1.manifest));
  const ref = store.oci.getRef('release/r1');
  assert.equal(ref?.artifactType, MEDIA.releaseArtifact);
  const m = store.oci.readManifest(ref!.digest);
  assert.deepEqual(m.layers.map((l) => [l.mediaType, l.digest]), [[MEDIA.releaseJson, r1.digest]]);

  // Nothing changed: no new release.
  const again = createRelease(store.db, store.oci, spec);
  assert.ok('unchanged' in again);
  assert.equal(again.unchanged.name, 'r1');

  // A new tag and a changed spec make r2, whose parent is r1.
  write('api', 'api v2');
  await buildAndTagApp(store, spec, 'api', '1.1.0');
  spec.services['api'] = service('api', {
    roles: {
      http: { name: 'http', replicas: 3, port: 'http', health: { ...health, path: '/ready' }, flags: { mode: 'fast' } },
      worker: { name: 'worker', replicas: 1, flags: { mode: 'worker' } },
    },
    flags: { db: 'x' },
  });
  const r2 = created(createRelease(store.db, store.oci, spec));
  assert.equal(r2.name, 'r2');
  assert.equal(r2.manifest.parent, 'r1');

  assert.deepEqual(listReleases(store.db).map((r) => [r.name, r.parent]), [['r1', null], ['r2', 'r1']]);
  assert.equal(getRelease(store.db, store.oci, 'r2').digest, r2.digest);
  assert.equal(getRelease(store.db, store.oci, '1').name, 'r1');
  assert.equal(getRelease(store.db, store.oci, 2).name, 'r2');
  assert.throws(() => getRelease(store.db, store.oci, 'r9'), (e: unknown) => {
    assert.ok(isKiln('RELEASE_NOT_FOUND')(e));
    assert.match((e as KilnError).message, /r9 does not exist; newest releases: r2, r1/);
    return true;
  });
  assert.throws(() => getRelease(store.db, store.oci, 'banana'), isKiln('RELEASE_NOT_FOUND'));

  const diff = diffReleases(r1, r2);
  assert.deepEqual(diff.changes.map((c) => c.kind), ['app', 'replicas', 'health', 'flag-added', 'role-added', 'flag-added', 'flag-removed']);
  assert.equal(
    formatReleaseDiff(diff),
    [
      'r1 -> r2',
      '  api:',
      `    app app/api:1.0.0 -> app/api:1.1.0 (${api1.tag.digest.slice(7, 19)} -> ${r2.manifest.services['api']!.app.digest.slice(7, 19)})`,
      '    role http: replicas 2 -> 3',
      '    role http: health /healthz (interval 200ms, timeout 1000ms, retries 3, grace 10000ms) -> /ready (interval 200ms, timeout 1000ms, retries 3, grace 10000ms)',
      '    role http: + flag --mode="fast"',
      '    + role worker (replicas 1)',
      '    + flag --db="x"',
      '    - flag --log-file="${log.file}"',
    ].join('\n'),
  );
  assert.equal(formatReleaseDiff(diffReleases(r2, r2)), 'r2 -> r2\n  no changes');
});

test('diff reports services added and removed, run, port and flag changes', () => {
  const base = {
    schema: 'kiln.release.v1' as const,
    project: 'shop',
    parent: null,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  const svc = (tag: string, over: Record<string, unknown> = {}) => ({
    app: { stream: 'app/api', tag, digest: 'sha256:' + tag.replace(/\D/g, '').padEnd(64, '0') },
    run: ['node', 'server.js'],
    roles: { http: { replicas: 1, port: 'http', flags: { a: 1 } } },
    flags: {},
    ...over,
  });
  const a = { ...base, name: 'r1', number: 1, services: { api: svc('1'), old: svc('1') } };
  const b = {
    ...base,
    name: 'r2',
    number: 2,
    services: {
      api: svc('1', { run: ['node', 'main.js'], roles: { http: { replicas: 1, port: 'admin', flags: { a: 2 } } } }),
      new: { ...svc('2'), app: { stream: 'app/new', tag: '2', digest: 'sha256:' + '2'.repeat(64) } },
    },
  };
  const d = diffReleases(a, b);
  assert.deepEqual(d.changes.map((c) => `${c.service}:${c.kind}`), ['api:run', 'api:port', 'api:flag-changed', 'new:service-added', 'old:service-removed']);
  const text = formatReleaseDiff(d);
  assert.match(text, /run \[node server\.js\] -> \[node main\.js\]/);
  assert.match(text, /role http: port http -> admin/);
  assert.match(text, /role http: flag --a 1 -> 2/);
  assert.match(text, /new:\n {4}\+ service \(app\/new:2\)/);
  assert.match(text, /old:\n {4}- service/);
});
