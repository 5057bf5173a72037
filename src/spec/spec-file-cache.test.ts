// The control plane's kiln.yaml: parsed again only when its text changed, and an edit (or a
// broken file, then its fix) is seen on the very next read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { KilnErrors } from '../errors.js';
import { SpecFileCache } from './spec-file-cache.js';
import { withProject, yaml } from './testkit.js';

const spec = (replicas: number): string =>
  yaml('project: tiny', 'services:', '  api:', '    app: { path: apps/api, run: [node, server.js] }', `    roles: { http: { port: http, replicas: ${replicas} } }`, 'environments:', '  dev:');

test('the same text gives the same spec without a new parse; an edit, a break and its fix are seen at once', () => {
  withProject(spec(2), (file) => {
    const cache = new SpecFileCache(file);
    const first = cache.load();
    assert.equal(first.services.api?.roles.http?.replicas, 2);
    assert.equal(cache.load(), first, 'unchanged text: the parsed spec is reused');

    writeFileSync(file, spec(3));
    assert.equal(cache.load().services.api?.roles.http?.replicas, 3);

    writeFileSync(file, spec(3).replace('replicas: 3', 'replicas: many'));
    assert.throws(() => cache.load(), KilnErrors);
    assert.throws(() => cache.load(), KilnErrors, 'a broken file throws on every read, it is never cached');

    writeFileSync(file, spec(4));
    assert.equal(cache.load().services.api?.roles.http?.replicas, 4);
  });
});
