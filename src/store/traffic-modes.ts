// A cluster's traffic mode, set by `kiln pause|resume` and `kiln maintenance on|off`: kept in
// state.db so the route table carries it again after a control-plane restart, and the proxy saves
// that table, so a proxy restart keeps it too. Absent row: traffic flows.
import type Database from 'better-sqlite3';

export const TRAFFIC_MODES_SQL = `
CREATE TABLE traffic_modes (
  cluster          TEXT PRIMARY KEY,
  -- kiln pause: new requests wait until resume or this time (ms since the epoch), then 503
  paused_until     INTEGER,
  -- kiln maintenance on: the page answered with 503, and its Retry-After in seconds
  maintenance_page TEXT,
  retry_after_s    INTEGER,
  changed_at       TEXT NOT NULL
);`;

export interface TrafficMode {
  cluster: string;
  pausedUntil: number | null;
  maintenance: { page: string; retryAfterS: number } | null;
}

interface Row {
  cluster: string;
  paused_until: number | null;
  maintenance_page: string | null;
  retry_after_s: number | null;
}

// Every route table reads the modes: its statement is prepared once per database, not per push.
const readAll = new WeakMap<Database.Database, Database.Statement>();

export class TrafficModes {
  constructor(private readonly db: Database.Database) {}

  all(): Map<string, TrafficMode> {
    let stmt = readAll.get(this.db);
    if (!stmt) {
      stmt = this.db.prepare('SELECT cluster, paused_until, maintenance_page, retry_after_s FROM traffic_modes');
      readAll.set(this.db, stmt);
    }
    const rows = stmt.all() as Row[];
    return new Map(rows.map((r) => [r.cluster, modeOf(r)]));
  }

  of(cluster: string): TrafficMode {
    const r = this.db.prepare('SELECT cluster, paused_until, maintenance_page, retry_after_s FROM traffic_modes WHERE cluster = ?').get(cluster) as Row | undefined;
    return r ? modeOf(r) : { cluster, pausedUntil: null, maintenance: null };
  }

  pause(cluster: string, until: number): void {
    this.upsert(cluster, { paused_until: until });
  }

  resume(cluster: string): void {
    this.upsert(cluster, { paused_until: null });
  }

  maintenanceOn(cluster: string, page: string, retryAfterS: number): void {
    this.upsert(cluster, { maintenance_page: page, retry_after_s: retryAfterS });
  }

  maintenanceOff(cluster: string): void {
    this.upsert(cluster, { maintenance_page: null, retry_after_s: null });
  }

  private upsert(cluster: string, set: Partial<Omit<Row, 'cluster'>>): void {
    this.db.transaction(() => {
      const cur = this.of(cluster);
      const next: Row = {
        cluster,
        paused_until: 'paused_until' in set ? (set.paused_until ?? null) : cur.pausedUntil,
        maintenance_page: 'maintenance_page' in set ? (set.maintenance_page ?? null) : (cur.maintenance?.page ?? null),
        retry_after_s: 'retry_after_s' in set ? (set.retry_after_s ?? null) : (cur.maintenance?.retryAfterS ?? null),
      };
      if (next.paused_until === null && next.maintenance_page === null) {
        this.db.prepare('DELETE FROM traffic_modes WHERE cluster = ?').run(cluster);
        return;
      }
      this.db
        .prepare(
          `INSERT INTO traffic_modes(cluster, paused_until, maintenance_page, retry_after_s, changed_at) VALUES (@cluster, @paused_until, @maintenance_page, @retry_after_s, @at)
           ON CONFLICT(cluster) DO UPDATE SET paused_until = excluded.paused_until, maintenance_page = excluded.maintenance_page, retry_after_s = excluded.retry_after_s, changed_at = excluded.changed_at`,
        )
        .run({ ...next, at: new Date().toISOString() });
    })();
  }
}

function modeOf(r: Row): TrafficMode {
  return {
    cluster: r.cluster,
    pausedUntil: r.paused_until,
    maintenance: r.maintenance_page !== null ? { page: r.maintenance_page, retryAfterS: r.retry_after_s ?? 0 } : null,
  };
}
