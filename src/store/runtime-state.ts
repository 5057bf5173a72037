// Typed access to the runtime tables of state.db (migration 2). The control plane is the only
// writer; each multi-row change is one transaction so a crash leaves either before or after.
import type Database from 'better-sqlite3';
import type { HealthCheckSpec, RuntimeName } from '../spec/types.js';
import type { ImageRef } from '../runtime/types.js';
import type { ServerArgs } from '../runtime/args.js';

/**
 * 'stopped': kept for rollback like 'disabled', but with no servers running: the previous group of
 * a cluster without a load balancer (a worker), which has no route to disable (deploy/kept.ts).
 */
export type GroupState = 'creating' | 'canary' | 'active' | 'draining' | 'disabled' | 'stopped' | 'failed' | 'destroyed';
export type ServerState = 'starting' | 'healthy' | 'unhealthy' | 'dead' | 'stopped';
/** Groups that are not gone: they have (or should have, or may get again on rollback) servers. */
export const LIVE_GROUP_STATES: readonly GroupState[] = ['creating', 'canary', 'active', 'draining', 'disabled', 'stopped'];

/** Everything needed to start one more server of a group exactly like its siblings. */
export interface GroupTemplate {
  project: string;
  env: string;
  service: string;
  role: string;
  cluster: string;
  release: string;
  appDigest: string;
  appDir: string;
  run: string[];
  /** Flags and positional arguments, typed (runtime/args.ts); absent in groups made before they were. */
  args?: ServerArgs;
  /** Groups made before: flags resolved except for ${port} and ${log.file} (deploy/flags.ts, legacyServerArgs). */
  flags?: Array<[string, string]>;
  portName?: string;
  health?: HealthCheckSpec;
  /** Without a health check: ms a new server must keep running to count as started (absent: the default). */
  settleMs?: number;
  /** Where the servers run (absent in groups made before runtimes were selectable: process). */
  runtime?: RuntimeName;
  /** The image container runtimes start. */
  image?: ImageRef;
}

export interface ClusterRow {
  name: string;
  env: string;
  service: string;
  role: string;
  lb_port: number | null;
  active_group: string | null;
  next_build: number;
}

export interface GroupRow {
  name: string;
  cluster: string;
  build: number;
  release: string;
  deployment_id: number | null;
  state: GroupState;
  replicas: number;
  next_ordinal: number;
  template: GroupTemplate;
  created_at: string;
  changed_at: string;
}

export interface ServerRow {
  name: string;
  group_name: string;
  ordinal: number;
  state: ServerState;
  pid: number | null;
  start_time: string | null;
  /** The runtime's id of the server (podman: container id); null for processes. */
  runtime_ref: string | null;
  port: number | null;
  created_at: string;
  changed_at: string;
  detail: string | null;
}

export interface EventRow {
  id: number;
  at: string;
  deployment_id: number | null;
  env: string | null;
  cluster: string | null;
  subject: string | null;
  kind: string;
  message: string;
}

type RawGroup = Omit<GroupRow, 'template'> & { template: string };
const now = (): string => new Date().toISOString();

/** A deployment (or rollback) that just ended, for whoever counts them (server/metrics.ts). */
export interface FinishedDeployment {
  kind: 'deploy' | 'rollback';
  env: string;
  outcome: 'succeeded' | 'failed' | 'interrupted';
  /** From its start to now, by the wall clock. */
  seconds: number;
}

export class RuntimeState {
  /** Told of every deployment that ends, whoever ended it (deploy, rollback, crash-loop, kubernetes, recovery). */
  onDeploymentFinished: ((d: FinishedDeployment) => void) | null = null;

