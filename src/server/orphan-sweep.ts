// Servers no live server row owns are stopped, so a crash never leaves a duplicate serving:
// processes (a kill between spawning a server and recording its pid) at start and every 2 s with
// the reconciler, containers (a crash between `podman run` and the row's update) at start. Also
// what a server left behind: processes carrying its marker (runtime/process/tree.ts) once the
// server itself is gone, e.g. a setsid grandchild of a server that was killed.
import path from 'node:path';
import { serverProcesses } from '../runtime/process/orphans.js';
import { isProcessAlive } from '../runtime/process/proc.js';
import { markedProcesses } from '../runtime/process/tree.js';
import { runPaths } from './paths.js';
import type { Runtime } from '../runtime/types.js';
import type { ProjectSpec } from '../spec/types.js';
import { LIVE_GROUP_STATES, type RuntimeState } from '../store/runtime-state.js';
import type { RuntimeLookup } from './runtimes.js';
import { missingRuntimeTools } from '../runtime/tools.js';
import { settingsFromEnv } from '../runtime/podman/settings.js';

export interface OrphanSweepDeps {
  state: RuntimeState;
  kilnDir: string;
  runtimes: RuntimeLookup;
  log: (message: string) => void;
}

const LIVE_SERVER_STATES = new Set(['starting', 'healthy', 'unhealthy']);

/**
 * Server processes no live server row owns (a kill between spawning a server and recording its
 * pid, or a server started for a group that recovery just failed) are stopped: no orphans.
 */
export async function removeOrphanProcesses(deps: OrphanSweepDeps): Promise<void> {
  const { state } = deps;
  for (const p of serverProcesses(deps.kilnDir)) {
    const row = state.server(p.server);
    // Owned: a live row of a live group. A group destroyed by a deploy that was killed before
    // it stopped the group's servers leaves rows that still say 'healthy': those go too.
    const groupLive = row ? (LIVE_GROUP_STATES as readonly string[]).includes(state.group(row.group_name)?.state ?? '') : false;
    if (row && groupLive && LIVE_SERVER_STATES.has(row.state) && row.pid === p.pid && row.start_time === p.startTime) continue;
    // Being started by this control plane right now: its pid is recorded in a moment.
    // (Recovery marks such rows of a dead control plane 'dead' before it scans.)
    if (row && row.state === 'starting' && row.pid === null) continue;
    if (row && (state.group(row.group_name)?.template.runtime ?? 'process') !== 'process') continue;
    await deps.runtimes('', 'process').stop({ ref: runPaths(deps.kilnDir).serverDir(p.server), pid: p.pid, startTime: p.startTime }, 2_000);
    if (row && row.pid === p.pid && LIVE_SERVER_STATES.has(row.state)) state.setServerState(row.name, 'stopped', 'its group was destroyed');
    deps.log(`stopped orphan server process ${p.server} (pid ${p.pid})`);
  }
  // Descendants whose server is gone (or is no longer one this state keeps running).
  const serversDir = path.dirname(runPaths(deps.kilnDir).serverDir('x'));
  for (const [server, procs] of markedProcesses(serversDir)) {
    const row = state.server(server);
    const groupLive = row ? (LIVE_GROUP_STATES as readonly string[]).includes(state.group(row.group_name)?.state ?? '') : false;
    const leaderLives = row ? (row.pid === null ? row.state === 'starting' : isProcessAlive(row.pid, row.start_time ?? '')) : false;
    if (row && groupLive && LIVE_SERVER_STATES.has(row.state) && leaderLives) continue;
    const first = procs[0]!;
    await deps.runtimes('', 'process').stop({ pid: first.pid, startTime: first.startTime, ref: path.join(serversDir, server) }, 2_000);
    deps.log(`stopped ${procs.length} process(es) left behind by server ${server} (pids ${procs.map((p) => p.pid).join(', ')})`);
  }
}

/**
 * Servers a runtime lists by its labels (containers) that no live server row owns — a crash
 * between `podman run` and the row's update, or servers that died while the control plane was
 * down — are stopped and removed, on every runtime of the project that can list its servers.
 */
export async function removeOrphanContainers(deps: OrphanSweepDeps & { spec: ProjectSpec }): Promise<void> {
  const cleaned = new Set<Runtime>();
  for (const env of Object.values(deps.spec.environments)) {
    const runtime = deps.runtimes(env.name, env.runtime);
    if (!runtime.listServers) continue;
    // Without its programs here (podman) there are no containers to find: the control plane
    // starts anyway, and a deploy to the environment says what is missing (runtime/tools.ts).
    const missing = missingRuntimeTools(env.runtime, settingsFromEnv(env.podman));
    if (missing.length) {
      deps.log(`${missing.join(' and ')} not installed: no servers of environment ${env.name} to look for (it needs them when it is deployed)`);
      continue;
    }
    for (const c of await runtime.listServers(deps.spec.project, { fresh: true })) {
      if (c.env !== env.name) continue; // each environment's by its own runtime (and settings)
      const row = deps.state.server(c.server);
      const owned = row && row.runtime_ref === c.ref && (row.state === 'healthy' || row.state === 'unhealthy');
      if (!owned && c.handle) {
        await runtime.stop(c.handle, 2_000);
        deps.log(`removed orphan container ${c.name}`);
      }
    }
    if (runtime.removeStopped && !cleaned.has(runtime)) {
      cleaned.add(runtime);
      await runtime.removeStopped(deps.spec.project);
    }
  }
}
