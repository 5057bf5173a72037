import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffReleases, formatReleaseDiff } from './diff.js';
import type { ReleaseManifest, ReleaseService } from './types.js';

const svc = (osTag: string, image: string, flags: Record<string, string> = {}): ReleaseService => ({
  app: { stream: 'app/api', tag: '1.0.0', digest: 'sha256:' + 'a'.repeat(64) },
  os: 'bookworm',
  image: { digest: 'sha256:' + image.repeat(64), ref: 'image/api:x', os: { stream: 'os/bookworm', tag: osTag, digest: 'sha256:' + osTag.replace(/\D/g, '').padEnd(64, '0') } },
  run: ['node', 'server.js'],
  roles: { http: { replicas: 1, port: 'http', flags: {} } },
  flags,
});
const rel = (n: number, s: ReleaseService, data: ReleaseManifest['data']): ReleaseManifest => ({
  schema: 'kiln.release.v1', project: 'shop', name: `r${n}`, number: n, parent: null, createdAt: '2026-01-01T00:00:00.000Z', services: { api: s }, ...(data ? { data } : {}),
});

test('diff across streams: OS packages from the bills of materials, image, changelog entries, secret references', () => {
  const a = rel(1, svc('2026.01.01.1', 'b', { token: '${secret.old_token}' }), { orders: { position: 3, checksum: 'x' } });
  const b = rel(2, svc('2026.02.01.1', 'c', { token: '${secret.new_token}' }), { orders: { position: 5, checksum: 'y' } });
  const d = diffReleases(a, b, {
    osPackages: (from, to) => {
      assert.deepEqual([from, to], ['os/bookworm:2026.01.01.1', 'os/bookworm:2026.02.01.1']);
      return { added: [{ name: 'curl', version: '8.0' }], removed: [], changed: [{ name: 'libc6', from: '2.36-9', to: '2.36-9+deb12u4' }] };
    },
    changelogEntries: (store, from, to) => (store === 'orders' && from === 3 && to === 5 ? ['0004_a.sql', '0005_b.sql'] : []),
  });
  assert.deepEqual(d.changes.map((c) => c.kind), ['os-tag', 'image', 'flag-changed']);
  assert.deepEqual(d.data, [{ store: 'orders', from: 3, to: 5, entries: ['0004_a.sql', '0005_b.sql'] }]);
  const text = formatReleaseDiff(d);
  assert.match(text, /data orders: changelog 3 -> 5 \(\+ 0004_a\.sql, 0005_b\.sql\)/);
  assert.match(text, /os tag os\/bookworm:2026\.01\.01\.1 -> os\/bookworm:2026\.02\.01\.1: \+curl 8\.0, libc6 2\.36-9 -> 2\.36-9\+deb12u4/);
  assert.match(text, /image b{12} -> c{12}/);
  // A secret shows as its reference, never a value.
  assert.match(text, /flag --token "\$\{secret\.old_token\}" -> "\$\{secret\.new_token\}"/);
  // Without sources: the manifests alone.
  assert.equal(diffReleases(a, b).data?.[0]?.entries.length, 0);
});

test('diff: how flags are written and the positional arguments are changes of a release (a role\'s own args too)', () => {
  const base = svc('2026.01.01.1', 'b');
  const a = rel(1, base, undefined);
  const b = rel(2, { ...base, flagsStyle: 'space', args: ['public'], roles: { http: { ...base.roles.http!, args: ['www'] } } }, undefined);
  const d = diffReleases(a, b);
  assert.deepEqual(d.changes.map((c) => c.kind), ['flags-style', 'args', 'args']);
  const text = formatReleaseDiff(d);
  assert.match(text, /flags-style equals -> space/);
  assert.match(text, /args \[\] -> \[public\]/);
  assert.match(text, /role http: args the service's -> \[www\]/);
  assert.deepEqual(diffReleases(a, rel(3, { ...base, flagsStyle: 'equals', args: [] }, undefined)).changes, [], 'the defaults written out are no change');
});
