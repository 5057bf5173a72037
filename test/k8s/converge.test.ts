// Issue 12's acceptance: the Kiln doing a deploy is killed (kill -9 of its whole process group)
// at a random moment of each of 10 deploys on the real test cluster; a control plane started
// afterwards adopts what it finds by labels and converges: exactly one active group per cluster
// (its Service selects it; a worker's kept group runs nothing), no Deployment, ReplicaSet,
// Service or Secret that no record names or mounts. Then a plain deploy still works.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureCluster, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { kilnCommand, makeK8sProject, MINUTE, type K8sProject } from '../support/k8s-project.js';
import { freePort } from '../e2e/lib/project.js';
import { chaosSeed } from '../e2e/lib/consistency.js';
import { rng } from '../../src/util/fuzzkit.js';
import type { KubeStatus } from '../../src/runtime/kubernetes/status.js';

interface Obj { metadata: { name: string; labels?: Record<string, string>; ownerReferences?: Array<{ name: string }> }; spec?: Record<string, unknown> }

function start(c: TestCluster, dir: string, args: string[]): ChildProcess {
  // Its own process group, so the kill takes every child (skopeo, migrations) with it, as a crash of the machine would.
  const cmd = kilnCommand(c, args);
  return spawn(cmd.file, cmd.args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A deploy run to its end, with when (ms after its start) its first group was created and its first cluster switched. */
async function timedDeploy(c: TestCluster, dir: string, release: string): Promise<{ ms: number; created: number | null; switched: number | null }> {
  const t0 = Date.now();
  const d = start(c, dir, ['deploy', release, '--env', 'prod']);
  let created: number | null = null;
  let switched: number | null = null;
  let out = '';
  d.stderr!.on('data', (b: Buffer) => {
    const text = b.toString();
    out += text;
    if (created === null && /: group \S+ created/.test(text)) created = Date.now() - t0;
    if (switched === null && /: switched to /.test(text)) switched = Date.now() - t0;
  });
  d.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((res) => d.once('exit', (x) => res(x)));
  assert.equal(code, 0, out);
  return { ms: Date.now() - t0, created, switched };
}

describe('a deploy killed at a random moment, 10 times: the control plane converges', { timeout: 40 * MINUTE }, () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let p: K8sProject;
  const items = (kind: string): Obj[] => c.kubectlJson<{ items: Obj[] }>(['get', kind, '-n', ns.name, '-l', 'kiln.io/project=k8sconv']).items;

  /** What is wrong with the namespace, or null when it has converged. */
  const problems = (): string | null => {
    const s = JSON.parse(p.mustKiln(['status', '--env', 'prod', '--json'])) as KubeStatus;
    const deployments = items('deployments');
    const names = new Set(deployments.map((d) => d.metadata.name));
    const out: string[] = [];
    for (const cl of s.clusters) {
      if (!cl.active) continue;
      const kept = new Set([cl.active, cl.previous].filter(Boolean));
      for (const g of cl.groups) if (!kept.has(g.group)) out.push(`${cl.cluster}: orphan group ${g.group}`);
      if (!names.has(cl.active)) out.push(`${cl.cluster}: active ${cl.active} has no Deployment`);
      if (cl.cluster.startsWith('web-')) {
        const svc = items('services').find((x) => x.metadata.name === cl.cluster);
        const selected = (svc?.spec?.['selector'] as Record<string, string> | undefined)?.['kiln.io/group'];
        if (selected !== cl.active) out.push(`${cl.cluster}: Service selects ${selected ?? 'nothing'}, active is ${cl.active}`);
      } else {
        const running = deployments.filter((d) => d.metadata.labels?.['kiln.io/cluster'] === cl.cluster && Number(d.spec?.['replicas']) > 0).map((d) => d.metadata.name);
        if (running.join() !== cl.active) out.push(`${cl.cluster}: running groups ${running.join(', ') || 'none'}, active is ${cl.active}`);
      }
    }
    for (const rs of items('replicasets')) {
      if (!rs.metadata.ownerReferences?.some((o) => names.has(o.name))) out.push(`orphan ReplicaSet ${rs.metadata.name}`);
    }
    for (const svc of items('services')) {
      const name = svc.metadata.name;
      if (!names.has(name) && !s.clusters.some((cl) => cl.cluster === name)) out.push(`orphan Service ${name}`);
    }
    const mounted = new Set(
      deployments.flatMap((d) => {
        const vols = ((d.spec?.['template'] as { spec?: { volumes?: Array<{ projected?: { sources: Array<{ secret: { name: string } }> } }> } })?.spec?.volumes ?? []);
        return vols.flatMap((v) => v.projected?.sources.map((x) => x.secret.name) ?? []);
      }),
    );
    for (const sec of items('secrets')) if (!mounted.has(sec.metadata.name)) out.push(`orphan Secret ${sec.metadata.name}`);
    return out.length ? out.join('; ') : null;
  };

  before(async () => {
    c = ensureCluster();
    ns = await c.createNamespace('kconv');
    // Ports of its own: the control plane started below must not meet another test's.
    p = makeK8sProject(c, ns, { project: 'k8sconv', secret: `conv-${process.pid}`, extraYaml: [`proxy: { port: ${await freePort()} }`, `dns: { port: ${await freePort()} }`] });
  });

  after(async () => {
    ns?.delete();
    await p?.remove();
  });

  test('kill -9 at a random point of each of 10 deploys, then a control plane: one active group per cluster, no orphan object', async (t) => {
    const seed = chaosSeed();
    t.diagnostic(`seed ${seed} (KILN_CHAOS_SEED=${seed} replays it)`);
    const random = rng(seed);
    // A whole deploy first, to know how long one takes and when its groups exist but are not
    // switched yet (from its progress lines): half the kills fall in that window, where an
    // interrupted deploy leaves the most to repair, the others anywhere in the deploy.
    const first = await timedDeploy(c, p.dir, p.release('1'));
    const span = first.ms;
    const window = first.created !== null && first.switched !== null && first.switched > first.created ? [first.created, first.switched] : null;
    t.diagnostic(`a whole deploy took ${span} ms; groups created at ${first.created} ms, switched at ${first.switched} ms`);
    const moments: number[] = [];
    let repaired = 0;
    for (let i = 2; i <= 11; i++) {
      const r = p.release(String(i));
      const at = window && i % 2 === 0 ? Math.round(window[0]! + random() * (window[1]! - window[0]!)) : Math.round(200 + random() * Math.max(0, span - 400));
      moments.push(at);
      const d = start(c, p.dir, ['deploy', r, '--env', 'prod']);
      const exited = new Promise<number | null>((res) => d.once('exit', (code) => res(code)));
      await Promise.race([new Promise((res) => setTimeout(res, at)), exited]);
      try {
        process.kill(-d.pid!, 'SIGKILL');
      } catch {
        /* it had finished */
      }
      await exited;

      const server = start(c, p.dir, ['server']);
      let log = '';
      server.stdout!.on('data', (b: Buffer) => (log += b.toString()));
      server.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      try {
        let last: string | null = null;
        await waitFor(`convergence after the kill at ${at} ms of deploy ${i} (last: ${last})`, 2 * MINUTE, () => (last = problems()) === null, 1000).catch((e: Error) => {
          throw new Error(`${e.message}; still wrong: ${last}\ncontrol plane:\n${log}`);
        });
        repaired += (log.match(/kubernetes\.repaired: /g) ?? []).length;
      } finally {
        server.kill('SIGTERM');
        await new Promise((res) => server.once('exit', res));
      }
    }
    t.diagnostic(`kill moments (ms into a deploy; even deploys aimed at ${window ? window.join('–') : 'no'} ms): ${moments.join(', ')}; repairs recorded: ${repaired}`);
    // Still deployable afterwards, and converged after a whole deploy too.
    const last = p.release('12');
    p.mustKiln(['deploy', last, '--env', 'prod']);
    assert.equal(problems(), null);
    const s = JSON.parse(p.mustKiln(['status', '--env', 'prod', '--json'])) as KubeStatus;
    assert.deepEqual(
      s.clusters.map((cl) => [cl.cluster, cl.groups.find((g) => g.group === cl.active)?.release]),
      [['jobs-worker-prod', last], ['web-http-prod', last]],
    );
  });
});
