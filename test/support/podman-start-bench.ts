// Benchmark (not a test): start-to-healthy of one server as a podman container vs as a plain
// process (the reference), the same busybox httpd in both; plus what one liveness poll costs
// (`podman ps` of a project vs the /proc read isAlive does). Prints medians and the ratio.
// Run: npx tsc -p tsconfig.json && node dist/test/support/podman-start-bench.js [runs]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkOnce } from '../../src/deploy/health.js';
import { ProcessRuntime } from '../../src/runtime/process/process-runtime.js';
import type { ContainerHandle, ContainerLaunch } from '../../src/runtime/podman/handle.js';
import { PodmanRuntime } from '../../src/runtime/podman/podman-runtime.js';
import { freePort } from '../../src/util/ports.js';
import { LOG_FILE, PORT, serverArgs } from '../../src/runtime/testkit.js';
import { buildTestImage, podmanTestEnv, removeProject, requireBusybox, requirePodman, uniqueProject } from './podman.js';

const runs = Number(process.argv[2] ?? 7);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

async function untilHealthy(port: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await checkOnce(port, '/healthz', 1000)).ok) {
    if (Date.now() > end) throw new Error(`port ${port} never became healthy`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const t = podmanTestEnv();
const project = uniqueProject('kb');
try {
  requirePodman(t);
  const busybox = requireBusybox();
  const image = buildTestImage(path.join(t.dir, 'oci'), 'bench');
  const podman = new PodmanRuntime({ settings: t.settings, store: path.join(t.dir, '.kiln') });
  const proc = new ProcessRuntime();
  const www = path.join(t.dir, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(path.join(www, 'healthz'), 'ok\n');
  const logDir = path.join(t.dir, 'logs');

  const launch = async (i: number, kind: string): Promise<ContainerLaunch> => {
    const port = await freePort();
    const name = `bench-${kind}-${i}`;
    const logFile = path.join(logDir, `${name}.log`);
    return {
      project, env: 'bench', cluster: 'bench', group: 'bench-v001', name, appDir: www,
      run: kind === 'podman' ? ['/bin/sh', '/app/server.sh'] : [busybox, 'httpd', '-f', '-h', www],
      args: kind === 'podman' ? serverArgs([['port', PORT], ['log-file', LOG_FILE]]) : serverArgs([['p', `127.0.0.1:${port}`]], 'single-dash'),
      workDir: path.join(t.dir, 'run', name), logFile,
      stdoutFile: path.join(logDir, `${name}.stdout`), stderrFile: path.join(logDir, `${name}.stderr`),
      port, image,
    };
  };

  // First container start includes loading the image from the OCI layout into podman's storage.
  let t0 = performance.now();
  const first = await launch(0, 'podman');
  const fh = await podman.start(first);
  await untilHealthy(first.port as number);
  const coldMs = performance.now() - t0;
  await podman.stop(fh, 0);

  const cont: number[] = [];
  const plain: number[] = [];
  const stops: number[] = [];
  const kept: ContainerHandle[] = [];
  for (let i = 1; i <= runs; i++) {
    const lp = await launch(i, 'process');
    t0 = performance.now();
    const ph = await proc.start(lp);
    await untilHealthy(lp.port as number);
    plain.push(performance.now() - t0);
    await proc.stop(ph, 1000);

    const lc = await launch(i, 'podman');
    t0 = performance.now();
    const ch = await podman.start(lc);
    await untilHealthy(lc.port as number);
    cont.push(performance.now() - t0);
    kept.push(ch);
  }
  // Liveness poll cost with `runs` containers running.
  const ps: number[] = [];
  for (let i = 0; i < 9; i++) {
    t0 = performance.now();
    await podman.listServers(project, { fresh: true });
    ps.push(performance.now() - t0);
  }
  const alive: number[] = [];
  for (let i = 0; i < 9; i++) {
    t0 = performance.now();
    for (const h of kept) await podman.isAlive(h);
    alive.push((performance.now() - t0) / kept.length);
  }
  for (const h of kept) {
    t0 = performance.now();
    await podman.stop(h, 2000);
    stops.push(performance.now() - t0);
  }
  await podman.removeUnusedImages(project);

  console.log(`start-to-healthy, median of ${runs}:`);
  console.log(`  plain process (reference):  ${fmt(median(plain))}`);
  console.log(`  podman container (warm):    ${fmt(median(cont))}   ratio ${(median(cont) / median(plain)).toFixed(1)}x`);
  console.log(`  podman, first (image load): ${fmt(coldMs)}`);
  console.log(`stop + remove of a container: ${fmt(median(stops))}`);
  console.log(`liveness: podman ps of ${kept.length} containers ${fmt(median(ps))} per call; isAlive (/proc) ${(median(alive) * 1000).toFixed(1)} µs per server`);
} finally {
  removeProject(t, project);
  t.cleanup();
}
