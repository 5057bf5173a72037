// Blue/green on the process runtime, end to end through the real CLI, control plane, data plane
// and servers: zero failed requests while deploying and rolling back, a release that never becomes
// healthy never receives a request, a kill -9 of the data plane loses no route. The same suite
// runs once per proxy engine (kiln.yaml `proxy.engine`): the embedded proxy and real HAProxy.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { startLoad, waitFor } from './lib/load.js';
import { setupShop, processesMatching, type Shop } from './lib/shop.js';
import type { DeployPlanView } from '../../src/cli/plan-view.js';
import { PROXY_ENGINES, type ProxyEngine } from '../../src/spec/types.js';
import { dataPlanePid, withEngine } from './lib/engines.js';

for (const engine of PROXY_ENGINES) suite(engine);

function suite(engine: ProxyEngine): void {
describe(`deploy on the process runtime (proxy engine ${engine})`, () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop({ edit: withEngine(engine) });
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('r1 serves through the role-named load balancer; web reaches api by its cluster URL', async () => {
    const api = await shop.get('api-http-dev.shop.test', '/items');
    assert.equal(api.status, 200);
    assert.equal(api.version, '1.0.0');
    const web = await shop.get('web-http-dev.shop.test', '/');
    assert.equal(web.status, 200);
    assert.match(web.body, /api 1\.0\.0/);
    const st = await shop.status();
    const apiCluster = st.clusters.find((c) => c.name === 'api-http-dev');
    assert.equal(apiCluster?.active, 'api-http-dev-v001');
    assert.deepEqual(apiCluster?.groups.map((g) => [g.name, g.state, g.healthy]), [['api-http-dev-v001', 'active', 2]]);
    assert.deepEqual(st.proxy, { engine }, 'status names the engine');
    const worker = st.clusters.find((c) => c.name === 'api-worker-dev');
    assert.equal(worker?.groups[0]?.servers.length, 1);
    // Only a cluster with a load balancer has a host name to show; a worker has none.
    assert.equal(apiCluster?.host, 'api-http-dev.shop.test');
    assert.equal(worker?.host, null);
    assert.equal(worker?.url, null);
  });

  /** `dig` (the real client) against Kiln's DNS server. */
  const dig = (...args: string[]): string =>
    execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+short', '+tries=1', '+time=2', ...args], { encoding: 'utf8' }).trim();

  test('DNS: cluster, group and server names, SRV; nothing outside the zone', async () => {
    const st = await shop.status();
    const api = st.clusters.find((c) => c.name === 'api-http-dev')!;
    assert.equal(dig('api-http-dev.shop.test'), '127.0.0.1');
    const lbPort = Number(new URL(api.url as string).port);
    // SRV answers are "priority weight port target".
    assert.equal(dig('SRV', '_http._tcp.api-http-dev.shop.test').replace(/^\d+ \d+ /, ''), `${lbPort} api-http-dev.shop.test.`);
    const groupSrv = dig('SRV', '_http._tcp.api-http-dev-v001.shop.test')
      .split('\n')
      .map((l) => l.replace(/^\d+ \d+ /, ''))
      .sort();
    assert.deepEqual(groupSrv, api.groups[0]!.servers.map((s) => `${s.port} ${s.name}.shop.test.`).sort());
    assert.equal(dig(`${api.groups[0]!.servers[0]!.name}.shop.test`), '127.0.0.1');
    assert.match(dig('TXT', 'api-http-dev.shop.test'), /group=api-http-dev-v001/);
    const refused = execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+tries=1', '+time=2', 'example.com'], { encoding: 'utf8' });
    assert.match(refused, /status: REFUSED/);
    assert.doesNotMatch(refused, /flags:[^;]*\bra\b/, 'never offers recursion');
    const nx = execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+tries=1', '+time=2', 'nope.shop.test'], { encoding: 'utf8' });
    assert.match(nx, /status: NXDOMAIN/);
    // A worker cluster has no load balancer: no cluster name, no SRV, no route on the proxy;
    // its group and server are still named (where it runs, which release).
    const worker = st.clusters.find((c) => c.name === 'api-worker-dev')!;
    const workerNx = execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+tries=1', '+time=2', 'api-worker-dev.shop.test'], { encoding: 'utf8' });
    assert.match(workerNx, /status: NXDOMAIN/);
    assert.equal(dig('SRV', '_http._tcp.api-worker-dev.shop.test'), '');
    assert.match(dig('TXT', `${worker.groups[0]!.name}.shop.test`), /release=/);
    assert.equal(dig(`${worker.groups[0]!.servers[0]!.name}.shop.test`), '127.0.0.1');
    assert.equal((await shop.get('api-worker-dev.shop.test', '/')).status, 404);
  });

  test('deploy r2 under continuous load: zero failed requests, one switch from v1 to v2', async (t) => {
    const r2 = await shop.releaseApi('2.0.0');
    assert.equal(r2, 'r2');
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 8 });
    await waitFor(() => load.stats().total >= 300, { what: 'load before the deploy' });
    const t0 = performance.now();
    await shop.p.kiln(['deploy', r2, '--env', 'dev']);
    const t1 = performance.now();
    const atEnd = load.stats().total;
    await waitFor(() => load.stats().total >= Math.max(2000, atEnd + 300), { timeoutMs: 60_000, what: '2,000 requests' });
    const report = await load.stop();
    const during = report.records.filter((r) => r.start >= t0 && r.start <= t1).length;
    const keepAlive = report.records.filter((r) => r.keepAlive).length;
    t.diagnostic(`requests: ${report.total} (${during} during the deploy, ${keepAlive} keep-alive), failed: ${report.failed}`);
    assert.equal(report.failed, 0, report.errors.join('\n'));
    assert.ok(report.total >= 2000);
    assert.ok(during > 0, 'requests were sent while the deploy ran');
    assert.ok(keepAlive > 0 && keepAlive < report.total, 'both keep-alive and new connections were used');
    assert.deepEqual(report.segments(), ['1.0.0', '2.0.0']);
    assert.equal(report.transitions(), 1);
    // The cluster's name answers for the new group the moment the deploy switched.
    assert.match(dig('TXT', 'api-http-dev.shop.test'), /group=api-http-dev-v002/);
    assert.match(dig('TXT', 'api-http-dev-v002.shop.test'), /release=r2/);
    // The new web group calls api through the api cluster's load balancer: it sees api v2.
    assert.match((await shop.get('web-http-dev.shop.test', '/')).body, /api 2\.0\.0/);
    const apiCluster = (await shop.status()).clusters.find((c) => c.name === 'api-http-dev');
    assert.equal(apiCluster?.active, 'api-http-dev-v002');
    assert.deepEqual(apiCluster?.groups.map((g) => [g.name, g.state]), [
      ['api-http-dev-v001', 'disabled'],
      ['api-http-dev-v002', 'active'],
    ]);
  });

  test('a release whose health check fails: non-zero exit naming the server, no request reaches it, r2 keeps serving', async (t) => {
    const r3 = await shop.releaseApi('3.0.0', { unhealthy: true });
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 4 });
    await waitFor(() => load.stats().total >= 100);
    const res = await shop.p.kiln(['deploy', r3, '--env', 'dev'], { allowFail: true });
    await waitFor(() => load.stats().total >= 600);
    const report = await load.stop();
    t.diagnostic(`requests during the failed deploy: ${report.total}, failed: ${report.failed}`);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /server api-http-dev-v003-\d+ /, res.stderr);
    assert.match(res.stderr, /503/, 'says what the health check got');
    assert.match(res.stderr, /--- (log|stdout)/, 'shows the last lines of the server log');
    assert.equal(report.failed, 0, report.errors.join('\n'));
    assert.deepEqual(Object.keys(report.byVersion), ['2.0.0'], 'no request reached the failed release');
    const st = await shop.status();
    const apiCluster = st.clusters.find((c) => c.name === 'api-http-dev');
    assert.equal(apiCluster?.active, 'api-http-dev-v002');
    assert.ok(!apiCluster?.groups.some((g) => g.name === 'api-http-dev-v003'), 'the failed group is gone');
    assert.deepEqual(processesMatching('api-http-dev-v003-', shop.p.dir), [], 'its servers are stopped');
    assert.deepEqual(processesMatching('web-http-dev-v003-', shop.p.dir), [], 'the other new groups of the release are stopped too');
    assert.equal(st.lastDeployment?.state, 'failed');
  });

  test('rollback to the kept group under load: zero failed requests, v2 -> v1 once', async () => {
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 8 });
    await waitFor(() => load.stats().total >= 300);
    const res = await shop.p.kiln(['rollback', '--env', 'dev']);
    assert.match(res.stdout, /api-http-dev: api-http-dev-v002 -> api-http-dev-v001/);
    const n = load.stats().total;
    await waitFor(() => load.stats().total >= n + 300);
    const report = await load.stop();
    assert.equal(report.failed, 0, report.errors.join('\n'));
    assert.deepEqual(report.segments(), ['2.0.0', '1.0.0']);
    const apiCluster = (await shop.status()).clusters.find((c) => c.name === 'api-http-dev');
    assert.equal(apiCluster?.active, 'api-http-dev-v001');
    assert.equal(apiCluster?.groups.find((g) => g.name === 'api-http-dev-v002')?.state, 'disabled', 'kept for rolling forward');
  });

  test('kill -9 of the data plane: the control plane starts it again from its saved routes, which serve as before', { timeout: 60_000 }, async () => {
    const killed = dataPlanePid(shop.p.dir, engine);
    assert.ok(killed, 'the data plane runs');
    process.kill(killed, 'SIGKILL');
    await waitFor(async () => {
      const pid = dataPlanePid(shop.p.dir, engine);
      if (pid === null || pid === killed) return false;
      return (await shop.get('api-http-dev.shop.test', '/items').catch(() => ({ version: '' }))).version === '1.0.0';
    }, { timeoutMs: 30_000, what: 'the data plane back, routing api to the rolled-back v1' });
    assert.match((await shop.get('web-http-dev.shop.test', '/')).body, /api 1\.0\.0/, 'the cluster port too');
    const api = (await shop.status()).clusters.find((c) => c.name === 'api-http-dev');
    assert.equal(api?.active, 'api-http-dev-v001');
  });

  // Only HAProxy refuses: the embedded proxy's canaries are test/e2e/canary.test.ts.
  if (engine === 'haproxy') {
    test('deploy --canary is refused before anything starts, naming proxy.engine', async () => {
      const before = await shop.status();
      const r = await shop.p.kiln(['deploy', 'r2', '--env', 'dev', '--canary'], { allowFail: true });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /a canary deploy needs Kiln's own proxy; kiln\.yaml has proxy\.engine: haproxy/);
      assert.deepEqual((await shop.status()).clusters, before.clusters, 'nothing changed');
    });
  }

  test('deploy --dry-run prints the plan and changes nothing', async () => {
    const before = await shop.status();
    const res = await shop.p.kiln(['deploy', 'r2', '--env', 'dev', '--dry-run', '--json']);
    const plan = JSON.parse(res.stdout).plan as DeployPlanView;
    assert.deepEqual(JSON.parse(res.stdout).proxy, { engine }, 'the plan names the engine the switch goes through');
    const api = plan.clusters.find((c) => c.cluster === 'api-http-dev');
    assert.equal(api?.group, 'api-http-dev-v004');
    assert.equal(api?.action, 'create');
    // r2 changed only api: web's active group already runs exactly r2's web, so it stays.
    assert.deepEqual(
      plan.clusters.filter((c) => c.cluster.startsWith('web-')).map((c) => [c.cluster, c.action, c.group]),
      [['web-http-dev', 'unchanged', 'web-http-dev-v001']],
    );
    assert.match(JSON.parse(res.stdout).text as string, /web-http-dev: unchanged, keeps web-http-dev-v001/);
    // The plan's flags are typed: text, the per-server port and log file, the files a server gets.
    assert.deepEqual(api?.args.flags.find((f) => f.name === 'greeting'), { name: 'greeting', value: [{ kind: 'text', text: 'hello' }] });
    assert.deepEqual(api?.args.flags.find((f) => f.name === 'port'), { name: 'port', value: [{ kind: 'port' }] });
    const db = api?.args.flags.find((f) => f.name === 'db')?.value;
    assert.ok(Array.isArray(db) && db[0]?.kind === 'store' && db[0].name === 'orders' && db[0].host.endsWith('/.kiln/data/dev/orders.db'), JSON.stringify(db));
    const web = plan.clusters.find((c) => c.cluster === 'web-http-dev');
    const apiUrl = web?.args.flags.find((f) => f.name === 'api-url')?.value;
    assert.ok(Array.isArray(apiUrl) && apiUrl[0]?.kind === 'text' && /^http:\/\/127\.0\.0\.1:\d+$/.test(apiUrl[0].text), JSON.stringify(apiUrl));
    // The text form writes them out: the command line, then each file and how it is given.
    const text = JSON.parse(res.stdout).text as string;
    assert.match(text, /run: node server\.js --db=\S+\/\.kiln\/data\/dev\/orders\.db --greeting=hello --log-file=\$\{log\.file\} --port=\$\{port\}/);
    assert.match(text, /file: \S+\/\.kiln\/data\/dev\/orders\.db \(store orders, its directory writable\)/);
    // The runtime's exact command for the first new server: the program, the extracted app's file,
    // the flags with host paths; the port is picked at start. An unchanged cluster starts nothing.
    assert.equal(api?.command?.[0], process.execPath);
    assert.match(String(api?.command?.[1]), /\/\.kiln\/apps\/[0-9a-f]{64}\/server\.js$/);
    assert.ok(api?.command?.includes('--port=${port}'), String(api?.command));
    assert.ok(api?.command?.some((w) => /\/logs\/dev\/api-http-dev\/api-http-dev-v004-1\/api-http-dev-v004-1\.log$/.test(w)), String(api?.command));
    assert.equal(web?.command, undefined);
    assert.match(text, /command: \S+ \S+\/server\.js /);
    // Rendered flags as the server's argv gets them, the same shape as `kiln flags --json`.
    assert.ok(api?.flags.includes('--greeting=hello'), String(api?.flags));
    assert.match(String(web?.flags.find((f) => f.startsWith('--api-url='))), /^--api-url=http:\/\/127\.0\.0\.1:\d+$/);
    // --exit-code: 3 because the plan changes something (api), distinct from 1 (failed).
    const code = await shop.p.kiln(['deploy', 'r2', '--env', 'dev', '--dry-run', '--exit-code'], { allowFail: true });
    assert.equal(code.code, 3, code.stderr);
    assert.deepEqual(await shop.status(), before);
  });
});
}
