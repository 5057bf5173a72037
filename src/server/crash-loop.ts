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
// The numbers are per role (`health.crash-loop` in kiln.yaml, carried in the group template).
// The failure times are also written to state.db (FailureLog), so a control plane killed and
// restarted during a crash loop continues the count — and still rolls back — instead of
// starting afresh and giving the bad build a whole new series of restarts.
import type { CrashLoopSpec } from '../spec/types.js';
import type { FailureLog } from '../store/crash-loop-failures.js';

export type CrashLoopConfig = CrashLoopSpec;

export interface TrackerOptions {
  /** The group's own numbers (its template's health.crash-loop); undefined: the defaults. */
  configOf?: (group: string) => CrashLoopConfig | undefined;
  log?: FailureLog;
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
  /** Groups whose failures were read from the log (once per process). */
  private readonly loaded = new Set<string>();

  constructor(private readonly opts: TrackerOptions = {}) {}

  config(group: string): CrashLoopConfig {
    return this.opts.configOf?.(group) ?? CRASH_LOOP_DEFAULTS;
  }
  windowMs(group: string): number {
    return this.config(group).windowMs;
  }
  windowSeconds(group: string): number {
    return Math.round(this.config(group).windowMs / 1000);
  }

  /** Records one failure of `group` (which has `replicas` servers) at `now`. */
  record(group: string, replicas: number, now: number = Date.now()): FailureVerdict {
    const c = this.config(group);
    const recent = this.recent(group, now);
    recent.push(now);
    this.failures.set(group, recent);
    this.persist((log) => log.add(group, now, now - c.windowMs));
    const threshold = Math.max(c.minFailures, replicas + 1);
    const backoffMs = backoffAfter(recent.length, c);
    this.notBefore.set(group, now + backoffMs);
    return { failures: recent.length, threshold, backoffMs, looping: recent.length >= threshold };
  }

  /** Whether a new server of `group` may start now (its backoff has passed). */
  mayStart(group: string, now: number = Date.now()): boolean {
    this.recent(group, now);
    return now >= (this.notBefore.get(group) ?? 0);
  }

  /** Failures of `group` within the window ending `now`. */
  count(group: string, now: number = Date.now()): number {
    return this.recent(group, now).length;
  }

  forget(group: string): void {
    this.failures.delete(group);
    this.notBefore.delete(group);
    this.persist((log) => log.clear(group));
  }

  private persist(write: (log: FailureLog) => void): void {
    if (!this.opts.log) return;
    try {
      write(this.opts.log);
    } catch {
      // A full or read-only disk: the count in memory still paces and catches the loop; only
      // surviving a restart is lost, and storage-watch.ts already reports the disk.
    }
  }

  private recent(group: string, now: number): number[] {
    const c = this.config(group);
    if (!this.loaded.has(group)) {
      this.loaded.add(group);
      const times = this.opts.log?.times(group) ?? [];
      const inWindow = times.filter((t) => now - t < c.windowMs);
      if (inWindow.length) {
        // Continue the backoff where the previous control plane left it.
        this.failures.set(group, inWindow);
        this.notBefore.set(group, inWindow[inWindow.length - 1]! + backoffAfter(inWindow.length, c));
      }
    }
    const list = (this.failures.get(group) ?? []).filter((t) => now - t < c.windowMs);
    if (!list.length) this.failures.delete(group);
    return list;
  }
}
