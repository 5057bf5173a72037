import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { ProxyStats } from './routes.js';
import { admin, cluster, get, putRoutes, startBackend, startProxy, table } from './testkit.js';

async function stats(socket: string): Promise<ProxyStats> {
  return (await admin(socket, 'GET', '/stats')).json as ProxyStats;
}

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached in 5 s');
}

test('a group removed from the table finishes its in-flight request, and is counted until then', async (t) => {
  const waiting: Array<() => void> = [];
  const slow = await startBackend('web-v001-1', (_req, res) => {
    waiting.push(() => res.end('web-v001-1 slow'));
  });
  const next = await startBackend('web-v002-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([slow.kill(), next.kill()]);
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [slow], 'web-v002': [next] })));

  const pending = get(p.port, 'web.test', '/slow');
  await until(() => waiting.length === 1);
  assert.equal((await stats(p.adminSocket)).inFlight['web-v001'], 1);

  // The deploy switches to v002 and drops v001 from the table.
  assert.equal((await putRoutes(p, table(2, cluster('web', 'web-v002', { 'web-v002': [next] })))).status, 200);
  assert.equal((await get(p.port, 'web.test')).body, 'web-v002-1');
  const draining = await stats(p.adminSocket);
  assert.equal(draining.inFlight['web-v001'], 1);
  assert.equal(draining.inFlight['web-v002'], 0);

  waiting[0]!();
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'web-v001-1 slow');
  await until(async () => ((await stats(p.adminSocket)).inFlight['web-v001'] ?? 0) === 0);
});

test('a client that disconnects aborts its upstream request', async (t) => {
  let upstreamClosed = false;
  const slow = await startBackend('web-v001-1', (req, res) => {
    res.on('close', () => {
      upstreamClosed = !res.writableFinished;
    });
  });
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await slow.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [slow] })));
  const req = http.request({ host: '127.0.0.1', port: p.port, path: '/', headers: { Host: 'web.test' }, agent: false });
  req.on('error', () => undefined);
  req.end();
  await until(() => slow.hits === 1);
  req.destroy();
  await until(() => upstreamClosed);
  await until(async () => ((await stats(p.adminSocket)).inFlight['web-v001'] ?? 0) === 0);
});
