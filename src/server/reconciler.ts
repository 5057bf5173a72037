// Keeps every live group at its size. A dead server is never restarted in place: it is marked
// dead, taken out of the route table at once, and the group gets a new server with a new name,
// which joins the route table only after its health check passes. Also finishes drains left
// over by a control-plane restart and keeps the proxy process alive.
import type { GroupRow, RuntimeState } from '../store/runtime-state.js';
import type { ServerManager } from './server-manager.js';

export interface ReconcilerDeps {
  state: RuntimeState;
  servers: ServerManager;
  pushRoutes(): Promise<void>;
  ensureProxy(): Promise<void>;
  inFlight(group: string): Promise<number | null>;
  event(kind: string, message: string, about: { env: string; cluster: string; subject: string }): void;
  log(message: string): void;
}

/** Groups the reconciler maintains: the active one and the ones kept for rollback. */
const MAINTAINED = ['active', 'draining', 'disabled'] as const;
const MAX_BACKOFF_MS = 30_000;

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Replacements in progress per group, so one tick never starts duplicates. */
  private readonly starting = new Map<string, number>();
  private readonly backoff = new Map<string, { failures: number; notBefore: number }>();

  constructor(private readonly deps: ReconcilerDeps, private readonly intervalMs = 250) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass; exported for tests and run at start-up before the API opens. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.deps.ensureProxy();
      const { state, servers } = this.deps;
      let changed = false;
      for (const g of state.groups({ states: MAINTAINED })) {
        for (const s of state.servers({ group: g.name, states: ['healthy', 'unhealthy'] })) {
          if (!servers.isAlive(s)) {
            state.setServerState(s.name, 'dead', 'process exited');
            this.deps.event('server.dead', `${s.name}: process ${s.pid} is gone; starting a new server`, {
              env: g.template.env,
              cluster: g.cluster,
              subject: s.name,
            });
            changed = true;
          }
        }
      }
      if (changed) await this.deps.pushRoutes();
      for (const g of state.groups({ states: MAINTAINED })) this.fill(g);
      for (const g of state.groups({ states: ['draining'] })) {
        if ((await this.deps.inFlight(g.name)) === 0 && state.group(g.name)?.state === 'draining') state.setGroupState(g.name, 'disabled');
      }
    } catch (e) {
      this.deps.log(`reconciler: ${(e as Error).stack ?? String(e)}`);
    } finally {
      this.running = false;
    }
  }

  private fill(g: GroupRow): void {
    const { state } = this.deps;
    const live = state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] }).length;
    const inProgress = this.starting.get(g.name) ?? 0;
    const missing = g.replicas - live;
    const b = this.backoff.get(g.name);
    if (missing <= 0 || inProgress > 0 || (b && Date.now() < b.notBefore)) return;
    for (let i = 0; i < missing; i++) void this.replace(g);
  }

  private async replace(g: GroupRow): Promise<void> {
    const { state, servers } = this.deps;
    const about = { env: g.template.env, cluster: g.cluster, subject: g.name };
    this.starting.set(g.name, (this.starting.get(g.name) ?? 0) + 1);
    try {
      const s = await servers.start(g);
      const result = await servers.waitHealthy(g, s);
      if (result.ok && state.group(g.name)?.state !== 'destroyed') {
        state.setServerState(s.row.name, 'healthy', result.detail);
        this.backoff.delete(g.name);
        await this.deps.pushRoutes();
        this.deps.event('server.replaced', `${s.row.name}: new server healthy in ${g.name}`, { ...about, subject: s.row.name });
      } else {
        await servers.stop(s.row, 2_000);
        state.setServerState(s.row.name, 'dead', result.ok ? 'group destroyed while starting' : result.detail);
        if (!result.ok) this.failed(g, `${s.row.name}: ${result.detail}`);
      }
    } catch (e) {
      this.failed(g, (e as Error).message);
    } finally {
      this.starting.set(g.name, (this.starting.get(g.name) ?? 1) - 1);
    }
  }

  private failed(g: GroupRow, detail: string): void {
    const prev = this.backoff.get(g.name)?.failures ?? 0;
    const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** prev);
    this.backoff.set(g.name, { failures: prev + 1, notBefore: Date.now() + wait });
    this.deps.event('server.failed', `${detail}; next try in ${wait} ms`, { env: g.template.env, cluster: g.cluster, subject: g.name });
  }
}
