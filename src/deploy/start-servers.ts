// Starting a group's servers and waiting for each one's health check: what a deploy does for its
// new groups and a rollback for a kept group that runs nothing (a worker's, deploy/kept.ts). The
// first failure cancels the rest; the caller decides what to destroy.
import type { GroupRow, RuntimeState, ServerRow } from '../store/runtime-state.js';
import type { ServerManager, StartedServer } from '../server/server-manager.js';
import type { Emit } from './execute.js';

export interface StartFailure {
  server: ServerRow;
  group: GroupRow;
  detail: string;
}

export interface StartResult {
  /** Longest time one server took from start to healthy (the app's own start-up time). */
  slowestHealthyMs: number;
  failure: StartFailure | null;
}

/** Starts `count(g)` new servers in each group (default: its replicas) and waits until all are healthy. */
export async function startServers(
  deps: { state: RuntimeState; servers: ServerManager },
  groups: GroupRow[],
  emit: Emit,
  count: (g: GroupRow) => number = (g) => g.replicas,
): Promise<StartResult> {
  const { state, servers } = deps;
  const abort = new AbortController();
  let slowestHealthyMs = 0;
  let failure: StartFailure | null = null;
  const startOne = async (g: GroupRow): Promise<void> => {
    let s: StartedServer;
    try {
      s = await servers.start(g);
    } catch (e) {
      const row = state.servers({ group: g.name }).at(-1);
      if (row && !failure) failure = { server: row, group: g, detail: (e as Error).message };
      abort.abort();
      return;
    }
    const started = Date.now();
    emit('server.started', `${s.row.name}: ${s.handle.pid !== undefined ? `pid ${s.handle.pid}` : s.handle.ref}${s.row.port ? `, port ${s.row.port}` : ''}`, { cluster: g.cluster, subject: s.row.name });
    const result = await servers.waitHealthy(g, s, abort.signal);
    if (result.ok) {
      slowestHealthyMs = Math.max(slowestHealthyMs, Date.now() - started);
      state.setServerState(s.row.name, 'healthy', result.detail);
      emit('server.healthy', `${s.row.name}: healthy (${result.detail})`, { cluster: g.cluster, subject: s.row.name });
    } else if (!abort.signal.aborted || !failure) {
      state.setServerState(s.row.name, 'unhealthy', result.detail);
      if (!failure) failure = { server: state.server(s.row.name) as ServerRow, group: g, detail: result.detail };
      abort.abort();
    }
  };
  await Promise.all(groups.flatMap((g) => Array.from({ length: count(g) }, () => startOne(g))));
  return { slowestHealthyMs, failure };
}
