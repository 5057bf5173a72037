// Faults on the embedded default: a killed server is replaced by a new one; a killed control
// plane drops no request and, restarted, adopts what runs instead of starting duplicates.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoad, waitFor, sleep } from './lib/load.js';
import { setupShop, processesMatching, type Shop } from './lib/shop.js';
import type { StatusView } from '../../src/server/status.js';

function servers(st: StatusView): Array<{ name: string; pid: number | null; state: string }> {
  return st.clusters.flatMap((c) => c.groups.flatMap((g) => g.servers.map((s) => ({ name: s.name, pid: s.pid, state: s.state }))));
}

describe('faults on the process runtime', () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('kill -9 a server: requests keep succeeding, the group gets a new server with a new name', async (t) => {
    const st = await shop.status();
    const group = st.clusters.find((c) => c.name === 'api-http-dev')!.groups[0]!;
    const victim = group.servers[0]!;
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 8 });
    await waitFor(() => load.stats().total >= 200);
    process.kill(victim.pid as number, 'SIGKILL');
    const after = await waitFor(
      async () => {
        const g = (await shop.status()).clusters.find((c) => c.name === 'api-http-dev')!.groups[0]!;
        return g.healthy === 2 && !g.servers.some((s) => s.name === victim.name) ? g : null;
      },
      { timeoutMs: 20_000, what: 'a replacement server' },
    );
    const n = load.stats().total;
    await waitFor(() => load.stats().total >= n + 300);
    const report = await load.stop();
    t.diagnostic(`requests: ${report.total}, failed: ${report.failed}; replacement: ${after.servers.map((s) => s.name).join(', ')}`);
    assert.equal(report.failed, 0, report.errors.join('\n'));
    const names = after.servers.map((s) => s.name);
    assert.ok(names.includes('api-http-dev-v001-3'), `new server gets the next ordinal: ${names.join(', ')}`);
    assert.ok(!names.includes(victim.name));
  });

  test('a server that stops answering (SIGSTOP) fails its health checks and is replaced', async () => {
    const group = (await shop.status()).clusters.find((c) => c.name === 'web-http-dev')!.groups[0]!;
    const victim = group.servers[0]!;
    process.kill(victim.pid as number, 'SIGSTOP');
    const after = await waitFor(
      async () => {
        const g = (await shop.status()).clusters.find((c) => c.name === 'web-http-dev')!.groups[0]!;
        return g.healthy === 2 && !g.servers.some((s) => s.name === victim.name) ? g : null;
      },
      { timeoutMs: 30_000, what: 'the hung server replaced' },
    );
    assert.ok(!after.servers.some((s) => s.pid === victim.pid));
    assert.deepEqual(processesMatching(`/${victim.name}.log`, shop.p.dir), [], 'the hung process was stopped');
  });

  test('kill -9 the control plane: no failed request; a restart adopts the servers without duplicates', async (t) => {
    const before = servers(await shop.status());
    const serverProcs = (): number[] => processesMatching(`${shop.p.dir}/.kiln/logs/`).sort();
    const procsBefore = serverProcs();
    assert.equal(procsBefore.length, before.length, 'one process per server');
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 8 });
    await waitFor(() => load.stats().total >= 200);
    shop.server.kill('SIGKILL');
    await shop.server.exited;
    const n = load.stats().total;
    await waitFor(() => load.stats().total >= n + 1000, { what: 'requests with the control plane dead' });
    const down = await shop.p.kiln(['status', '--env', 'dev'], { allowFail: true });
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /kiln server/, 'says to start the control plane');
    shop.server = await shop.p.startServer();
    const m = load.stats().total;
    await waitFor(() => load.stats().total >= m + 500);
    await sleep(500); // a few reconciler ticks: a duplicate would show up now
    const report = await load.stop();
    t.diagnostic(`requests: ${report.total}, failed: ${report.failed}`);
    assert.equal(report.failed, 0, report.errors.join('\n'));
    const afterRestart = servers(await shop.status());
    assert.deepEqual(afterRestart, before, 'the same servers, same pids: adopted, not restarted');
    assert.deepEqual(serverProcs(), procsBefore, 'no duplicate and no orphan process');
  });

  test('kill -9 the proxy: the control plane restarts it and it restores its routes', async () => {
    const proxies = processesMatching(`${shop.p.dir}/.kiln/run/proxy.sock`);
    assert.equal(proxies.length, 1);
    process.kill(proxies[0]!, 'SIGKILL');
    const res = await waitFor(
      async () => {
        try {
          const r = await shop.get('api-http-dev.shop.test', '/items');
          return r.status === 200 ? r : null;
        } catch {
          return null;
        }
      },
      { timeoutMs: 15_000, what: 'the proxy back' },
    );
    assert.equal(res.version, '1.0.0');
    const now = processesMatching(`${shop.p.dir}/.kiln/run/proxy.sock`);
    assert.equal(now.length, 1);
    assert.notEqual(now[0], proxies[0]);
  });
});
