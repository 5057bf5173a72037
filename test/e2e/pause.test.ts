// kiln pause / resume / maintenance on the example: the proxy holds the api's requests while
// paused and sends them on in order at resume, none lost; maintenance answers 503 with the
// environment's page and Retry-After; both survive kill -9 of the proxy (it restores its saved
// routes) and are refused with a clear error for a worker or an unknown cluster. Once per proxy
// engine: the embedded proxy holds in its own queue, HAProxy in Kiln's Lua action (haproxy/hold.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setupShop, type Shop } from './lib/shop.js';
import { PROXY_ENGINES, type ProxyEngine } from '../../src/spec/types.js';
import { dataPlanePid, withEngine } from './lib/engines.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const engine of PROXY_ENGINES) suite(engine);

function suite(engine: ProxyEngine): void {
describe(`kiln pause, resume and maintenance (proxy engine ${engine})`, () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop({
      edit: (y) => withEngine(engine)(y.replace(/^  dev:\n/m, '  dev:\n    maintenance: { page: maintenance.html, retry-after: 2m }\n')),
    });
    fs.writeFileSync(path.join(shop.p.dir, 'maintenance.html'), '<!doctype html><title>shop</title><p>The kiln is cooling down.</p>\n');
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('paused: requests wait and none fails; resume sends them all on', async () => {
    const out = JSON.parse((await shop.p.kiln(['pause', 'api-http-dev', '--env', 'dev', '--for', '1m', '--json'])).stdout) as { mode: { pausedUntil: number } };
    assert.ok(out.mode.pausedUntil > Date.now());
    const waiting = Array.from({ length: 10 }, () => shop.get('api-http-dev.shop.test', '/healthz'));
    let settled = 0;
    for (const w of waiting) void w.then(() => settled++, () => settled++);
    await sleep(800);
    assert.equal(settled, 0, 'nothing answered while paused');
    assert.match((await shop.p.kiln(['resume', 'api-http-dev', '--env', 'dev'])).stdout, /api-http-dev: serving/);
    assert.deepEqual((await Promise.all(waiting)).map((r) => r.status), Array(10).fill(200));
  });

  test('maintenance: 503 with the configured page and Retry-After, also after kill -9 of the proxy; off serves again', async () => {
    await shop.p.kiln(['maintenance', 'on', 'web-http-dev', '--env', 'dev']);
    const r = await shop.get('web-http-dev.shop.test', '/');
    assert.equal(r.status, 503);
    assert.match(r.body, /The kiln is cooling down/);
    const pid = dataPlanePid(shop.p.dir, engine);
    assert.ok(pid, 'the data plane runs');
    process.kill(pid, 'SIGKILL');
    // The control plane restarts the proxy, which restores its saved table: still in maintenance.
    let again = { status: 0, body: '' };
    for (let i = 0; i < 100 && again.status !== 503; i++) {
      await sleep(100);
      again = await shop.get('web-http-dev.shop.test', '/').catch(() => ({ status: 0, version: '', body: '' }));
    }
    assert.equal(again.status, 503);
    assert.match(again.body, /The kiln is cooling down/);
    await shop.p.kiln(['maintenance', 'off', 'web-http-dev', '--env', 'dev']);
    assert.equal((await shop.get('web-http-dev.shop.test', '/')).status, 200);
  });

  test('a worker or an unknown cluster is refused, naming what exists', async () => {
    const worker = await shop.p.kiln(['pause', 'api-worker-dev', '--env', 'dev'], { allowFail: true });
    assert.equal(worker.code, 2);
    assert.match(worker.stderr, /worker: it has no load balancer/);
    const unknown = await shop.p.kiln(['maintenance', 'on', 'nope-http-dev', '--env', 'dev'], { allowFail: true });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /cluster "nope-http-dev" does not exist in environment dev/);
    assert.match(unknown.stderr, /api-http-dev/);
  });
});
}
