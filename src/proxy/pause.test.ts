// `kiln pause` and `kiln maintenance` in the proxy: held requests wait in arrival order and go on
// in that order when the pause is lifted, none lost; the bound answers 503; maintenance answers
// 503 with the page and Retry-After; both come back from the saved table after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, get, putRoutes, startBackend, startProxy, table, type Reply } from './testkit.js';
import type { ClusterRoute } from './routes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function world(t: import('node:test').TestContext) {
  const arrivals: string[] = [];
  const b = await startBackend('web-v001-1', (req, res) => {
    arrivals.push(String(req.headers['x-seq']));
    req.resume();
    req.on('end', () => res.end(`ok ${String(req.headers['x-seq'])}`));
  });
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.kill();
  });
  const web = (extra: Partial<ClusterRoute> = {}): ClusterRoute => ({ ...cluster('web', 'web-v001', { 'web-v001': [b] }), ...extra });
  return { p, b, arrivals, web };
}

test('paused: requests wait, none reaches a server; lifted: all go on in arrival order, none lost', async (t) => {
  const { p, arrivals, web } = await world(t);
  assert.equal((await putRoutes(p, table(1, web({ hold: { until: Date.now() + 60_000 } })))).status, 200);
  const answers: Array<Promise<Reply>> = [];
  for (let i = 1; i <= 20; i++) {
    answers.push(get(p.port, 'web.test', '/', { headers: { 'x-seq': String(i) }, method: i % 2 ? 'GET' : 'POST', body: i % 2 ? undefined : `body ${i}` }));
    await sleep(10); // arrival order is sending order
  }
  let settled = 0;
  for (const a of answers) void a.then(() => settled++, () => settled++);
  await sleep(500);
  assert.equal(settled, 0, 'no answer while paused');
  assert.deepEqual(arrivals, [], 'no request reached the server while paused');
  assert.equal((await putRoutes(p, table(2, web()))).status, 200);
  const replies = await Promise.all(answers);
  assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
  assert.deepEqual(replies.map((r) => r.body), Array.from({ length: 20 }, (_, i) => `ok ${i + 1}`));
  assert.deepEqual(arrivals, Array.from({ length: 20 }, (_, i) => String(i + 1)), 'released in arrival order');
});

test('a pause whose bound passes answers what waits, and every new request, 503 until lifted', async (t) => {
  const { p, arrivals, web } = await world(t);
  assert.equal((await putRoutes(p, table(1, web({ hold: { until: Date.now() + 400 } })))).status, 200);
  const waited = get(p.port, 'web.test', '/', { headers: { 'x-seq': '1' } });
  const r = await waited;
  assert.equal(r.status, 503);
  assert.match(r.body, /paused and its bound passed; kiln resume web/);
  assert.equal(r.headers['retry-after'], '5');
  assert.equal((await get(p.port, 'web.test', '/', { headers: { 'x-seq': '2' } })).status, 503);
  assert.deepEqual(arrivals, []);
  assert.equal((await putRoutes(p, table(2, web()))).status, 200);
  assert.equal((await get(p.port, 'web.test', '/', { headers: { 'x-seq': '3' } })).status, 200);
});

test('maintenance: 503 with the page and Retry-After, not cached; it wins over a pause and releases what waited', async (t) => {
  const { p, arrivals, web } = await world(t);
  const page = '<!doctype html><title>back soon</title><p>glazing in progress</p>';
  assert.equal((await putRoutes(p, table(1, web({ hold: { until: Date.now() + 60_000 } })))).status, 200);
  const waiting = get(p.port, 'web.test', '/', { headers: { 'x-seq': '1' } });
  await sleep(200);
  assert.equal((await putRoutes(p, table(2, web({ hold: { until: Date.now() + 60_000 }, maintenance: { page, retryAfterS: 120 } })))).status, 200);
  for (const r of [await waiting, await get(p.port, 'web.test', '/', { headers: { 'x-seq': '2' } })]) {
    assert.equal(r.status, 503);
    assert.equal(r.body, page);
    assert.equal(r.headers['retry-after'], '120');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.match(String(r.headers['content-type']), /^text\/html/);
  }
  assert.deepEqual(arrivals, []);
});

test('pause and maintenance come back from the saved table when the proxy restarts', async (t) => {
  const { p, arrivals, web } = await world(t);
  assert.equal((await putRoutes(p, table(1, web({ maintenance: { page: 'later', retryAfterS: 30 } })))).status, 200);
  await p.restart();
  assert.equal((await get(p.port, 'web.test', '/')).body, 'later');
  assert.equal((await putRoutes(p, table(2, web({ hold: { until: Date.now() + 60_000 } })))).status, 200);
  await p.restart();
  const waiting = get(p.port, 'web.test', '/', { headers: { 'x-seq': '1' } });
  await sleep(300);
  assert.deepEqual(arrivals, [], 'still paused after the restart');
  assert.equal((await putRoutes(p, table(3, web()))).status, 200);
  assert.equal((await waiting).status, 200);
});

test('the route table refuses a bad pause or page', async (t) => {
  const { p, web } = await world(t);
  for (const bad of [{ hold: { until: 'soon' } }, { hold: {} }, { maintenance: { page: 'x'.repeat(70_000), retryAfterS: 1 } }, { maintenance: { page: 'x', retryAfterS: -1 } }]) {
    const r = await putRoutes(p, table(1, web(bad as Partial<ClusterRoute>)));
    assert.equal(r.status, 400, JSON.stringify(bad));
  }
});
