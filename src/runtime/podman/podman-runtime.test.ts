// Real podman, real containers: a tiny busybox image in an OCI layout, started the way the control
// plane starts a server, checked over its 127.0.0.1 port, killed, stopped, adopted and cleaned up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitHealthy } from '../../deploy/health.js';
import { KilnError } from '../../errors.js';
import { freePort } from '../../util/ports.js';
import { buildTestImage, podmanTestEnv, removeProject, requirePodman, uniqueProject, type PodmanTestEnv } from '../../../test/support/podman.js';
import type { ContainerHandle, ContainerLaunch, ImageRef } from './handle.js';
import { PodmanRuntime } from './podman-runtime.js';
import { makeExecutor } from './executor.js';
import { podmanEnv } from './commands.js';
import { LOG_FILE, PORT, serverArgs } from '../testkit.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('podman runtime (real containers)', () => {
  let t: PodmanTestEnv;
  let project: string;
  let image: ImageRef;
  let rt: PodmanRuntime;
  let n = 0;

  before(() => {
    t = podmanTestEnv();
    requirePodman(t);
    project = uniqueProject();
    image = buildTestImage(path.join(t.dir, 'oci'), 'web-1');
    rt = new PodmanRuntime({ settings: t.settings, store: path.join(t.dir, '.kiln') });
  });

  after(() => {
    removeProject(t, project);
    t.cleanup();
  });

  async function launch(): Promise<ContainerLaunch> {
    const name = `web-http-dev-v001-${++n}`;
    const logDir = path.join(t.dir, '.kiln', 'logs', 'dev', 'web-http-dev');
    const port = await freePort();
    const logFile = path.join(logDir, `${name}.log`);
    return {
      project,
      env: 'dev',
      cluster: 'web-http-dev',
      group: 'web-http-dev-v001',
      name,
      appDir: '/app',
      run: ['/bin/sh', '/app/server.sh'],
      args: serverArgs([['log-file', LOG_FILE], ['port', PORT]]),
      workDir: path.join(t.dir, '.kiln', 'run', 'servers', name),
      logFile,
      stdoutFile: path.join(logDir, `${name}.stdout`),
      stderrFile: path.join(logDir, `${name}.stderr`),
      port,
      image,
    };
  }

  const healthy = (l: ContainerLaunch, h: ContainerHandle) =>
    waitHealthy({ port: l.port as number, health: { path: '/healthz', intervalMs: 100, timeoutMs: 1000, retries: 3, graceMs: 15_000 }, isAlive: () => rt.isAlive(h) });

  test('a server is a read-only container from the image, healthy on 127.0.0.1, logging to the host', async () => {
    const l = await launch();
    const h = await rt.start(l);
    assert.match(h.ref, /^[0-9a-f]{64}$/);
    assert.equal(await rt.isAlive(h), true);
    const result = await healthy(l, h);
    assert.equal(result.ok, true, result.detail);
    // The app wrote its --log-file (translated into the mount) and found / read-only.
    const log = readFileSync(l.logFile, 'utf8');
    assert.match(log, new RegExp(`server starting on port ${l.port}`));
    assert.match(log, /root filesystem read-only/);
    assert.match(readFileSync(l.stdoutFile, 'utf8'), /stdout: serving on/);

    // `podman kill` (as an OOM or a crash would): no longer alive, found as stopped, removable.
    execFileSync('podman', ['kill', '--signal', 'KILL', h.ref], { env: t.env });
    await until('the killed container to be dead', async () => !(await rt.isAlive(h)));
    const listed = (await rt.listServers(project, { fresh: true })).find((c) => c.ref === h.ref);
    assert.equal(listed?.running, false);
    assert.deepEqual(await rt.removeStopped(project), [l.name]);
    assert.equal((await rt.listServers(project, { fresh: true })).some((c) => c.ref === h.ref), false);
  });

  test('kill -9 of the app process inside the container: the server is dead', async () => {
    const l = await launch();
    const h = await rt.start(l);
    assert.equal((await healthy(l, h)).ok, true);
    // The init (h.pid) has one child, the app; kill it as a crash would.
    const child = Number(readFileSync(`/proc/${h.pid}/task/${h.pid}/children`, 'utf8').trim().split(' ')[0]);
    assert.ok(child > 0);
    process.kill(child, 'SIGKILL');
    await until('the container to notice its app died', async () => !(await rt.isAlive(h)));
    await rt.stop(h, 1000); // stop of a dead server removes its container
    assert.equal((await rt.listServers(project, { fresh: true })).some((c) => c.ref === h.ref), false);
  });

  test('a new runtime (a restarted control plane) adopts running containers by label with the same handle; stop ends them', async () => {
    const l = await launch();
    const h = await rt.start(l);
    assert.equal((await healthy(l, h)).ok, true);
    const fresh = new PodmanRuntime({ settings: t.settings, store: path.join(t.dir, '.kiln') });
    const found = (await fresh.listServers(project)).find((c) => c.server === l.name);
    assert.ok(found, 'the container is found by its labels');
    assert.deepEqual(found.handle, h);
    assert.deepEqual(
      { project: found.project, env: found.env, cluster: found.cluster, group: found.group, running: found.running, hostPorts: found.hostPorts },
      { project, env: 'dev', cluster: 'web-http-dev', group: 'web-http-dev-v001', running: true, hostPorts: [l.port] },
    );
    // Many callers within the cache window share one `podman ps`.
    let calls = 0;
    const real = makeExecutor(podmanEnv(t.settings));
    const counted = new PodmanRuntime({ settings: t.settings, store: path.join(t.dir, '.kiln'), cacheMs: 60_000, exec: (c) => (calls++, real(c)) });
    const lists = await Promise.all([1, 2, 3, 4].map(() => counted.listServers(project)));
    await counted.listServers(project);
    assert.equal(calls, 1);
    assert.ok(lists.every((x) => x.some((c) => c.ref === h.ref)));
    // Another checkout (another .kiln) of a project with the same name does not see it.
    const other = new PodmanRuntime({ settings: t.settings, store: path.join(t.dir, 'elsewhere', '.kiln') });
    assert.deepEqual(await other.listServers(project), []);

    await fresh.stop(found.handle as ContainerHandle, 2000);
    assert.equal(await rt.isAlive(h), false);
    assert.equal((await rt.listServers(project, { fresh: true })).length, 0);
  });

  test('a command missing from the image: the server never gets healthy, its output says why, nothing is left', async () => {
    const l = { ...(await launch()), run: ['/app/missing-server'] };
    // The init starts, then fails to exec the command: depending on timing, start already sees
    // the container gone (an error) or returns a handle whose health check reports the exit.
    const started = await rt.start(l).then(
      (h) => h,
      (e: unknown) => {
        assert.ok(e instanceof KilnError && e.code === 'RUNTIME_FAILED' && e.message.includes('exited immediately'), String(e));
        return null;
      },
    );
    if (started) {
      const r = await healthy(l, started);
      assert.equal(r.ok, false);
      assert.match(r.detail, /exited/);
      await rt.stop(started, 1000);
    }
    assert.match(readFileSync(l.stdoutFile, 'utf8'), /failed to exec/);
    assert.equal((await rt.listServers(project, { fresh: true })).length, 0);
  });

  test('unused images are removed unless kept; a wrong digest is a clear error', async () => {
    const name = `localhost/kiln/${project}@${image.digest}`;
    const exists = (): boolean => {
      try {
        execFileSync('podman', ['image', 'exists', name], { env: t.env });
        return true;
      } catch {
        return false;
      }
    };
    await rt.ensureImage(project, image);
    assert.equal(exists(), true);
    assert.deepEqual(await rt.removeUnusedImages(project, [image.digest]), []);
    assert.equal(exists(), true);
    assert.equal((await rt.removeUnusedImages(project)).length, 1);
    assert.equal(exists(), false);

    const wrong: ImageRef = { ...image, digest: `sha256:${'0'.repeat(64)}` };
    await assert.rejects(rt.ensureImage(project, wrong), (e: unknown) => e instanceof KilnError && e.code === 'RUNTIME_FAILED' && /is not sha256:0000/.test(e.message));
    assert.deepEqual(await rt.removeUnusedImages(project), [], 'the mismatching load left no image behind');
    assert.equal(existsSync(image.layout), true);
  });
});
