// Where `kiln app tag` runs a build: `app.build-in: host` keeps it on this host even when the
// service has an OS base and an environment runs on podman (the store, where the OS tags are,
// is not even consulted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from '../../spec/testkit.js';
import type { Store } from '../../store/init.js';
import { buildEnvironmentFor } from './build-in-os.js';

const spec = (buildIn: string): string => `project: shop
os:
  bookworm: { debian: { suite: bookworm, include: [nodejs] } }
services:
  api:
    os: bookworm
    app: { path: apps/api, build: [npm, ci, --omit=dev], run: [node, server.js], build-in: ${buildIn} }
    roles: { http: { port: http } }
environments:
  dev: { runtime: process }
  staging: { runtime: podman }
`;

/** A store whose OS tags cannot be read: reaching them means the build would go into the OS image. */
const untouchable = new Proxy({} as Store, {
  get(_t, key) {
    throw new Error(`the store was consulted (${String(key)})`);
  },
});

test('build-in: host builds on this host: no OS image is looked up', async () => {
  assert.equal(await buildEnvironmentFor(untouchable, load(spec('host')), 'api'), undefined);
});

test('build-in: os (the default) looks for the newest OS tag to build in', async () => {
  await assert.rejects(buildEnvironmentFor(untouchable, load(spec('os')), 'api'), /the store was consulted/);
});
