// The control plane's metrics fed by the same hooks the control plane wires: a RuntimeState's
// finished deployments, events, a real DNS server queried with dig, and the API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempRuntimeState } from '../store/testkit.js';
import { dig, startTestDns } from '../dns/testkit.js';
import { parseExposition, series } from '../metrics/testkit.js';
import { createApiServer, type ApiHandlers } from './api.js';
import { ControlPlaneMetrics } from './metrics.js';

test('deploys and rollbacks are counted by outcome with their durations, whoever finishes them', (t) => {
  const m = new ControlPlaneMetrics();
  const state = tempRuntimeState(t);
  state.onDeploymentFinished = (d) => m.deploymentFinished(d);
  state.finishDeployment(state.startDeployment('dev', 'r1', 'deploy'), true);
  state.finishDeployment(state.startDeployment('dev', 'r2', 'deploy'), false, 'health check failed');
  state.finishDeployment(state.startDeployment('dev', 'r1', 'rollback'), true);
  state.markInterrupted(state.startDeployment('prod', 'r2', 'deploy'));
  const x = parseExposition(m.expose());
  assert.equal(x.get(series('kiln_deploys_total', { env: 'dev', outcome: 'succeeded' })), 1);
  assert.equal(x.get(series('kiln_deploys_total', { env: 'dev', outcome: 'failed' })), 1);
  assert.equal(x.get(series('kiln_deploys_total', { env: 'prod', outcome: 'interrupted' })), 1);
  assert.equal(x.get(series('kiln_rollbacks_total', { env: 'dev', outcome: 'succeeded' })), 1);
  assert.equal(x.get(series('kiln_deploy_duration_seconds_count', { env: 'dev', outcome: 'succeeded' })), 1);
  assert.equal(x.get(series('kiln_rollback_duration_seconds_bucket', { env: 'dev', outcome: 'succeeded', le: '+Inf' })), 1);
});

test('reconciler events and crash loops are counted per cluster; other events are not', () => {
  const m = new ControlPlaneMetrics();
  const about = { env: 'dev', cluster: 'api-http-dev', subject: 'x' };
  m.event('server.dead', about);
  m.event('server.dead', about);
  m.event('server.unhealthy', about);
  m.event('server.replaced', about);
  m.event('server.failed', about);
  m.event('deploy.started', about);
  m.crashLoop('dev', 'api-http-dev', 'rolled-back');
  const x = parseExposition(m.expose());
  assert.equal(x.get(series('kiln_reconciler_servers_lost_total', { env: 'dev', cluster: 'api-http-dev', reason: 'dead' })), 2);
  assert.equal(x.get(series('kiln_reconciler_servers_lost_total', { env: 'dev', cluster: 'api-http-dev', reason: 'unhealthy' })), 1);
  assert.equal(x.get(series('kiln_reconciler_replacements_total', { env: 'dev', cluster: 'api-http-dev', outcome: 'healthy' })), 1);
  assert.equal(x.get(series('kiln_reconciler_replacements_total', { env: 'dev', cluster: 'api-http-dev', outcome: 'failed' })), 1);
  assert.equal(x.get(series('kiln_crash_loops_total', { env: 'dev', cluster: 'api-http-dev', action: 'rolled-back' })), 1);
});

test('log lines by cluster and stream, and their lag from the write', () => {
  const tags = { project: 'shop', env: 'dev', service: 'api', role: 'http', cluster: 'api-http-dev', group: 'api-http-dev-v001', server: 'api-http-dev-v001-1', stream: 'stdout' as const };
  const m = new ControlPlaneMetrics((id) => (id === 7 ? tags : undefined));
  m.logsStored([{ tag: 7, texts: ['a', 'b', 'c'], writtenAt: 10_000 }, { tag: 7, texts: ['d'], writtenAt: 10_400 }], 10_500);
  const x = parseExposition(m.expose());
  assert.equal(x.get(series('kiln_log_lines_total', { env: 'dev', cluster: 'api-http-dev', stream: 'stdout' })), 4);
  assert.equal(x.get(series('kiln_log_ingest_lag_seconds_count')), 2);
  assert.equal(x.get(series('kiln_log_ingest_lag_seconds_sum')), 0.6);
  assert.equal(x.get(series('kiln_log_ingest_lag_seconds_bucket', { le: '0.1' })), 1);
});

test('DNS queries are counted by transport and answer from what the server sent', async (t) => {
  const m = new ControlPlaneMetrics();
  const dns = await startTestDns(undefined, { onQuery: (tr, a) => m.dnsQuery(tr, a) });
  t.after(() => dns.handle.close());
  assert.equal((await dig(dns.port, ['api-http-dev.shop.test', 'A'])).status, 'NOERROR');
  assert.equal((await dig(dns.port, ['api-http-dev.shop.test', 'A', '+tcp'])).status, 'NOERROR');
  assert.equal((await dig(dns.port, ['nothing-here.shop.test', 'A'])).status, 'NXDOMAIN');
  assert.equal((await dig(dns.port, ['example.org', 'A'])).status, 'REFUSED');
  const x = parseExposition(m.expose());
  assert.equal(x.get(series('kiln_dns_queries_total', { transport: 'udp', answer: 'answer' })), 1);
  assert.equal(x.get(series('kiln_dns_queries_total', { transport: 'tcp', answer: 'answer' })), 1);
  assert.equal(x.get(series('kiln_dns_queries_total', { transport: 'udp', answer: 'nxdomain' })), 1);
  assert.equal(x.get(series('kiln_dns_queries_total', { transport: 'udp', answer: 'refused' })), 1);
  assert.equal(x.get(series('kiln_dns_queries_total', { transport: 'udp', answer: 'dropped' })), 0);
});

test('API requests by route and status; unknown paths are one "other" route', async (t) => {
  const m = new ControlPlaneMetrics();
  const none = async (): Promise<never> => {
    throw new Error('not called');
  };
  const h: ApiHandlers = { status: none, events: async () => [], deploy: none, rollback: none, down: none, envCreate: none, envDestroy: none, promote: none, traffic: none, rollout: none, logs: none, deployments: none, releases: none, release: none, releaseDiff: none, live: none, logStream: none };
  const server = createApiServer('tok', h, () => undefined, (method, path, status, s) => m.apiRequest(method, path, status, s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const call = (path: string, token = 'tok'): Promise<number> =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
  assert.equal(await call('/v1/health'), 200);
  assert.equal(await call('/v1/events?limit=3'), 200);
  assert.equal(await call('/v1/health', 'wrong'), 401);
  await call('/v1/made-up-1');
  await call('/v1/made-up-2');
  await new Promise((r) => setTimeout(r, 50));
  const x = parseExposition(m.expose());
  assert.equal(x.get(series('kiln_api_requests_total', { route: 'GET /v1/health', code: '200' })), 1);
  assert.equal(x.get(series('kiln_api_requests_total', { route: 'GET /v1/events', code: '200' })), 1);
  assert.equal(x.get(series('kiln_api_requests_total', { route: 'GET /v1/health', code: '401' })), 1);
  assert.equal([...x.keys()].filter((k) => k.startsWith('kiln_api_requests_total{route="other"')).reduce((n, k) => n + x.get(k)!, 0), 2);
});
