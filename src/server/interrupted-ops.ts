// Recovery of env operations (create, destroy, a rebuild's side-by-side environment) whose owner
// died: their deploy-lock row, written before their first side effect, says what to reverse or
// complete. Swept at control-plane start and every 2 s (a rebuild CLI may die while this runs).
import type { DeployLocks } from '../store/deploy-lock.js';
import { finishInterrupted, isEnvOperation, type EnvApiHost } from './env-api.js';

export interface InterruptedOpsDeps {
  locks: DeployLocks;
  /** What finishing an operation needs (created lazily: it closes over the control plane). */
  host: () => EnvApiHost;
  event: (kind: string, message: string, about: { env: string }) => void;
  log: (message: string) => void;
}

/** How often the sweep runs after start. */
export const INTERRUPTED_OPS_SWEEP_MS = 2_000;

export class InterruptedOps {
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(private readonly deps: InterruptedOpsDeps) {}

  /** Sweeps every INTERRUPTED_OPS_SWEEP_MS until stop(); never keeps the process alive. */
  start(): void {
    this.timer = setInterval(() => void this.sweep(), INTERRUPTED_OPS_SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Finishes every stale env-operation row. A row is removed only once its operation is done, so
   * a crash meanwhile is finished by the next start. One sweep at a time.
   */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const { locks } = this.deps;
    try {
      const rows = locks.list().filter((r) => isEnvOperation(r) && locks.isStale(r));
      for (const row of rows) {
        const env = row.env.replace(/^(create|rebuild):/, '');
        // Something still works on that environment (a create the rebuild asked for): later.
        const busy = [env, `create:${env}`].some((k) => {
          const l = locks.get(k);
          return l && l.owner !== row.owner && !locks.isStale(l);
        });
        if (busy) continue;
        try {
          const done = await finishInterrupted(this.deps.host(), row);
          if (done) this.deps.event('env.recovered', `${done} (${row.operation} by ${row.owner} since ${row.acquired_at})`, { env });
          locks.release(row.env, row.owner);
        } catch (e) {
          this.deps.log(`finishing the interrupted ${row.operation} of ${env}: ${(e as Error).message} (will try again)`);
        }
      }
    } finally {
      this.sweeping = false;
    }
  }
}
