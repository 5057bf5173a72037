// Keeps every live group at its size. A dead server is never restarted in place: it is marked
// dead, taken out of the route table at once, and the group gets a new server with a new name,
// which joins the route table only after its health check passes. Also finishes drains left
// over by a control-plane restart and keeps the proxy process alive. Lost servers count toward
// a group's crash loop and pace its restarts (crash-loop.ts).
import { checkOnce } from '../deploy/health.js';
import type { GroupRow, RuntimeState } from '../store/runtime-state.js';
import type { ServerManager } from './server-manager.js';
import { CrashLoopTracker } from './crash-loop.js';
import { CrashLoopFailureLog } from '../store/crash-loop-failures.js';

export interface ReconcilerDeps {
  state: RuntimeState;
  servers: ServerManager;
  pushRoutes(): Promise<void>;
  ensureProxy(): Promise<void>;
  /** Stops server processes no live row owns (see ControlPlane.removeOrphanProcesses). */
  sweepOrphans(): Promise<void>;
  inFlight(group: string): Promise<number | null>;
  /**
   * A maintained group crash-loops (crash-loop.ts): roll it back or mark it failed. Resolves
   * true when the group is no longer maintained; may throw (e.g. a deploy holds the lock): the
   * next failure tries again.
   */
  crashLoop(group: string, why: string): Promise<boolean>;
  /** Whether .kiln can be written (checked every tick): on a full disk servers die for a reason no rollback fixes. */
  checkStorage(): boolean;
  event(kind: string, message: string, about: { env: string; cluster: string; subject: string }): void;
  log(message: string): void;
}

