// Migration 9: canary releases in progress (docs/canary.md), one row per cluster. The route
// table's canary weight is computed from these rows (server/route-table.ts), and a control plane
// that restarts mid-canary finds its step, clock, baseline counts and pending commands here and
// goes on (deploy/canary.ts). A row is deleted when its canary is promoted or aborted; the
// deployment's events keep the history.
import type Database from 'better-sqlite3';
import type { GateResult } from '../canary/gates.js';
import type { GroupCounts } from '../proxy/routes.js';
import type { CanarySpec } from '../spec/types.js';

export const CANARIES_SQL = `
CREATE TABLE canaries (
  cluster       TEXT PRIMARY KEY REFERENCES clusters(name),
  deployment_id INTEGER NOT NULL REFERENCES deployments(id),
  env           TEXT NOT NULL,
  canary_group  TEXT NOT NULL,
  stable_group  TEXT NOT NULL,
  -- strategy.canary of the role as kiln.yaml had it when the deploy started (JSON)
  spec          TEXT NOT NULL,
  step          INTEGER NOT NULL,
  weight        REAL NOT NULL,
  -- epoch milliseconds the step started; time paused in it so far; when the current pause began
  step_started  INTEGER NOT NULL,
  paused_ms     INTEGER NOT NULL DEFAULT 0,
  paused_at     INTEGER,
  -- rollout commands (promote, abort) not yet carried out (1: asked)
  promote       INTEGER NOT NULL DEFAULT 0,
  abort         INTEGER NOT NULL DEFAULT 0,
  -- 1 once its last step passed: it waits for the other clusters of the deploy
  done          INTEGER NOT NULL DEFAULT 0,
  -- the proxy's counts when the step started (JSON {proxy, canary, stable}), null until read
  baseline      TEXT,
  -- the latest gate evaluation (JSON GateResult) and the decision taken on it
  last_gate     TEXT,
  decision      TEXT,
  updated_at    TEXT NOT NULL
);
CREATE INDEX canaries_deployment ON canaries(deployment_id);`;

export interface Baseline {
  /** GET /stats startedAt of the proxy the counts came from: another one started from 0. */
  proxy: number;
  canary: GroupCounts;
  stable: GroupCounts;
}

export interface CanaryRow {
  cluster: string;
  deployment: number;
  env: string;
  canaryGroup: string;
  stableGroup: string;
  spec: CanarySpec;
  step: number;
  weight: number;
  stepStarted: number;
  pausedMs: number;
  pausedAt: number | null;
  promote: boolean;
  abort: boolean;
  done: boolean;
  baseline: Baseline | null;
  lastGate: GateResult | null;
  decision: string | null;
}

interface Raw {
  cluster: string;
  deployment_id: number;
  env: string;
  canary_group: string;
  stable_group: string;
  spec: string;
  step: number;
  weight: number;
  step_started: number;
  paused_ms: number;
  paused_at: number | null;
  promote: number;
  abort: number;
  done: number;
  baseline: string | null;
  last_gate: string | null;
  decision: string | null;
}

function fromRaw(r: Raw): CanaryRow {
  return {
    cluster: r.cluster,
    deployment: r.deployment_id,
    env: r.env,
    canaryGroup: r.canary_group,
    stableGroup: r.stable_group,
    spec: JSON.parse(r.spec) as CanarySpec,
    step: r.step,
    weight: r.weight,
    stepStarted: r.step_started,
    pausedMs: r.paused_ms,
    pausedAt: r.paused_at,
    promote: r.promote === 1,
    abort: r.abort === 1,
    done: r.done === 1,
    baseline: r.baseline === null ? null : (JSON.parse(r.baseline) as Baseline),
    lastGate: r.last_gate === null ? null : (JSON.parse(r.last_gate) as GateResult),
    decision: r.decision,
  };
}

const now = (): string => new Date().toISOString();

export class Canaries {
  constructor(private readonly db: Database.Database) {}

