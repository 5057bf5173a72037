// Crash-loop detection and restart backoff for the groups the reconciler keeps alive.
//
// A *failure* is one server of a group lost after the group became active (or kept): a healthy
// server whose process exited, one replaced after `health.retries` failed checks, or a
// replacement that exited or never became healthy. A group *crash-loops* when it has at least
// max(`minFailures`, replicas + 1) failures within `windowMs`: more failures than it has
// servers, so one bad moment (a host killing every server once) is not enough, but a build that
// dies a few seconds after start is caught within a few restarts.
//
// Before each new server of a group that failed, the reconciler waits
// min(`maxBackoffMs`, `initialBackoffMs` × 2^(failures in the window − 1)): 0.5 s, 1 s, 2 s, 4 s,
// … capped at 30 s, instead of restarting at once forever. A quiet window resets both.
// The counts live in the control plane's memory: a restarted control plane starts afresh.

export interface CrashLoopConfig {
  windowMs: number;
  minFailures: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const CRASH_LOOP_DEFAULTS: CrashLoopConfig = {
  windowMs: 60_000,
  minFailures: 3,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
};

export interface FailureVerdict {
  /** Failures of the group within the window, this one included. */
  failures: number;
  /** How many failures within the window make a crash loop for this group. */
  threshold: number;
  /** Wait before the group's next server starts. */
  backoffMs: number;
  looping: boolean;
}

/** The backoff schedule: the wait after the n-th failure in a window (n ≥ 1). */
export function backoffAfter(failures: number, c: CrashLoopConfig = CRASH_LOOP_DEFAULTS): number {
  return Math.min(c.maxBackoffMs, c.initialBackoffMs * 2 ** Math.max(0, failures - 1));
}

export class CrashLoopTracker {
  private readonly failures = new Map<string, number[]>();
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly config: CrashLoopConfig = CRASH_LOOP_DEFAULTS) {}

  get windowMs(): number {
    return this.config.windowMs;
  }
  get windowSeconds(): number {
    return Math.round(this.config.windowMs / 1000);
  }

  /** Records one failure of `group` (which has `replicas` servers) at `now`. */
  record(group: string, replicas: number, now: number = Date.now()): FailureVerdict {
    const recent = this.recent(group, now);
    recent.push(now);
    this.failures.set(group, recent);
    const threshold = Math.max(this.config.minFailures, replicas + 1);
    const backoffMs = backoffAfter(recent.length, this.config);
    this.notBefore.set(group, now + backoffMs);
    return { failures: recent.length, threshold, backoffMs, looping: recent.length >= threshold };
  }

  /** Whether a new server of `group` may start now (its backoff has passed). */
  mayStart(group: string, now: number = Date.now()): boolean {
    return now >= (this.notBefore.get(group) ?? 0);
  }

  /** Failures of `group` within the window ending `now`. */
  count(group: string, now: number = Date.now()): number {
    return this.recent(group, now).length;
  }

  forget(group: string): void {
    this.failures.delete(group);
    this.notBefore.delete(group);
  }

  private recent(group: string, now: number): number[] {
    const list = (this.failures.get(group) ?? []).filter((t) => now - t < this.config.windowMs);
    if (!list.length) this.failures.delete(group);
    return list;
  }
}
