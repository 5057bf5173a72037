// `kiln status` shows the proxy's per-cluster fallback count when > 0, and never depends on the
// proxy answering: down or stuck, status is the same without the count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runPaths } from './paths.js';
import { ProxySupervisor } from './proxy-supervisor.js';
import { formatStatus, withFallbacks, type StatusCluster, type StatusView } from './status.js';

const cluster = (name: string): StatusCluster => ({
  name,
  env: 'dev',
  service: name.split('-')[0]!,
  role: 'http',
  host: `${name}.shop.test`,
  url: 'http://127.0.0.1:7101',
  active: `${name}-v001`,
  groups: [],
});
const view: StatusView = { project: 'shop', env: 'dev', lastDeployment: null, clusters: [cluster('api-http-dev'), cluster('web-http-dev')] };

test('status shows fallbacks only for clusters that had some, in text and JSON', () => {
  const v = withFallbacks(view, { 'api-http-dev': 7, 'web-http-dev': 0, 'gone-http-dev': 3 });
  assert.equal(v.clusters[0]!.fallbacks, 7);
  assert.equal('fallbacks' in v.clusters[1]!, false);
  assert.deepEqual(JSON.parse(JSON.stringify(v)).clusters.map((c: StatusCluster) => c.fallbacks ?? null), [7, null]);
  const text = formatStatus(v).split('\n');
  assert.equal(text[0], 'dev: nothing serves');
  assert.equal(text[2], '  ! 7 requests served by the kept group: no server of the active group accepted them');
  assert.equal(text.filter((l) => l.includes('kept group')).length, 1);
  assert.deepEqual(withFallbacks(view, null), view, 'no proxy: the view is unchanged');
});

test('the proxy\'s counts are read with one short admin call; a missing or stuck proxy gives null', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-status-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = runPaths(dir);
  fs.mkdirSync(paths.runDir, { recursive: true });
  const sup = new ProxySupervisor(paths, { host: '127.0.0.1', port: 0 }, () => undefined);
  assert.equal(await sup.stats(300), null, 'no proxy socket');

  // A proxy that accepts the connection and never answers.
  const held: net.Socket[] = [];
  const stuck = net.createServer((c) => void held.push(c));
  await new Promise<void>((r) => stuck.listen(paths.proxyAdmin, r));
  try {
    assert.equal(await sup.stats(300), null, 'a stuck proxy');
  } finally {
    for (const c of held) c.destroy();
    await new Promise<void>((r) => stuck.close(() => r()));
  }

  const answering = http.createServer((req, res) => {
    res.writeHead(req.url === '/stats' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ version: 3, requests: 10, failed: 0, inFlight: {}, tunnels: {}, fallbacks: { 'api-http-dev': 7 } }));
  });
  await new Promise<void>((r) => answering.listen(paths.proxyAdmin, r));
  try {
    assert.deepEqual((await sup.stats(300))?.fallbacks, { 'api-http-dev': 7 });
  } finally {
    await new Promise<void>((r) => answering.close(() => r()));
  }
});
