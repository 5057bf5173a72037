// The canary's Prometheus gate (docs/canary.md, gates.prometheus) against a real Prometheus:
// Debian's `prometheus`, started here on loopback, scraping the proxy's own /metrics every second.
// The gate's query is the canary group's share of 5xx answers over the proxy's
// kiln_proxy_requests_total; the proxy's own 5xx gate is opened wide (max-5xx-increase: 100%),
// so only the Prometheus gate can stop a release that answers 5% 500s. A healthy release passes
// it and is promoted; the bad one is aborted with the query's number, the stable group serving
// every request throughout. Also: promQuery's reading of what a real Prometheus answers (one
// number, a scalar, no series, several, NaN, a query error, a route prefix).
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER, drive, makeCanaryProject, type CanaryProject, type CanaryYaml } from './lib/canary-fixture.js';
import { freePort } from './lib/project.js';
import { startPrometheus, waitForScrapesAfter, type Prometheus } from './lib/prometheus.js';
import { sleep } from './lib/wait.js';
import { promQuery } from '../../src/canary/prometheus.js';

/** The canary group's 5xx share over the last minute; no 5xx series yet counts as 0. */
const ERROR_SHARE =
  '(sum(rate(kiln_proxy_requests_total{cluster="$cluster",group="$canary",code="5xx"}[1m])) or vector(0))' +
  ' / sum(rate(kiln_proxy_requests_total{cluster="$cluster",group="$canary"}[1m]))';

describe('promQuery against a real Prometheus', () => {
  let prom: Prometheus;
  before(async () => {
    // No targets: the answers come from PromQL's own functions. Behind a route prefix, as when
    // Prometheus is served under a path of a reverse proxy: the gate's url names that path.
    prom = await startPrometheus({}, { routePrefix: '/prom' });
  });
  after(async () => {
    await prom?.stop();
  });

  test('one number (a one-sample vector or a scalar) is the number; no series, several, NaN or a query error are none', async () => {
    assert.match(prom.url, /\/prom$/);
    assert.equal(await promQuery(prom.url, 'vector(0.25)'), 0.25);
    assert.equal(await promQuery(prom.url + '/', 'scalar(vector(3))'), 3);
    assert.equal(await promQuery(prom.url, 'vector(1) > 2'), null, 'an empty vector');
    assert.equal(await promQuery(prom.url, 'vector(1) or label_replace(vector(2), "a", "b", "", "")'), null, 'two series');
    assert.equal(await promQuery(prom.url, 'vector(0) / 0'), null, 'NaN');
    assert.equal(await promQuery(prom.url, 'sum(rate(x[1m])'), null, 'a parse error (HTTP 400)');
    assert.equal(await promQuery(prom.url, 'no_such_metric_anywhere'), null, 'a metric nobody exports');
  });
});

describe('kiln deploy --canary gated by a real Prometheus', () => {
  let cp: CanaryProject;
  let prom: Prometheus;
  let yaml: CanaryYaml;

  before(async () => {
    const metrics = { port: await freePort(), proxyPort: await freePort() };
    prom = await startPrometheus({ 'kiln-proxy': metrics.proxyPort });
    // One step of 50% for 8 s: Prometheus has scraped the canary group several times when the
    // step would pass on the proxy's numbers, which is when its gate is asked. The proxy's own
    // gates are opened wide (p99 too: a loaded machine's jitter must not abort first).
    yaml = {
      steps: '[{ weight: 50%, for: 8s }]',
      minRequests: 100,
      maxP99Ratio: 1000,
      max5xxIncrease: '100%',
      metrics,
      prometheus: { url: prom.url, query: ERROR_SHARE, max: 0.01 },
    };
    cp = await makeCanaryProject(yaml);
    await cp.p.startServer();
    await cp.p.kiln(['deploy', await cp.release({ version: '1.0.0', delayMs: 20, errorRate: 0 }), '--env', 'dev']);
    await waitForScrapesAfter(prom, Date.now(), ['kiln-proxy']);
  });
  after(async () => {
    await cp?.p.cleanup();
    await prom?.stop();
  });

  test('a healthy release passes the Prometheus gate (its number is 0) and is promoted', { timeout: 5 * 60_000 }, async () => {
    const rel = await cp.release({ version: '2.0.0', delayMs: 20, errorRate: 0 });
    const load = drive(cp.p.proxyPort, { clients: 6, sticky: false, weight: () => 0 });
    let r;
    try {
      r = await cp.p.kiln(['deploy', rel, '--env', 'dev', '--canary'], { allowFail: true, timeoutMs: 4 * 60_000 });
    } finally {
      await load.stop();
    }
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /canary passed every step/);
    // The step's event names the query's number and the limit: the gate was asked and passed.
    assert.match(r.stderr, /last step done \(gates passed: .*, prometheus 0 \(max 0\.01\)\)/);
    assert.equal(load.samples.filter((s) => s.status !== 200).length, 0);
    assert.ok(load.samples.some((s) => s.version === '2.0.0'), 'the canary took requests during its step');
    assert.equal((await cp.route())?.active, 'echo-http-dev-v002');
  });

  test('a release answering 5% 500s fails the Prometheus gate (the proxy\'s own 5xx gate allows it) and is aborted', { timeout: 5 * 60_000 }, async () => {
    await cp.configure(yaml);
    const rel = await cp.release({ version: '3.0.0', delayMs: 20, errorRate: 0.05 });
    const load = drive(cp.p.proxyPort, { clients: 6, sticky: false, weight: () => 0 });
    let r;
    try {
      r = await cp.p.kiln(['deploy', rel, '--env', 'dev', '--canary', '--json'], { allowFail: true, timeoutMs: 4 * 60_000 });
      await sleep(300);
    } finally {
      await load.stop();
    }
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as {
      outcome: string;
      failure: { cluster: string; lines: string[]; result: { checks: Array<{ gate: string; value: number | null; limit: number; ok: boolean }> } };
    };
    assert.equal(out.outcome, 'aborted');
    assert.equal(out.failure.cluster, CLUSTER);
    const byGate = new Map(out.failure.result.checks.map((c) => [c.gate, c]));
    assert.equal(byGate.get('max-5xx-increase')?.ok, true, 'the proxy\'s own 5xx gate let it through');
    assert.equal(byGate.get('max-p99-ratio')?.ok, true);
    const p = byGate.get('prometheus');
    assert.equal(p?.ok, false, JSON.stringify(out.failure.result.checks));
    assert.equal(p?.limit, 0.01);
    // Every 20th request of the canary is a 500: about 0.05, whatever Prometheus's extrapolation.
    assert.ok(p!.value !== null && p!.value > 0.02 && p!.value < 0.1, `the query's number: ${p!.value}`);
    assert.deepEqual(out.failure.lines, [`prometheus query: ${p!.value}, limit 0.01`]);
    // The stable group served throughout; after the abort it answers everything.
    const stableFailed = load.samples.filter((s) => s.status !== 200 && s.version !== '3.0.0');
    assert.equal(stableFailed.length, 0, `requests that failed outside the canary: ${JSON.stringify(stableFailed.slice(0, 5))}`);
    assert.ok(load.samples.slice(-20).every((s) => s.version === '2.0.0' && s.status === 200), 'after the abort the stable group answers everything');
    const route = await cp.route();
    assert.equal(route?.canary, undefined);
    assert.equal(route?.active, 'echo-http-dev-v002');
  });
});