/** Groups the reconciler maintains: the active one and the ones kept for rollback. */
const MAINTAINED = ['canary', 'active', 'draining', 'disabled'] as const;
/** How often running servers are health-checked (the spec's interval paces start-up checks). */
export const MONITOR_INTERVAL_MS = 1_000;
/** How often /proc is scanned for server processes no row owns (recovery scans at once). */
const ORPHAN_SWEEP_MS = 2_000;

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Replacements in progress per group, so one tick never starts duplicates. */
  private readonly starting = new Map<string, number>();
  /** Failures per group in the crash-loop window (also in state.db); paces new servers (backoff). */
  readonly crashLoops: CrashLoopTracker;
  /** Groups whose crash loop is being handled, or was reported with nothing to roll back to. */
  private readonly loopHandled = new Set<string>();
  /** Consecutive failed health checks of running servers. */
  private readonly failedChecks = new Map<string, number>();
  private monitorTimer: NodeJS.Timeout | null = null;
  private lastSweep = 0;
  private monitoring = false;
  private storageOk = true;

  constructor(private readonly deps: ReconcilerDeps, private readonly intervalMs = 250) {
    const log = new CrashLoopFailureLog(deps.state.db);
    try {
      log.keepOnly(MAINTAINED);
    } catch (e) {
      deps.log(`crash-loop failures of old groups left in state.db: ${(e as Error).message}`); // read-only .kiln
    }
    // Each group uses its role's numbers from kiln.yaml, as deployed (the group template).
    this.crashLoops = new CrashLoopTracker({ configOf: (g) => deps.state.group(g)?.template.health?.crashLoop, log });
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.monitorTimer = setInterval(() => void this.monitor(), MONITOR_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.monitorTimer) clearInterval(this.monitorTimer);
    this.timer = null;
    this.monitorTimer = null;
  }

  /**
   * Health-checks every healthy server that has a check. After `retries` consecutive failures
   * the server leaves the route table, is stopped, and the next tick gives its group a new one:
   * a server that hangs is treated like one that died. Runs apart from tick() so a slow check
   * never delays noticing a dead process.
   */
  async monitor(): Promise<void> {
    if (this.monitoring) return;
    this.monitoring = true;
    try {
      const { state, servers } = this.deps;
      const checks: Array<Promise<void>> = [];
      const seen = new Set<string>();
      for (const g of state.groups({ states: MAINTAINED })) {
        const h = g.template.health;
        if (!h) continue;
        for (const s of state.servers({ group: g.name, states: ['healthy'] })) {
          if (s.port === null) continue;
          seen.add(s.name);
          checks.push(
            checkOnce(s.port, h.path, h.timeoutMs).then(async (r) => {
              if (r.ok) {
                this.failedChecks.delete(s.name);
                return;
              }
              const n = (this.failedChecks.get(s.name) ?? 0) + 1;
              this.failedChecks.set(s.name, n);
              if (n < h.retries || state.server(s.name)?.state !== 'healthy') return;
              this.failedChecks.delete(s.name);
              state.setServerState(s.name, 'unhealthy', `${n} failed health checks (${r.detail})`);
              await this.deps.pushRoutes();
              this.deps.event('server.unhealthy', `${s.name}: ${n} health checks failed (${r.detail}); replacing it`, {
                env: g.template.env,
                cluster: g.cluster,
                subject: s.name,
              });
              await servers.stop(s, 5_000);
              state.setServerState(s.name, 'dead', `replaced after ${n} failed health checks`);
              this.failure(g, `${s.name}: ${n} failed health checks`);
            }),
          );
        }
      }
      for (const name of this.failedChecks.keys()) if (!seen.has(name)) this.failedChecks.delete(name);
      await Promise.all(checks);
    } catch (e) {
      this.deps.log(`health monitor: ${(e as Error).stack ?? String(e)}`);
    } finally {
      this.monitoring = false;
    }
  }

  /**
   * An active group with no server left serves nothing: if that is its second loss within the
   * window (two servers dying together, or a lone server dying twice), waiting for the crash-loop count would only prolong the outage, so it counts as a
   * crash loop now and rolls back to a kept group if there is one.
   */
  private lostAll(g: GroupRow): boolean {
    const { state } = this.deps;
    if (state.group(g.name)?.state !== 'active') return false;
    return state.servers({ group: g.name, states: ['healthy', 'unhealthy', 'starting'] }).length === 0 && this.crashLoops.count(g.name) + 1 >= 2;
  }

  /** One pass; exported for tests and run at start-up before the API opens. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.storageOk = this.deps.checkStorage();
      await this.deps.ensureProxy();
      if (Date.now() - this.lastSweep >= ORPHAN_SWEEP_MS) {
        this.lastSweep = Date.now();
        await this.deps.sweepOrphans();
      }
      const { state, servers } = this.deps;
      let changed = false;
      for (const g of state.groups({ states: MAINTAINED })) {
        for (const s of state.servers({ group: g.name, states: ['healthy', 'unhealthy'] })) {
          if (!(await servers.isAlive(s))) {
            state.setServerState(s.name, 'dead', 'process exited');
            void servers.release(s).catch((e: Error) => this.deps.log(`releasing ${s.name}: ${e.message}`));
            this.deps.event('server.dead', `${s.name}: process ${s.pid} is gone; starting a new server`, {
              env: g.template.env,
              cluster: g.cluster,
              subject: s.name,
            });
            this.failure(g, `${s.name} exited`, this.lostAll(g));
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
    if (missing <= 0 || inProgress > 0 || !this.crashLoops.mayStart(g.name)) return;
    for (let i = 0; i < missing; i++) void this.replace(g);
  }

  private async replace(g: GroupRow): Promise<void> {
    const { state, servers } = this.deps;
    const about = { env: g.template.env, cluster: g.cluster, subject: g.name };
    this.starting.set(g.name, (this.starting.get(g.name) ?? 0) + 1);
    try {
      const s = await servers.start(g);
      const result = await servers.waitHealthy(g, s);
      // A group destroyed or failed (crash loop) meanwhile takes no new server.
      const maintained = (MAINTAINED as readonly string[]).includes(state.group(g.name)?.state ?? '');
      if (result.ok && maintained) {
        state.setServerState(s.row.name, 'healthy', result.detail);
        await this.deps.pushRoutes();
        this.deps.event('server.replaced', `${s.row.name}: new server healthy in ${g.name}`, { ...about, subject: s.row.name });
      } else {
        await servers.stop(s.row, 2_000);
        state.setServerState(s.row.name, 'dead', result.ok ? 'group no longer maintained while starting' : result.detail);
        if (!result.ok && maintained) this.failed(g, `${s.row.name}: ${result.detail}`);
      }
    } catch (e) {
      this.failed(g, (e as Error).message);
    } finally {
      this.starting.set(g.name, (this.starting.get(g.name) ?? 1) - 1);
    }
  }

  private failed(g: GroupRow, detail: string): void {
    const wait = this.failure(g, detail);
    this.deps.event('server.failed', `${detail}; next try in ${wait} ms`, { env: g.template.env, cluster: g.cluster, subject: g.name });
  }

  /**
   * Counts one lost server of a maintained group: sets its backoff and, when the failures make a
   * crash loop, hands the group to the control plane once. Returns the backoff in ms.
   */
  private failure(g: GroupRow, detail: string, lostAll = false): number {
    const v = this.crashLoops.record(g.name, g.replicas);
    // A full or read-only disk kills every build alike: back off, but roll nothing back for it.
    if ((v.looping || lostAll) && this.storageOk && !this.loopHandled.has(g.name)) {
      this.loopHandled.add(g.name);
      const why = lostAll
        ? `every server lost (${v.failures} within ${this.crashLoops.windowSeconds(g.name)} s), last: ${detail}`
        : `${v.failures} servers lost within ${this.crashLoops.windowSeconds(g.name)} s, last: ${detail}`;
      void this.deps
        .crashLoop(g.name, why)
        .then((done) => {
          if (done) this.crashLoops.forget(g.name);
          // Nothing to roll back to: reported once; a new episode (a quiet window) reports again.
          else setTimeout(() => this.loopHandled.delete(g.name), this.crashLoops.windowMs(g.name)).unref();
        })
        .catch((e: Error) => {
          this.loopHandled.delete(g.name);
          this.deps.log(`crash loop of ${g.name}: ${e.message}`);
        });
    } else if (!v.looping) {
      this.loopHandled.delete(g.name);
    }
    return v.backoffMs;
  }
}
