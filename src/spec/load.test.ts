import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { findSpecFile, loadSpec } from './load.js';
import { EXAMPLE_SPEC } from './reference.js';
import { load, withProject, yaml } from './testkit.js';

test('the documented example loads, with every default filled in', () => {
  withProject(EXAMPLE_SPEC, (file, dir) => {
    const spec = loadSpec(file);
    assert.equal(spec.file, file);
    assert.equal(spec.dir, dir);
    assert.equal(spec.project, 'shop');
    assert.equal(spec.domain, 'shop.test');
    assert.deepEqual(spec.proxy, { engine: 'kiln', haproxy: '/usr/sbin/haproxy', host: '127.0.0.1', port: 7080, tunnelIdleTimeoutMs: 3_600_000 });
    assert.deepEqual(spec.os.bookworm, {
      name: 'bookworm',
      kind: 'debian',
      suite: 'bookworm',
      components: ['main'],
      include: ['nodejs', 'ca-certificates'],
    });
    assert.deepEqual(spec.data.orders, { name: 'orders', engine: 'sqlite', changelog: 'db/orders' });

    const api = spec.services.api;
    assert.ok(api);
    assert.equal(api.os, 'bookworm');
    assert.deepEqual(api.app, { path: 'apps/api', build: ['npm', 'ci'], output: 'dist', run: ['node', 'server.js'], exclude: [], buildEnv: {} });
    assert.deepEqual(api.roles.http, {
      name: 'http',
      replicas: 2,
      port: 'http',
      health: { path: '/healthz', intervalMs: 200, timeoutMs: 1000, retries: 3, graceMs: 20000 },
      flags: {},
    });
    assert.deepEqual(api.roles.worker, { name: 'worker', replicas: 1, flags: { mode: 'worker' } });
    assert.deepEqual(api.flags, { db: '${data.orders.url}', 'log-file': '${log.file}' });

    // The health shorthand gets the documented defaults: 100ms, 2s, 3 retries, 30s.
    assert.deepEqual(spec.services.web?.roles.http?.health, { path: '/healthz', intervalMs: 100, timeoutMs: 2000, retries: 3, graceMs: 30000 });
    assert.equal(spec.services.web?.roles.http?.replicas, 1);
    assert.equal(spec.services.web?.os, undefined);
    assert.equal('build' in (spec.services.web?.app ?? {}), false);

    assert.deepEqual(spec.environments.dev, {
      name: 'dev',
      runtime: 'process',
      scale: { api: { http: 3 } },
      flags: { web: { greeting: 'hi' } },
      args: {},
    });
    assert.deepEqual(spec.environments.prod, { name: 'prod', runtime: 'podman', scale: {}, flags: {}, args: {} });
  });
});

test('a minimal spec gets its defaults: domain, proxy, runtime, replicas, empty maps', () => {
  const spec = load(
    yaml(
      'project: tiny',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [node, server.js] }',
      '    roles: { http: { port: http } }',
      'environments:',
      '  dev:',
    ),
  );
  assert.equal(spec.domain, 'tiny.test');
  assert.deepEqual(spec.proxy, { engine: 'kiln', haproxy: '/usr/sbin/haproxy', host: '127.0.0.1', port: 7080, tunnelIdleTimeoutMs: 3_600_000 });
  assert.deepEqual(spec.os, {});
  assert.deepEqual(spec.data, {});
  assert.deepEqual(spec.services.api?.roles.http, { name: 'http', replicas: 1, port: 'http', flags: {} });
  assert.deepEqual(spec.services.api?.flags, {});
  assert.deepEqual(spec.environments.dev, { name: 'dev', runtime: 'process', scale: {}, flags: {}, args: {} });
});

test('import OS bases, postgres stores, secrets, $$ and numbers as flags load as written', () => {
  const spec = load(
    yaml(
      'project: shop',
      'os:',
      '  custom: { import: ./rootfs.tar }',
      'data:',
      '  orders: { engine: postgres, changelog: ./db/orders/ }',
      'services:',
      '  api:',
      '    os: custom',
      '    app: { path: ./apps/api/, run: [node, server.js], exclude: [node_modules, .git] }',
      '    roles: { http: { port: http, health: { path: /ready, grace: 1.5m } } }',
      '    flags: { db: "${data.orders.url}", key: "${secret.orders_url}", price: "$$5", workers: 4, debug: true }',
      'environments:',
      '  prod: { runtime: kubernetes, kubernetes: { namespace: shop, kubeconfig: ./kube/config }, flags: { api: { workers: 8 } } }',
    ),
  );
  assert.deepEqual(spec.os.custom, { name: 'custom', kind: 'import', from: './rootfs.tar' });
  assert.deepEqual(spec.data.orders, { name: 'orders', engine: 'postgres', changelog: 'db/orders' });
  assert.equal(spec.services.api?.app.path, 'apps/api');
  assert.deepEqual(spec.services.api?.app.exclude, ['node_modules', '.git']);
  assert.equal(spec.services.api?.roles.http?.health?.graceMs, 90_000);
  assert.deepEqual(spec.services.api?.flags, { db: '${data.orders.url}', key: '${secret.orders_url}', price: '$$5', workers: 4, debug: true });
  assert.deepEqual(spec.environments.prod?.flags, { api: { workers: 8 } });
  // The kubeconfig is resolved against kiln.yaml's directory; the user id has its default.
  assert.deepEqual(spec.environments.prod?.kubernetes, { namespace: 'shop', runAsUser: 65532, kubeconfig: path.join(spec.dir, 'kube', 'config') });
});

test('findSpecFile looks in the directory and its parents', () => {
  withProject(EXAMPLE_SPEC, (file, dir) => {
    const deep = path.join(dir, 'apps', 'api', 'src');
    mkdirSync(deep, { recursive: true });
    assert.equal(realpathSync(findSpecFile(deep)), realpathSync(file));
    assert.equal(realpathSync(findSpecFile(dir)), realpathSync(file));
    // A nearer kiln.yaml wins over the one above it.
    const inner = path.join(dir, 'apps', 'kiln.yaml');
    writeFileSync(inner, EXAMPLE_SPEC);
    assert.equal(realpathSync(findSpecFile(deep)), realpathSync(inner));
  });
});

test('findSpecFile without a kiln.yaml here or above is SPEC_NOT_FOUND', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-nospec-'));
  try {
    assert.throws(
      () => findSpecFile(dir),
      (e: unknown) => e instanceof KilnError && e.code === 'SPEC_NOT_FOUND' && e.message.includes(`no kiln.yaml in ${dir}`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading a file that does not exist is SPEC_NOT_FOUND', () => {
  withProject(EXAMPLE_SPEC, (_file, dir) => {
    assert.throws(
      () => loadSpec(path.join(dir, 'nope.yaml')),
      (e: unknown) => e instanceof KilnError && e.code === 'SPEC_NOT_FOUND' && /ENOENT/.test(e.message),
    );
  });
});
