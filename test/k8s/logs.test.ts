// Issue 12, logs: every line a server writes on a Kubernetes environment (stdout, stderr, its
// --log-file) reaches Kiln's central logs, tagged with the cluster, group and pod, across pod
// replacement and a control plane killed with kill -9 and started again: each line exactly
// once. The test app writes "tick <n>" to its --log-file every second, so a gap or a duplicate
// shows in the numbers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureCluster, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { kilnCommand, makeK8sProject, MINUTE, type K8sProject } from '../support/k8s-project.js';
import { freePort } from '../e2e/lib/project.js';
import type { LogLineJson } from '../../src/logs/query.js';

interface Pod { metadata: { name: string; labels: Record<string, string> }; status: { conditions?: Array<{ type: string; status: string }> } }

describe('kiln logs on the real Kubernetes test cluster', { timeout: 15 * MINUTE }, () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let p: K8sProject;
  let server: ChildProcess | null = null;
  let serverLog = '';

  const startServer = (): ChildProcess => {
    // Its own process group: the kill takes it whole, as a crash would.
    const cmd = kilnCommand(c, ['server']);
    const s = spawn(cmd.file, cmd.args, { cwd: p.dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    s.stdout!.on('data', (b: Buffer) => (serverLog += b.toString()));
    s.stderr!.on('data', (b: Buffer) => (serverLog += b.toString()));
    return s;
  };
  const stopServer = async (signal: NodeJS.Signals): Promise<void> => {
    const s = server;
    server = null;
    if (!s || s.exitCode !== null) return;
    const exited = new Promise((res) => s.once('exit', res));
    try {
      process.kill(signal === 'SIGKILL' ? -s.pid! : s.pid!, signal);
    } catch {
      /* gone already */
    }
    await exited;
  };
  const logs = (cluster: string): LogLineJson[] =>
    p.mustKiln(['logs', cluster, '--json', '-n', '100000']).split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLineJson);
  /** While the control plane is still starting, its API is not there yet: no lines. */
  const logsSoFar = (cluster: string): LogLineJson[] => {
    const r = p.kiln(['logs', cluster, '--json', '-n', '100000']);
    return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLineJson) : [];
  };
  const pods = (cluster: string): Pod[] =>
    c.kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', ns.name, '-l', `kiln.io/cluster=${cluster}`]).items;
  const ticksOf = (lines: LogLineJson[], pod: string): number[] =>
    lines.filter((l) => l.server === pod && /^tick \d+$/.test(l.text)).map((l) => Number(l.text.slice(5)));
  const lastTick = (lines: LogLineJson[], pod: string): number => Math.max(0, ...ticksOf(lines, pod));

  before(async () => {
    c = ensureCluster();
    ns = await c.createNamespace('klogs');
    p = makeK8sProject(c, ns, { project: 'k8slogs', secret: `logs-${process.pid}`, ticks: true, extraYaml: [`proxy: { port: ${await freePort()} }`, `dns: { port: ${await freePort()} }`] });
  });

  after(async () => {
    await stopServer('SIGTERM');
    ns?.delete();
    await p?.remove();
  });

  test('stdout and --log-file lines of every pod arrive tagged; after kill -9 of the control plane and a pod replaced, each line exactly once', async (t) => {
    p.mustKiln(['deploy', p.release('1'), '--env', 'prod']);
    const [a, b] = pods('web-http-prod').map((x) => x.metadata.name).sort() as [string, string];
    server = startServer();

    // The startup lines (stdout) and the --log-file lines of both pods, with their tags.
    await waitFor('both pods\' first lines in kiln logs', 2 * MINUTE, () => {
      const l = logsSoFar('web-http-prod');
      return [a, b].every((pod) => l.some((x) => x.server === pod && x.text === 'version 1 on 8080') && lastTick(l, pod) >= 3);
    }, 1000).catch((e: Error) => {
      throw new Error(`${e.message}\ncontrol plane:\n${serverLog}`);
    });
    const first = logs('web-http-prod');
    for (const pod of [a, b]) {
      const mine = first.filter((x) => x.server === pod);
      assert.ok(mine.some((x) => x.text === 'log file: version 1 started'), `${pod}: its --log-file line`);
      for (const x of mine) {
        assert.deepEqual([x.project, x.env, x.service, x.role, x.cluster, x.group, x.stream], ['k8slogs', 'prod', 'web', 'http', 'web-http-prod', 'web-http-prod-v001', 'log']);
      }
    }
    const worker = pods('jobs-worker-prod')[0]!.metadata.name;
    await waitFor('the worker\'s line', MINUTE, () => logsSoFar('jobs-worker-prod').some((x) => x.server === worker && x.text === 'worker 1 up'), 1000);

    // kill -9 of the control plane; while none runs, b keeps writing, a is deleted and replaced.
    await stopServer('SIGKILL');
    const bAtKill = lastTick(first, b);
    c.kubectl(['delete', 'pod', a, '-n', ns.name, '--wait=false']);
    let replacement = '';
    await waitFor('a replacement pod ready', 2 * MINUTE, () => {
      const now = pods('web-http-prod').filter((x) => x.metadata.name !== a && x.metadata.name !== b);
      const ready = now.find((x) => x.status.conditions?.some((k) => k.type === 'Ready' && k.status === 'True'));
      replacement = ready?.metadata.name ?? '';
      return replacement !== '';
    }, 1000);
    await new Promise((res) => setTimeout(res, 5000));

    server = startServer();
    await waitFor('b\'s ticks written while no control plane ran, and the replacement\'s lines', 2 * MINUTE, () => {
      const l = logsSoFar('web-http-prod');
      return lastTick(l, b) >= bAtKill + 10 && lastTick(l, replacement) >= 3;
    }, 1000).catch((e: Error) => {
      throw new Error(`${e.message}\ncontrol plane:\n${serverLog}`);
    });
    const all = logs('web-http-prod');
    const count = (pod: string, text: string): number => all.filter((x) => x.server === pod && x.text === text).length;
    for (const pod of [a, b, replacement]) {
      assert.equal(count(pod, 'version 1 on 8080'), 1, `${pod}: its stdout line once`);
      assert.equal(count(pod, 'log file: version 1 started'), 1, `${pod}: its --log-file line once`);
      // Ticks: 1, 2, 3, … in order, none twice, none missing (a's last ones, written after the
      // kill and before its deletion, are gone with it: the documented limit).
      const ticks = ticksOf(all, pod);
      assert.deepEqual(ticks, ticks.map((_, i) => i + 1), `${pod}: ticks in order, each once`);
    }
    assert.ok(ticksOf(all, b).length > bAtKill, 'b\'s lines written while no control plane ran arrived');
    assert.equal(logs('jobs-worker-prod').filter((x) => x.text === 'worker 1 up').length, 1);
    t.diagnostic(`ticks: ${a} ${ticksOf(all, a).length} (deleted), ${b} ${ticksOf(all, b).length} (${bAtKill} before the kill), ${replacement} ${ticksOf(all, replacement).length}`);
    await stopServer('SIGTERM');
  });
});
