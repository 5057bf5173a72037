// Issue 12: `env create`, `promote`, `rebuild --deploy` and `env destroy` on a Kubernetes
// environment, through a running control plane as on every runtime, against the real test
// cluster. What a user sees: the created environment's pods ready in the same namespace, under
// its own names; a release promoted only once it ran healthy there; a rebuild that goes side by
// side first and leaves no object of the side-by-side environment; a destroy that leaves none.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureCluster, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { kilnCommand, makeK8sProject, MINUTE, type K8sProject } from '../support/k8s-project.js';
import { freePort } from '../e2e/lib/project.js';
import type { KubeStatus } from '../../src/runtime/kubernetes/status.js';
import { ApiClient } from '../../src/server/client.js';
import type { StatusView } from '../../src/server/status.js';

const PROJECT = 'k8senv';
// Leases come and go with every pass of the control plane's watch (lease.ts): checked apart.
const KINDS = ['deployments', 'replicasets', 'services', 'secrets', 'configmaps'];

describe('env create, promote, rebuild --deploy and env destroy on Kubernetes', { timeout: 30 * MINUTE }, () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let p: K8sProject;
  let server: ChildProcess;
  let serverLog = '';
  let r1 = '';
  let r2 = '';

  /** Every object of one environment in the namespace, as "kind/name". */
  const objectsOf = (env: string): string[] =>
    KINDS.flatMap((kind) =>
      c.kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(['get', kind, '-n', ns.name, '-l', `kiln.io/project=${PROJECT},kiln.io/env=${env}`]).items.map((o) => `${kind}/${o.metadata.name}`),
    );
  const status = (env: string): KubeStatus => JSON.parse(p.mustKiln(['status', '--env', env, '--json'])) as KubeStatus;
  /** The release of each cluster's active group, by cluster. */
  const serving = (env: string): Record<string, string | undefined> =>
    Object.fromEntries(status(env).clusters.map((cl) => [cl.cluster, cl.groups.find((g) => g.group === cl.active)?.release]));
  const envNames = (): string[] => (JSON.parse(p.mustKiln(['env', 'list', '--json'])) as Array<{ name: string }>).map((e) => e.name);

  before(async () => {
    c = ensureCluster();
    ns = await c.createNamespace('kenv');
    p = makeK8sProject(c, ns, { project: PROJECT, secret: `env-${process.pid}`, extraYaml: [`proxy: { port: ${await freePort()} }`, `dns: { port: ${await freePort()} }`] });
    const cmd = kilnCommand(c, ['server']);
    server = spawn(cmd.file, cmd.args, { cwd: p.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (b: Buffer) => (serverLog += b.toString()));
    server.stderr!.on('data', (b: Buffer) => (serverLog += b.toString()));
    await waitFor('the control plane', MINUTE, () => fs.existsSync(path.join(p.dir, '.kiln', 'run', 'kiln.sock')));
  });

  after(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((res) => server.once('exit', res));
    }
    ns?.delete();
    await p?.remove();
  });

  test('env create --like a kubernetes environment: its own clusters and pods in the same namespace, ready; listed', () => {
    r1 = p.release('1');
    const out = JSON.parse(p.mustKiln(['env', 'create', 'try-r1', '--release', r1, '--like', 'prod', '--json'])) as { env: string; like: string; release: string };
    assert.deepEqual([out.env, out.like, out.release], ['try-r1', 'prod', r1]);
    assert.deepEqual(serving('try-r1'), { 'jobs-worker-try-r1': r1, 'web-http-try-r1': r1 });
    const web = status('try-r1').clusters.find((cl) => cl.cluster === 'web-http-try-r1')!;
    const active = web.groups.find((g) => g.group === web.active)!;
    assert.deepEqual(active.servers.map((s) => s.state), ['ready', 'ready'], 'both pods of the active group are ready');
    assert.ok(objectsOf('try-r1').includes('services/web-http-try-r1'), objectsOf('try-r1').join(', '));
    assert.deepEqual(objectsOf('prod'), [], 'prod was not touched');
    assert.ok(envNames().includes('try-r1'));
  });

  test("the control plane's status of a kubernetes environment has the shape every runtime's has", async () => {
    const view = await new ApiClient(path.join(p.dir, '.kiln')).get<StatusView>('/v1/status?env=try-r1');
    assert.equal(view.env, 'try-r1');
    assert.equal(view.lastDeployment?.release, r1);
    assert.equal(view.lastDeployment?.state, 'succeeded');
    const web = view.clusters.find((cl) => cl.name === 'web-http-try-r1')!;
    assert.deepEqual([web.service, web.role], ['web', 'http']);
    assert.match(web.host ?? '', /^web-http-try-r1\./);
    const g = web.groups.find((x) => x.name === web.active)!;
    assert.deepEqual([g.state, g.replicas, g.healthy, g.release], ['active', 2, 2, r1]);
    const worker = view.clusters.find((cl) => cl.name === 'jobs-worker-try-r1')!;
    assert.equal(worker.host, null, 'a worker has no load balancer name');
  });

  test('promote: refused for a release that never ran in --from, then exactly the tested one reaches prod', () => {
    r2 = p.release('2');
    const refused = p.kiln(['promote', r2, '--from', 'try-r1', '--to', 'prod', '--json']);
    assert.equal(refused.status, 1, refused.stderr);
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'PROMOTE_REFUSED');
    assert.match(refused.stderr, new RegExp(`${r2} never ran healthy in try-r1`));
    assert.deepEqual(objectsOf('prod'), [], 'a refused promote changes nothing');
    const r = JSON.parse(p.mustKiln(['promote', r1, '--from', 'try-r1', '--to', 'prod', '--json'])) as { from: string; tested: boolean; groups: Array<{ cluster: string }> };
    assert.equal(r.tested, true);
    assert.deepEqual(r.groups.map((g) => g.cluster).sort(), ['jobs-worker-prod', 'web-http-prod']);
    assert.deepEqual(serving('prod'), { 'jobs-worker-prod': r1, 'web-http-prod': r1 });
  });

  test("the control plane's deploy --dry-run of a kubernetes environment: the objects it would apply, nothing written", async () => {
    const api = new ApiClient(path.join(p.dir, '.kiln'));
    type Plan = { runtime: string; unchanged: string[]; objects: Array<{ kind: string; metadata: { name: string } }>; text: string };
    const before = objectsOf('try-r1');
    const plan = await api.stream<Plan>('/v1/deploy', { env: 'try-r1', release: r2, dryRun: true }, () => undefined);
    assert.equal(plan.runtime, 'kubernetes');
    assert.deepEqual(plan.unchanged, []);
    assert.deepEqual(plan.objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort(), ['jobs-worker-try-r1-v002', 'web-http-try-r1-v002']);
    assert.match(plan.text, /web-http-try-r1: new group web-http-try-r1-v002 with 2 pod\(s\), then switch/);
    assert.deepEqual(objectsOf('try-r1'), before, 'a dry run applies nothing');
    // What already runs is unchanged and has no object to apply.
    const same = await api.stream<Plan>('/v1/deploy', { env: 'prod', release: r1, dryRun: true }, () => undefined);
    assert.deepEqual([same.unchanged.sort(), same.objects], [['jobs-worker-prod', 'web-http-prod'], []]);
  });

  test('env destroy: no object of the environment is left, nor its secrets; prod serves on', async () => {
    const out = JSON.parse(p.mustKiln(['env', 'destroy', 'try-r1', '--json'])) as { env: string; groups: string[] };
    assert.deepEqual(out.groups.sort(), ['jobs-worker-try-r1-v001', 'web-http-try-r1-v001']);
    assert.deepEqual(objectsOf('try-r1'), []);
    await waitFor('the pods of try-r1 gone', 2 * MINUTE, () => c.kubectlJson<{ items: unknown[] }>(['get', 'pods', '-n', ns.name, '-l', `kiln.io/env=try-r1`]).items.length === 0, 1000);
    assert.ok(!envNames().includes('try-r1'));
    assert.ok(!fs.existsSync(path.join(p.dir, '.kiln', 'secrets', 'try-r1')), 'its secret files are gone');
    await waitFor('no Lease of try-r1', MINUTE, () => c.kubectlJson<{ items: unknown[] }>(['get', 'leases', '-n', ns.name, '-l', `kiln.io/env=try-r1`]).items.length === 0, 1000);
    assert.deepEqual(serving('prod'), { 'jobs-worker-prod': r1, 'web-http-prod': r1 });
  });

  test('rebuild --deploy prod: side by side first, then prod switches; nothing of the side-by-side environment is left', () => {
    // An app edit: the rebuild makes new app tags and a new release.
    fs.writeFileSync(path.join(p.dir, 'apps', 'web', 'version'), '3\n');
    const lines = p.mustKiln(['rebuild', '--deploy', 'prod', '--json']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.at(-1) as { type: string; release: { name: string; created: boolean }; deploy: { deployed: boolean; sideBySide: string; switched: string[] } };
    assert.equal(result.type, 'result');
    assert.equal(result.release.created, true);
    const side = result.deploy.sideBySide;
    assert.match(side, /^prod-rebuild-\d+$/);
    assert.equal(result.deploy.deployed, true);
    assert.deepEqual(result.deploy.switched.sort(), ['jobs-worker-prod', 'web-http-prod']);
    const events = lines.filter((l) => l.type === 'event').map((l) => String(l.kind));
    assert.ok(events.indexOf('side.healthy') >= 0 && events.indexOf('side.healthy') < events.lastIndexOf('deploy.succeeded'), events.join(', '));
    assert.deepEqual(serving('prod'), { 'jobs-worker-prod': result.release.name, 'web-http-prod': result.release.name });
    assert.deepEqual(objectsOf(side), [], `objects of ${side} left`);
    assert.ok(!envNames().includes(side));
    assert.doesNotMatch(serverLog, /Error: .*at /, 'no stack trace in the control plane log');
  });
});
