// The canary split: cookie parsing, the share of buckets a weight takes, stickiness as the weight
// rises, and the route table's canary (validated, carried through a restart's save and load).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUCKETS, bucketCookie, bucketFromCookie, offsetOf, onCanary, thresholdOf } from './split.js';
import { validateRouteTable } from './validate.js';
import { loadRouteTable, saveRouteTable } from './store.js';
import { Router } from './router.js';
import type { RouteTable } from './routes.js';

test('the bucket is read from the kiln-canary cookie and nothing else', () => {
  assert.equal(bucketFromCookie('kiln-canary=1234'), 1234);
  assert.equal(bucketFromCookie('a=b; kiln-canary=7; c=d'), 7);
  assert.equal(bucketFromCookie('a=b;kiln-canary=0'), 0);
  assert.equal(bucketFromCookie(undefined), null);
  assert.equal(bucketFromCookie('xkiln-canary=12'), null, 'the tail of another cookie\'s name');
  assert.equal(bucketFromCookie('kiln-canary=10000'), null, 'out of range');
  assert.equal(bucketFromCookie('kiln-canary=12x'), null);
  assert.equal(bucketFromCookie('kiln-canary='), null);
  assert.equal(bucketFromCookie(bucketCookie(4321).split(';')[0]), 4321, 'what the proxy sets, it reads back');
  assert.match(bucketCookie(1), /^kiln-canary=1; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
});

test('a weight takes exactly its share of buckets, and a client on the canary stays on it as the weight rises', () => {
  const offset = offsetOf('api-http-prod-v007');
  for (const w of [0.01, 10, 33.33, 50, 99.99]) {
    let n = 0;
    for (let b = 0; b < BUCKETS; b++) if (onCanary(b, thresholdOf(w), offset)) n++;
    assert.equal(n, Math.round(w * 100), `weight ${w}%`);
  }
  for (let b = 0; b < BUCKETS; b++) {
    if (onCanary(b, thresholdOf(10), offset)) assert.ok(onCanary(b, thresholdOf(50), offset), `bucket ${b} left the canary when the weight rose`);
  }
  // Another canary starts with other clients.
  const first = (o: number) => [...Array(BUCKETS).keys()].filter((b) => onCanary(b, thresholdOf(10), o));
  assert.notDeepEqual(first(offsetOf('api-http-prod-v007')), first(offsetOf('api-http-prod-v008')));
});

const table = (canary: unknown): unknown => ({
  version: 3,
  clusters: [
    {
      name: 'api-http-dev',
      hosts: ['api-http-dev.shop.test'],
      active: 'api-http-dev-v001',
      groups: [
        { name: 'api-http-dev-v001', hosts: [], backends: [{ server: 'api-http-dev-v001-1', host: '127.0.0.1', port: 9001 }] },
        { name: 'api-http-dev-v002', hosts: [], backends: [{ server: 'api-http-dev-v002-1', host: '127.0.0.1', port: 9002 }] },
      ],
      ...(canary === undefined ? {} : { canary }),
    },
  ],
});

test('the route table carries a canary only on another of the cluster\'s groups, with a weight 0-100', () => {
  assert.ok(validateRouteTable(table({ group: 'api-http-dev-v002', weight: 12.5 })).ok);
  const bad = (canary: unknown): string[] => {
    const v = validateRouteTable(table(canary));
    assert.equal(v.ok, false);
    return v.ok ? [] : v.errors;
  };
  assert.match(bad({ group: 'api-http-dev-v001', weight: 10 })[0]!, /canary\.group: .*must be another group/);
  assert.match(bad({ group: 'nope', weight: 10 })[0]!, /canary\.group: must name one of this cluster's groups/);
  assert.match(bad({ group: 'api-http-dev-v002', weight: 101 })[0]!, /canary\.weight: must be a percentage 0-100/);
  assert.match(bad({ group: 'api-http-dev-v002', weight: 0.001 })[0]!, /at most two decimals/);
  assert.match(bad({ group: 'api-http-dev-v002', weight: 5, extra: 1 })[0]!, /unknown key "extra"/);
});

test('the canary weight survives a restart like the routes (saved and loaded with them) and reaches the router', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-split-'));
  try {
    const file = path.join(dir, 'routes.json');
    const v = validateRouteTable(table({ group: 'api-http-dev-v002', weight: 25 }));
    assert.ok(v.ok);
    await saveRouteTable(file, v.table);
    const loaded = await loadRouteTable(file);
    assert.equal(loaded.problem, null);
    assert.deepEqual(loaded.table.clusters[0]?.canary, { group: 'api-http-dev-v002', weight: 25 });
    const router = new Router();
    router.apply(loaded.table as RouteTable);
    const r = router.byHost('api-http-dev.shop.test');
    assert.equal(r?.kind, 'group');
    if (r?.kind === 'group') {
      assert.equal(r.group.name, 'api-http-dev-v001');
      assert.equal(r.canary?.group.name, 'api-http-dev-v002');
      assert.equal(r.canary?.threshold, 2500);
    }
    // Weight 0: no split at all.
    const none = validateRouteTable(table({ group: 'api-http-dev-v002', weight: 0 }));
    assert.ok(none.ok);
    router.apply(none.table);
    const r0 = router.byHost('api-http-dev.shop.test');
    assert.equal(r0?.kind === 'group' ? r0.canary : 'x', null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
