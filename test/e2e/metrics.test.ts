// Prometheus metrics end to end (issue 14, part 1): the example shop with `metrics:` in kiln.yaml,
// known traffic through the proxy (a count per status class and one slow request), DNS queries
// and a deploy; then a real Prometheus (Debian's `prometheus`, started here on loopback with its
// own config) scrapes the control plane's and the proxy's /metrics, and PromQL over its HTTP API
// returns the numbers this test caused. promtool lints both expositions too.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import net from 'node:net';
import { setupShop, type Shop } from './lib/shop.js';
import { freePort } from './lib/project.js';
import { instantQuery, startPrometheus, waitForScrapesAfter, type Prometheus } from './lib/prometheus.js';
import { parseExposition, series } from '../../src/metrics/testkit.js';

const API = 'api-http-dev.shop.test';

/** The value of a PromQL instant query that returns one sample (or the sum of a vector's samples). */
async function promql(prom: Prometheus, query: string): Promise<number> {
  const body = await instantQuery(prom, query);
  assert.equal(body.status, 'success', `${query}: ${body.error}`);
  assert.equal(body.data.result.length, 1, `${query} should return one sample, got ${JSON.stringify(body.data.result)}`);
  return Number(body.data.result[0]!.value[1]);
}

/** A request whose body trickles in for `ms`: the proxy's latency of it is at least that long. */
function slowPost(port: number, host: string, urlPath: string, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let reply = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (reply += d));
    sock.on('error', reject);
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no HTTP answer: ${JSON.stringify(reply.slice(0, 200))}`));
    });
    const body = '{not json at all}';
    sock.write(`POST ${urlPath} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`);
    setTimeout(() => sock.write(body.slice(5)), ms);
  });
}

async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

describe('Prometheus metrics of the proxy and the control plane', () => {
  let shop: Shop;
  let prom: Prometheus | null = null;
  let cpPort = 0;
  let proxyMetricsPort = 0;

  before(async () => {
    cpPort = await freePort();
    proxyMetricsPort = await freePort();
    shop = await setupShop({ edit: (y) => `${y}\nmetrics: { host: 127.0.0.1, port: ${cpPort}, proxy-port: ${proxyMetricsPort} }\n` });
  });
  after(async () => {
    await prom?.stop();
    await shop?.p.cleanup();
  });

  test('a PromQL query returns the requests, statuses, latency, DNS answers and deploys this test caused', async () => {
    // What the proxy counted before this test's traffic (setup's deploy sends none through it;
    // a baseline keeps the test exact whatever else reached the cluster).
    const base = parseExposition(await metricsText(proxyMetricsPort));
    const before = (code: string): number => base.get(series('kiln_proxy_requests_total', { cluster: 'api-http-dev', group: 'api-http-dev-v001', code })) ?? 0;
    const baseCount = base.get(series('kiln_proxy_request_duration_seconds_count', { cluster: 'api-http-dev', group: 'api-http-dev-v001' })) ?? 0;
    const baseFast = base.get(series('kiln_proxy_request_duration_seconds_bucket', { cluster: 'api-http-dev', group: 'api-http-dev-v001', le: '1' })) ?? 0;

    const OK = 23;
    const NOT_FOUND = 4;
    for (let i = 0; i < OK; i++) assert.equal((await shop.get(API, '/items')).status, 200);
    for (let i = 0; i < NOT_FOUND; i++) assert.equal((await shop.get(API, `/no-such-page-${i}`)).status, 404);
    // The slow one: its body arrives 1.5 s after its head; the api answers 400 (not JSON) after it.
    assert.equal(await slowPost(shop.p.proxyPort, API, '/orders', 1500), 400);
    const DIGS = 3;
    for (let i = 0; i < DIGS; i++) {
      const out = execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+time=2', '+tries=1', '+short', API, 'A'], { encoding: 'utf8' });
      assert.match(out, /^127\.0\.0\.1$/m);
    }
    const trafficDone = Date.now();

    // The same exposition Prometheus reads passes its own linter.
    for (const port of [cpPort, proxyMetricsPort]) {
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: await metricsText(port), encoding: 'utf8' });
      assert.equal(lint.status, 0, `promtool check metrics on :${port}: ${lint.stdout}${lint.stderr}`);
    }

    prom = await startPrometheus({ 'kiln-control-plane': cpPort, 'kiln-proxy': proxyMetricsPort });
    await waitForScrapesAfter(prom, trafficDone + 100, ['kiln-control-plane', 'kiln-proxy']);

    const c = 'cluster="api-http-dev"';
    assert.equal(await promql(prom, `sum(kiln_proxy_requests_total{${c},code="2xx"})`), before('2xx') + OK);
    assert.equal(await promql(prom, `sum(kiln_proxy_requests_total{${c},code="4xx"})`), before('4xx') + NOT_FOUND + 1);
    assert.equal(await promql(prom, `sum(kiln_proxy_requests_total{${c},code=~"5xx|aborted"})`), before('5xx') + before('aborted'));
    assert.equal(await promql(prom, `sum(kiln_proxy_request_duration_seconds_count{${c}})`), baseCount + OK + NOT_FOUND + 1);
    // Only the slow request is above one second.
    assert.equal(await promql(prom, `sum(kiln_proxy_request_duration_seconds_bucket{${c},le="1"})`), baseFast + OK + NOT_FOUND);
    assert.equal(await promql(prom, `sum(kiln_proxy_requests_in_flight{${c}})`), 0);
    assert.ok((await promql(prom, `sum(kiln_proxy_request_duration_seconds_sum{${c}})`)) >= 1.5);

    // The control plane: setup's one deploy of r1, no rollback, the DNS answers, the deploy call.
    assert.equal(await promql(prom, 'kiln_deploys_total{env="dev",outcome="succeeded"}'), 1);
    assert.equal(await promql(prom, 'count(kiln_deploys_total{outcome!="succeeded"}) or vector(0)'), 0);
    assert.equal(await promql(prom, 'kiln_deploy_duration_seconds_count{env="dev",outcome="succeeded"}'), 1);
    assert.equal(await promql(prom, 'sum(kiln_dns_queries_total{transport="udp",answer="answer"})'), DIGS);
    assert.equal(await promql(prom, 'kiln_api_requests_total{route="POST /v1/deploy",code="200"}'), 1);
    assert.ok((await promql(prom, 'sum(kiln_log_lines_total{env="dev"})')) > 0, 'the servers\' log lines are counted');
    assert.equal(await promql(prom, 'count(up == 1)'), 2);
  });
});
