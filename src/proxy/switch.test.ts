import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { ProxyStats } from './routes.js';
import { admin, cluster, get, putRoutes, startBackend, startProxy, table } from './testkit.js';

interface Result {
  startedAfterSwitch: boolean;
  status: number;
  body: string;
}

test('switching the active group under continuous load fails no request and never flips back', async (t) => {
  const v1 = await Promise.all([startBackend('web-v001-1'), startBackend('web-v001-2')]);
  const v2 = await Promise.all([startBackend('web-v002-1'), startBackend('web-v002-2')]);
  const p = await startProxy();
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.after(async () => {
    keepAlive.destroy();
    await p.stop();
    await Promise.all([...v1, ...v2].map((b) => b.kill()));
  });
  const groups = { 'web-v001': v1, 'web-v002': v2 };
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v001', groups)))).status, 200);

  let switched = false;
  let stop = false;
  const perClient: Result[][] = [];
  const errors: string[] = [];
  // Four clients on keep-alive connections, four opening a new connection per request.
  const client = async (agent: http.Agent | false) => {
    const results: Result[] = [];
    perClient.push(results);
    for (let i = 0; i < 400 && !stop; i++) {
      const startedAfterSwitch = switched;
      try {
        const r = await get(p.port, 'web.test', '/', { agent });
        results.push({ startedAfterSwitch, status: r.status, body: r.body });
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  };
  const clients = [...Array(4)].map(() => client(keepAlive)).concat([...Array(4)].map(() => client(false)));

  const total = () => perClient.reduce((n, r) => n + r.length, 0);
  const waitFor = async (n: number) => {
    while (total() < n && !stop) await new Promise((r) => setTimeout(r, 5));
  };
  await waitFor(400);
  // The switch: v002 becomes active in one step.
  assert.equal((await putRoutes(p, table(2, cluster('web', 'web-v002', groups)))).status, 200);
  switched = true;
  await waitFor(800);
  // Drained: v001 has nothing in flight; it leaves the table and its servers die.
  const stats = (await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats;
  assert.equal(stats.inFlight['web-v001'] ?? 0, 0);
  assert.equal((await putRoutes(p, table(3, cluster('web', 'web-v002', { 'web-v002': v2 })))).status, 200);
  await Promise.all(v1.map((b) => b.kill()));
  await waitFor(1200);
  stop = true;
  await Promise.all(clients);

  assert.deepEqual(errors, []);
  const all = perClient.flat();
  assert.ok(all.length >= 1200, `only ${all.length} requests`);
  assert.deepEqual(all.filter((r) => r.status !== 200), []);
  assert.ok(all.some((r) => r.body.startsWith('web-v001')));
  assert.ok(all.some((r) => r.body.startsWith('web-v002')));
  // Once the switch was acknowledged, only v002 answers.
  assert.deepEqual(all.filter((r) => r.startedAfterSwitch && !r.body.startsWith('web-v002')), []);
  // Each client sees v001 then v002: one switch, never back.
  for (const results of perClient) {
    const versions = results.map((r) => r.body.slice(0, 8));
    const firstV2 = versions.indexOf('web-v002');
    if (firstV2 !== -1) assert.ok(versions.slice(firstV2).every((v) => v === 'web-v002'), versions.join(' '));
  }
  const after = (await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats;
  assert.equal(after.failed, 0);
});