  start(c: { cluster: string; deployment: number; env: string; canaryGroup: string; stableGroup: string; spec: CanarySpec; at: number }): void {
    this.db
      .prepare(
        `INSERT INTO canaries(cluster, deployment_id, env, canary_group, stable_group, spec, step, weight, step_started, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
      )
      .run(c.cluster, c.deployment, c.env, c.canaryGroup, c.stableGroup, JSON.stringify(c.spec), c.spec.steps[0]!.weight, c.at, now());
  }

  of(cluster: string): CanaryRow | undefined {
    const r = this.db.prepare('SELECT * FROM canaries WHERE cluster = ?').get(cluster) as Raw | undefined;
    return r ? fromRaw(r) : undefined;
  }

  all(): CanaryRow[] {
    return (this.db.prepare('SELECT * FROM canaries ORDER BY cluster').all() as Raw[]).map(fromRaw);
  }

  ofDeployment(id: number): CanaryRow[] {
    return (this.db.prepare('SELECT * FROM canaries WHERE deployment_id = ? ORDER BY cluster').all(id) as Raw[]).map(fromRaw);
  }

  /** Cluster -> {group, weight}: what the route table carries. */
  weights(): Record<string, { group: string; weight: number }> {
    const out: Record<string, { group: string; weight: number }> = {};
    for (const r of this.db.prepare('SELECT cluster, canary_group, weight FROM canaries').all() as Array<{ cluster: string; canary_group: string; weight: number }>) {
      out[r.cluster] = { group: r.canary_group, weight: r.weight };
    }
    return out;
  }

  /** The next step begins: its weight, a fresh clock and baseline, no pending promote. */
  enterStep(cluster: string, step: number, weight: number, at: number, baseline: Baseline | null): void {
    this.db
      .prepare(
        `UPDATE canaries SET step = ?, weight = ?, step_started = ?, paused_ms = 0, paused_at = CASE WHEN paused_at IS NULL THEN NULL ELSE ? END,
           promote = 0, baseline = ?, decision = NULL, updated_at = ? WHERE cluster = ?`,
      )
      .run(step, weight, at, at, baseline === null ? null : JSON.stringify(baseline), now(), cluster);
  }

  markDone(cluster: string): void {
    this.db.prepare('UPDATE canaries SET done = 1, promote = 0, updated_at = ? WHERE cluster = ?').run(now(), cluster);
  }

  setBaseline(cluster: string, baseline: Baseline): void {
    this.db.prepare('UPDATE canaries SET baseline = ?, updated_at = ? WHERE cluster = ?').run(JSON.stringify(baseline), now(), cluster);
  }

  recordGate(cluster: string, result: GateResult, decision: string): void {
    this.db.prepare('UPDATE canaries SET last_gate = ?, decision = ?, updated_at = ? WHERE cluster = ?').run(JSON.stringify(result), decision, now(), cluster);
  }

  /** kiln rollout pause / resume: the step's clock stops and goes on. */
  pause(cluster: string, at: number): boolean {
    return this.db.prepare('UPDATE canaries SET paused_at = ?, updated_at = ? WHERE cluster = ? AND paused_at IS NULL').run(at, now(), cluster).changes > 0;
  }

  resume(cluster: string, at: number): boolean {
    return (
      this.db
        .prepare('UPDATE canaries SET paused_ms = paused_ms + (? - paused_at), paused_at = NULL, updated_at = ? WHERE cluster = ? AND paused_at IS NOT NULL')
        .run(at, now(), cluster).changes > 0
    );
  }

  askPromote(cluster: string): void {
    this.db.prepare('UPDATE canaries SET promote = 1, updated_at = ? WHERE cluster = ?').run(now(), cluster);
  }

  askAbort(cluster: string): void {
    this.db.prepare('UPDATE canaries SET abort = 1, updated_at = ? WHERE cluster = ?').run(now(), cluster);
  }

  removeDeployment(id: number): void {
    this.db.prepare('DELETE FROM canaries WHERE deployment_id = ?').run(id);
  }
}
