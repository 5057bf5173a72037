// Starts and stops the servers of a group. A server is always new: its row (name, ordinal, port)
// is written before the process starts, so a crash can never leave a process nobody knows of,
// and a dead server is never restarted — the group gets a new one with the next ordinal.
import { readLogTail } from '../logs/safe-open.js';
import { serverName, type ServerGroupName } from '../names/names.js';
import { waitHealthy, type CheckResult } from '../deploy/health.js';
import type { Runtime, ServerHandle } from '../runtime/types.js';
import type { GroupRow, RuntimeState, ServerRow } from '../store/runtime-state.js';
import { freePort } from '../util/ports.js';
import type { RunPaths } from './paths.js';
import { serverLaunch } from './launch.js';

export interface StartedServer {
  row: ServerRow;
  handle: ServerHandle;
}

/** The runtime a group's servers run on, from the group's template. */
export type RuntimeFor = (group: GroupRow) => Runtime;

export class ServerManager {
  constructor(
    private readonly state: RuntimeState,
    private readonly runtimeFor: RuntimeFor,
    private readonly paths: RunPaths,
    /** Called when servers come or go (before a new one starts, after one stops): log tailing follows it. */
    private readonly onServersChanged: () => void = () => undefined,
  ) {}

  handleOf(s: ServerRow): ServerHandle | null {
    // Rows written before every runtime had a ref: a process server's ref is its directory.
    const ref = s.runtime_ref ?? (s.pid !== null ? this.paths.serverDir(s.name) : null);
    if (ref === null) return null; // not started yet
    return { ref, ...(s.pid !== null && s.start_time !== null ? { pid: s.pid, startTime: s.start_time } : {}) };
  }

  private runtimeOf(s: ServerRow): Runtime {
    return this.runtimeFor(this.state.group(s.group_name) as GroupRow);
  }

  async isAlive(s: ServerRow): Promise<boolean> {
    const h = this.handleOf(s);
    return h !== null && (await this.runtimeOf(s).isAlive(h));
  }

  async start(group: GroupRow): Promise<StartedServer> {
    const t = group.template;
    const ordinal = this.state.takeOrdinal(group.name);
    const name = serverName(group.name as ServerGroupName, ordinal);
    const port = t.portName ? await freePort() : undefined;
    this.state.insertServer({ name, group_name: group.name, ordinal, port: port ?? null });
    this.onServersChanged();
    try {
      const handle = await this.runtimeFor(group).start(serverLaunch(t, group.name, name, this.paths, port));
      this.state.setServerProcess(name, handle);
      return { row: this.state.server(name) as ServerRow, handle };
    } catch (e) {
      this.state.setServerState(name, 'dead', `could not start: ${(e as Error).message}`);
      throw e;
    }
  }

  waitHealthy(group: GroupRow, s: StartedServer, signal?: AbortSignal): Promise<CheckResult> {
    return waitHealthy({
      ...(s.row.port !== null ? { port: s.row.port } : {}),
      ...(group.template.health ? { health: group.template.health } : {}),
      ...(group.template.settleMs !== undefined ? { settleMs: group.template.settleMs } : {}),
      isAlive: () => this.runtimeFor(group).isAlive(s.handle),
      ...(signal ? { signal } : {}),
    });
  }

  async stop(s: ServerRow, graceMs = 10_000): Promise<void> {
    const h = this.handleOf(s);
    if (h) await this.runtimeOf(s).stop(h, graceMs);
    this.state.setServerState(s.name, 'stopped');
    this.onServersChanged();
  }

  /** Frees what a dead server still holds in its runtime (podman: the exited container). */
  async release(s: ServerRow): Promise<void> {
    const h = this.handleOf(s);
    if (h?.ref) await this.runtimeOf(s).stop(h, 0);
  }

  /** The last lines a server wrote to its log file, stdout and stderr: for failure messages. */
  tail(s: ServerRow, group: GroupRow, lines = 15): string[] {
    const logs = this.paths.serverLogs(group.template.env, group.template.cluster, s.name);
    const out: string[] = [];
    for (const [label, file] of [['log', logs.log], ['stdout', logs.stdout], ['stderr', logs.stderr]] as const) {
      // The server owns its log directory: no link followed, no FIFO opened (safe-open.ts).
      const text = (readLogTail(file, this.paths.logsDir) ?? '').trimEnd();
      if (!text) continue;
      out.push(`--- ${label} (${file})`);
      out.push(...text.split('\n').slice(-lines));
    }
    return out;
  }
}