  /**
   * Every statement this class runs, prepared once: SQLite compiles a statement each time it is
   * prepared, and the loops run the same few many times a second. Keyed by the SQL text, which
   * is one of a fixed few (an IN list's length comes from a fixed set of state lists).
   */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  private sql(text: string): Database.Statement {
    let s = this.statements.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  private finished(id: number, outcome: FinishedDeployment['outcome'], at: string): void {
    if (!this.onDeploymentFinished) return;
    const row = this.sql('SELECT env, kind, started_at FROM deployments WHERE id = ?').get(id) as
      | { env: string; kind: 'deploy' | 'rollback'; started_at: string }
      | undefined;
    if (!row) return;
    this.onDeploymentFinished({ kind: row.kind, env: row.env, outcome, seconds: Math.max(0, (Date.parse(at) - Date.parse(row.started_at)) / 1000) });
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  nextCounter(name: string): number {
    return this.tx(() => {
      this.sql('INSERT INTO counters(name, value) VALUES (?, 0) ON CONFLICT(name) DO NOTHING').run(name);
      this.sql('UPDATE counters SET value = value + 1 WHERE name = ?').run(name);
      return (this.sql('SELECT value FROM counters WHERE name = ?').get(name) as { value: number }).value;
    });
  }

  /** Makes the counter at least `min` (e.g. the proxy's table version after a restart). */
  raiseCounter(name: string, min: number): void {
    this.sql('INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)').run(name, min);
  }

  // --- clusters
  cluster(name: string): ClusterRow | undefined {
    return this.sql('SELECT * FROM clusters WHERE name = ?').get(name) as ClusterRow | undefined;
  }
  clusters(env?: string): ClusterRow[] {
    return (env
      ? this.sql('SELECT * FROM clusters WHERE env = ? ORDER BY name').all(env)
      : this.sql('SELECT * FROM clusters ORDER BY env, name').all()) as ClusterRow[];
  }
  ensureCluster(c: Omit<ClusterRow, 'active_group' | 'next_build'>): ClusterRow {
    this.sql(
        'INSERT INTO clusters(name, env, service, role, lb_port, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING',
      )
      .run(c.name, c.env, c.service, c.role, c.lb_port, now());
    return this.cluster(c.name) as ClusterRow;
  }
  setLbPort(cluster: string, port: number): void {
    this.sql('UPDATE clusters SET lb_port = ? WHERE name = ?').run(port, cluster);
  }
  setActive(cluster: string, group: string | null): void {
    this.sql('UPDATE clusters SET active_group = ? WHERE name = ?').run(group, cluster);
  }
  /** Reserves the cluster's next build number (never reused, even for failed groups). */
  takeBuild(cluster: string): number {
    return this.tx(() => {
      const row = this.sql('SELECT next_build FROM clusters WHERE name = ?').get(cluster) as { next_build: number };
      this.sql('UPDATE clusters SET next_build = next_build + 1 WHERE name = ?').run(cluster);
      return row.next_build;
    });
  }

  /**
   * Removes an environment's clusters, groups and servers (after they were torn down), so
   * neither the route table nor DNS has a name of it left. Deployments and events stay: history.
   */
  forgetEnvironment(env: string): void {
    this.tx(() => {
      const groups = `SELECT g.name FROM server_groups g JOIN clusters c ON c.name = g.cluster WHERE c.env = ?`;
      this.sql(`DELETE FROM servers WHERE group_name IN (${groups})`).run(env);
      this.sql(`DELETE FROM server_groups WHERE cluster IN (SELECT name FROM clusters WHERE env = ?)`).run(env);
      this.sql('DELETE FROM clusters WHERE env = ?').run(env);
    });
  }

  // --- groups
  private toGroup(r: RawGroup | undefined): GroupRow | undefined {
    return r ? { ...r, template: JSON.parse(r.template) as GroupTemplate } : undefined;
  }
  group(name: string): GroupRow | undefined {
    return this.toGroup(this.sql('SELECT * FROM server_groups WHERE name = ?').get(name) as RawGroup | undefined);
  }
  /**
   * Groups by cluster, build. `states` reaches only the rows in those states through the
   * server_groups_state index (migration 9); `aboveBuild` keeps the builds newer than one.
   */
  groups(where: { cluster?: string; states?: readonly GroupState[]; aboveBuild?: number } = {}): GroupRow[] {
    const conds: string[] = [];
    const args: unknown[] = [];
    if (where.cluster) {
      conds.push('cluster = ?');
      args.push(where.cluster);
    }
    if (where.states) {
      conds.push(`state IN (${where.states.map(() => '?').join(',')})`);
      args.push(...where.states);
    }
    if (where.aboveBuild !== undefined) {
      conds.push('build > ?');
      args.push(where.aboveBuild);
    }
    // `+build`: the order is sorted, never read from the (cluster, build) key. Without it SQLite,
    // which has no statistics, walks that key through every group the cluster ever had (history
    // included) to save sorting the few it returns.
    const sql = `SELECT * FROM server_groups ${conds.length ? 'WHERE ' + conds.join(' AND ') : ''} ORDER BY cluster, +build`;
    return (this.sql(sql).all(...args) as RawGroup[]).map((r) => this.toGroup(r) as GroupRow);
  }
  insertGroup(g: Pick<GroupRow, 'name' | 'cluster' | 'build' | 'release' | 'deployment_id' | 'replicas' | 'template'>): void {
    const t = now();
    this.sql(
        `INSERT INTO server_groups(name, cluster, build, release, deployment_id, state, replicas, template, created_at, changed_at)
         VALUES (?, ?, ?, ?, ?, 'creating', ?, ?, ?, ?)`,
      )
      .run(g.name, g.cluster, g.build, g.release, g.deployment_id, g.replicas, JSON.stringify(g.template), t, t);
  }
  setGroupState(name: string, state: GroupState): void {
    this.sql('UPDATE server_groups SET state = ?, changed_at = ? WHERE name = ?').run(state, now(), name);
  }
  takeOrdinal(group: string): number {
    return this.tx(() => {
      const row = this.sql('SELECT next_ordinal FROM server_groups WHERE name = ?').get(group) as { next_ordinal: number };
      this.sql('UPDATE server_groups SET next_ordinal = next_ordinal + 1 WHERE name = ?').run(group);
      return row.next_ordinal;
    });
  }

  // --- servers
  server(name: string): ServerRow | undefined {
    return this.sql('SELECT * FROM servers WHERE name = ?').get(name) as ServerRow | undefined;
  }
  servers(where: { group?: string; states?: readonly ServerState[] } = {}): ServerRow[] {
    const conds: string[] = [];
    const args: unknown[] = [];
    if (where.group) {
      conds.push('group_name = ?');
      args.push(where.group);
    }
    if (where.states) {
      conds.push(`state IN (${where.states.map(() => '?').join(',')})`);
      args.push(...where.states);
    }
    const sql = `SELECT * FROM servers ${conds.length ? 'WHERE ' + conds.join(' AND ') : ''} ORDER BY group_name, ordinal`;
    return this.sql(sql).all(...args) as ServerRow[];
  }
  insertServer(s: Pick<ServerRow, 'name' | 'group_name' | 'ordinal' | 'port'>): void {
    const t = now();
    this.sql(`INSERT INTO servers(name, group_name, ordinal, state, port, created_at, changed_at) VALUES (?, ?, ?, 'starting', ?, ?, ?)`)
      .run(s.name, s.group_name, s.ordinal, s.port, t, t);
  }
  /** The started server's handle (runtime/types.ts ServerHandle): its ref, and its pid where it has one. */
  setServerProcess(name: string, h: { ref: string; pid?: number; startTime?: string }): void {
    this.sql('UPDATE servers SET pid = ?, start_time = ?, runtime_ref = ?, changed_at = ? WHERE name = ?')
      .run(h.pid ?? null, h.startTime ?? null, h.ref, now(), name);
  }
  setServerState(name: string, state: ServerState, detail?: string): void {
    this.sql('UPDATE servers SET state = ?, changed_at = ?, detail = COALESCE(?, detail) WHERE name = ?')
      .run(state, now(), detail ?? null, name);
  }

  // --- deployments and events
  /** `by`: who asked ("cli (alice)", "dashboard", "control plane: crash loop"), shown in the timeline. */
  startDeployment(env: string, release: string, kind: 'deploy' | 'rollback', by: string | null = null): number {
    // Without `by`, the column is not named: the statement also runs on a store before migration 12.
    const r = (by === null
      ? this.sql(`INSERT INTO deployments(env, release, kind, state, started_at) VALUES (?, ?, ?, 'running', ?)`).run(env, release, kind, now())
      : this.sql(`INSERT INTO deployments(env, release, kind, state, started_at, started_by) VALUES (?, ?, ?, 'running', ?, ?)`).run(env, release, kind, now(), by));
    return Number(r.lastInsertRowid);
  }
  finishDeployment(id: number, ok: boolean, error?: string): void {
    const at = now();
    this.sql('UPDATE deployments SET state = ?, finished_at = ?, error = ? WHERE id = ?')
      .run(ok ? 'succeeded' : 'failed', at, error ?? null, id);
    this.finished(id, ok ? 'succeeded' : 'failed', at);
  }
  runningDeployments(): Array<{ id: number; env: string; release: string; kind: string }> {
    return this.sql(`SELECT id, env, release, kind FROM deployments WHERE state = 'running'`).all() as Array<{
      id: number;
      env: string;
      release: string;
      kind: string;
    }>;
  }
  markInterrupted(id: number): void {
    const at = now();
    this.sql(`UPDATE deployments SET state = 'interrupted', finished_at = ?, error = 'control plane stopped during the deploy' WHERE id = ?`)
      .run(at, id);
    this.finished(id, 'interrupted', at);
  }
  lastDeployment(env: string): { id: number; release: string; state: string; kind: string } | undefined {
    return this.sql(`SELECT id, release, state, kind FROM deployments WHERE env = ? ORDER BY id DESC LIMIT 1`)
      .get(env) as { id: number; release: string; state: string; kind: string } | undefined;
  }
  /**
   * Clusters switched by the environment's latest succeeded deploy or rollback that switched any:
   * since a deploy leaves unchanged clusters alone, a rollback undoes only these.
   */
  lastSwitchedClusters(env: string): string[] | null {
    const row = this.sql(
        `SELECT d.id FROM deployments d WHERE d.env = ? AND d.state = 'succeeded'
           AND EXISTS (SELECT 1 FROM events e WHERE e.deployment_id = d.id AND e.kind = 'cluster.switched')
         ORDER BY d.id DESC LIMIT 1`,
      )
      .get(env) as { id: number } | undefined;
    if (!row) return null;
    return (this.sql(`SELECT DISTINCT cluster FROM events WHERE deployment_id = ? AND kind = 'cluster.switched' AND cluster IS NOT NULL`).all(row.id) as Array<{ cluster: string }>).map((r) => r.cluster);
  }
  /** Whether a deploy of `release` to `env` ever succeeded (every server of it healthy, switched). */
  deployedOk(env: string, release: string): boolean {
    return !!this.sql(`SELECT 1 FROM deployments WHERE env = ? AND release = ? AND kind = 'deploy' AND state = 'succeeded' LIMIT 1`).get(env, release);
  }
  addEvent(e: Omit<EventRow, 'id' | 'at'>): EventRow {
    const at = now();
    const r = this.sql('INSERT INTO events(at, deployment_id, env, cluster, subject, kind, message) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(at, e.deployment_id, e.env, e.cluster, e.subject, e.kind, e.message);
    return { id: Number(r.lastInsertRowid), at, ...e };
  }
  /** The newest event of one of `kinds` about `subject` (e.g. why a group failed). */
  lastEventAbout(subject: string, kinds: readonly string[]): EventRow | undefined {
    return this.sql(`SELECT * FROM events WHERE subject = ? AND kind IN (${kinds.map(() => '?').join(',')}) ORDER BY id DESC LIMIT 1`)
      .get(subject, ...kinds) as EventRow | undefined;
  }
    events(where: { deployment?: number; env?: string; limit?: number }): EventRow[] {
    if (where.deployment !== undefined) {
      return this.sql('SELECT * FROM events WHERE deployment_id = ? ORDER BY id').all(where.deployment) as EventRow[];
    }
    return this.sql('SELECT * FROM (SELECT * FROM events WHERE env = ? ORDER BY id DESC LIMIT ?) ORDER BY id')
      .all(where.env ?? '', where.limit ?? 50) as EventRow[];
  }
}
