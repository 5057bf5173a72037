// The example itself on the real test cluster: the shop's web, api and worker from Kiln-built
// images (Debian with nodejs, made by mmdebstrap), pushed to the cluster's registry by digest.
// web reaches api by the URL Kiln renders for its cluster (the Service's DNS name, through the
// cluster DNS); api keeps orders in PostgreSQL (inside the node's namespace), its URL only
// in a Secret mounted as a file. r1 -> r2 under continuous requests fails none.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ensureCluster, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { startClusterLoad } from '../support/k8s-load.js';
import { kilnAt, MINUTE } from '../support/k8s-project.js';
import { podmanTestEnv, removeProject, requirePodman, uniqueProject, type PodmanTestEnv } from '../support/podman.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { makeProject, type TestProject } from '../e2e/lib/project.js';
import { SHOP_TOKEN } from '../e2e/lib/shop.js';

describe('the example shop on the real Kubernetes test cluster', { timeout: 40 * MINUTE }, () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let p: TestProject;
  let pod: PodmanTestEnv;
  let pg: TestPostgres;
  let project = '';
  const db = `kiln_k8s_orders_${process.pid}`;
  const inNet = (args: string[]): string => {
    const r = kilnAt(c, p.dir, args);
    if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const clusterIp = (name: string): string => c.kubectlJson<{ spec: { clusterIP: string } }>(['get', 'service', name, '-n', ns.name]).spec.clusterIP;
  const curl = (args: string[]): string => {
    const r = c.inClusterNet(['curl', '-sS', '--max-time', '10', ...args]);
    if (r.status !== 0) throw new Error(`curl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    c = ensureCluster();
    ns = await c.createNamespace('kshop');
    pod = podmanTestEnv();
    requirePodman(pod); // web's build step runs in its OS image, as on podman
    pg = await startPostgres({ netns: { path: c.netnsPath, address: c.nodeIp } });
    pg.createDatabase(db);
    p = await makeProject();
    project = uniqueProject('shop');
    const file = path.join(p.dir, 'kiln.yaml');
    const doc = parseDocument(fs.readFileSync(file, 'utf8'));
    doc.setIn(['project'], project);
    doc.setIn(['environments', 'staging', 'podman', 'containers-conf'], pod.settings.containersConf);
    // What a user adds to run the shop on a cluster: where, the store, and the flags. The apps
    // listen on loopback unless told otherwise; in a pod they must listen on its address.
    doc.setIn(['environments', 'k8s'], doc.createNode({
      runtime: 'kubernetes',
      kubernetes: { namespace: ns.name, kubeconfig: c.kubeconfig, registry: c.registry, 'registry-cert-dir': c.registryCertDir },
      data: { orders: { engine: 'postgres', url: '${secret.orders_url}' } },
      flags: { api: { db: '${data.orders.url}', host: '0.0.0.0' }, web: { 'token-file': '${secret.web_token}', host: '0.0.0.0' } },
    }));
    fs.writeFileSync(file, doc.toString({ lineWidth: 0 }));
    await p.kiln(['init']);
    await p.kiln(['secret', 'set', 'orders_url', '--env', 'k8s'], { input: `postgres://${pg.user}:${pg.password}@${c.nodeIp}:${pg.port}/${db}` });
    await p.kiln(['secret', 'set', 'web_token', '--env', 'k8s'], { input: SHOP_TOKEN });
    await p.kiln(['os', 'build', 'bookworm'], { timeoutMs: 900_000 });
    await p.kiln(['app', 'tag', 'api', '1.0.0']);
    await p.kiln(['app', 'tag', 'web', '1.0.0']);
    await p.kiln(['release', 'create']);
  });

  after(async () => {
    ns?.delete();
    await p?.cleanup();
    if (pod) {
      removeProject(pod, project);
      pod.cleanup();
    }
    pg?.dropDatabase(db);
  });

  test('r1: web, api and the worker run as pods; web answers through its Service with what api said', async () => {
    inNet(['deploy', 'r1', '--env', 'k8s']);
    const web = clusterIp('web-http-k8s');
    await waitFor('web to answer with api\'s version', 2 * MINUTE, () => /api 1\.0\.0/.test(c.httpGet(`http://${web}/`).body), 1000);
    const pods = c.kubectlJson<{ items: Array<{ metadata: { labels: Record<string, string> }; status: { phase: string } }> }>(['get', 'pods', '-n', ns.name]).items;
    const running = (cluster: string) => pods.filter((x) => x.metadata.labels['kiln.io/cluster'] === cluster && x.status.phase === 'Running').length;
    assert.deepEqual([running('web-http-k8s'), running('api-http-k8s'), running('api-worker-k8s')], [2, 2, 1]);
    // web read its token file, mounted from its Secret.
    assert.match(c.httpGet(`http://${web}/`).body, /id="token"/);
  });

  test('orders reach PostgreSQL through the api Service; the URL is only in its Secret', () => {
    const api = clusterIp('api-http-k8s');
    for (const o of [{ item: 'glazed bowl', qty: 2, price: 18 }, { item: 'kiln-fired mug', qty: 1, price: 12.5 }]) {
      curl(['-f', '-X', 'POST', '-H', 'content-type: application/json', '--data', JSON.stringify(o), `http://${api}/orders`]);
    }
    const seen = JSON.parse(curl([`http://${api}/orders`])) as { engine: string; orders: Array<Record<string, unknown>> };
    assert.equal(seen.engine, 'postgres');
    assert.deepEqual(seen.orders.map((o) => [o['item'], o['qty'], o['price_cents']]), [['glazed bowl', 2, 1800], ['kiln-fired mug', 1, 1250]]);
    assert.equal(pg.psql(db, 'SELECT count(*) FROM orders').trim(), '2');
    const objects = c.kubectl(['get', 'deployments,services,configmaps,pods', '-n', ns.name, '-o', 'yaml']);
    assert.ok(!objects.includes(pg.password) && !objects.includes(SHOP_TOKEN), 'no secret value outside its Secret');
  });

  test('r2 (a new api) under continuous requests to web: zero failed; web\'s keep-alive pool moves to the new api while the load goes on', async () => {
    await p.bumpVersion('api', '2.0.0');
    await p.kiln(['app', 'tag', 'api', '2.0.0']);
    await p.kiln(['release', 'create']);
    const web = clusterIp('web-http-k8s');
    const load = startClusterLoad(c, `http://${web}/`);
    await new Promise((r) => setTimeout(r, 1500));
    inNet(['deploy', 'r2', '--env', 'k8s']);
    await new Promise((r) => setTimeout(r, 3000));
    const summary = await load.stop();
    assert.equal(summary.failed, 0, summary.errors.join('; '));
    assert.ok(summary.requests > 20, `only ${summary.requests} requests`);
    // web keeps a keep-alive pool to api's Service, busy all along under this load, so its
    // connections never idle out: web shows the new api before the load ends only because the
    // deploy recycled the kept api pods (groups.ts recyclePods), closing those connections.
    const apiVersions = summary.versions.map((body) => /api (\d+\.\d+\.\d+)/.exec(body)?.[1] ?? body.slice(0, 80));
    assert.equal(apiVersions[0], '1.0.0', apiVersions.join(' '));
    assert.equal(apiVersions.at(-1), '2.0.0', `under load web still shows api ${apiVersions.at(-1)}: ${summary.changes.join('\n')}`);
    assert.match(c.httpGet(`http://${web}/`).body, /api 2\.0\.0/);
  });
});
