// What "consistent" means after a crash (issue 7), read straight from state.db, .kiln/ and /proc,
// never from the control plane's own view: every environment is either fully present (a kiln.yaml
// one, or a created one with every cluster converged) or fully absent (no live group, no data,
// secret or log directory); every server process is owned by a live row and every live row has
// its process; and no deploy lock is left to block the next operation.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { serverProcesses } from '../../../src/runtime/process/orphans.js';

const LIVE = `('creating', 'active', 'draining', 'disabled')`;

export interface WorldView {
  /** Environments made with kiln env create. */
  created: string[];
  /** Server processes counted (all owned). */
  servers: number;
}

/** Why the world is not consistent yet (a string), or what it is. `yamlEnvs`: kiln.yaml's environments. */
export function worldProblem(dir: string, yamlEnvs: readonly string[], opts: { deployed: readonly string[] }): WorldView | string {
  const kilnDir = path.join(dir, '.kiln');
  const db = new Database(path.join(kilnDir, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const created = (db.prepare('SELECT name FROM created_environments ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    const liveEnvs = (db.prepare(`SELECT DISTINCT c.env FROM clusters c JOIN server_groups g ON g.cluster = c.name WHERE g.state IN ${LIVE}`).all() as Array<{ env: string }>).map((r) => r.env);
    for (const e of liveEnvs) if (!yamlEnvs.includes(e) && !created.includes(e)) return `orphan: environment ${e} has live groups but no created_environments row`;
    // A created environment is there only whole: clusters deployed and converged.
    for (const e of [...opts.deployed, ...created]) {
      const clusters = db.prepare('SELECT name, active_group FROM clusters WHERE env = ?').all(e) as Array<{ name: string; active_group: string | null }>;
      if (!clusters.length) return `${e}: no cluster deployed`;
      for (const c of clusters) {
        const groups = db.prepare(`SELECT name, state, replicas FROM server_groups WHERE cluster = ? AND state IN ${LIVE}`).all(c.name) as Array<{ name: string; state: string; replicas: number }>;
        const active = groups.filter((g) => g.state === 'active');
        if (active.length !== 1) return `${c.name}: ${active.length} active groups`;
        const pending = groups.find((g) => g.state === 'creating' || g.state === 'draining');
        if (pending) return `${c.name}: ${pending.name} is still ${pending.state}`;
        if (c.active_group !== active[0]!.name) return `${c.name}: routes to ${c.active_group}, active is ${active[0]!.name}`;
        const healthy = db.prepare(`SELECT COUNT(*) AS n FROM servers WHERE group_name = ? AND state = 'healthy'`).get(active[0]!.name) as { n: number };
        if (healthy.n !== active[0]!.replicas) return `${active[0]!.name}: ${healthy.n}/${active[0]!.replicas} healthy`;
      }
    }
    // Nothing on disk for an environment that is not there.
    for (const sub of ['data', 'secrets', 'logs']) {
      const base = path.join(kilnDir, sub);
      if (!fs.existsSync(base)) continue;
      for (const d of fs.readdirSync(base, { withFileTypes: true })) {
        if (d.isDirectory() && !yamlEnvs.includes(d.name) && !created.includes(d.name)) return `orphan: .kiln/${sub}/${d.name} of an environment that does not exist`;
      }
    }
    // Processes and rows: one for one.
    const rows = db.prepare(`SELECT s.name, s.pid FROM servers s JOIN server_groups g ON g.name = s.group_name WHERE g.state IN ${LIVE} AND s.state IN ('starting', 'healthy', 'unhealthy')`).all() as Array<{ name: string; pid: number | null }>;
    const rowPids = new Set(rows.flatMap((r) => (r.pid ? [r.pid] : [])));
    const procs = serverProcesses(kilnDir);
    const orphans = procs.filter((p) => !rowPids.has(p.pid)).map((p) => `${p.server}:${p.pid}`);
    const missing = rows.filter((r) => !r.pid || !procs.some((p) => p.pid === r.pid)).map((r) => r.name);
    if (orphans.length || missing.length) return `processes vs rows: orphans ${orphans.join(',') || '-'}, missing ${missing.join(',') || '-'}`;
    const locks = db.prepare('SELECT env, owner, operation FROM deploy_locks').all() as Array<{ env: string; owner: string; operation: string }>;
    if (locks.length) return `locks left: ${locks.map((l) => `${l.env} (${l.operation} by ${l.owner})`).join(', ')}`;
    return { created, servers: procs.length };
  } finally {
    db.close();
  }
}

/** The seed of a chaos run: KILN_CHAOS_SEED replays one; else a new one each run (printed). */
export function chaosSeed(): number {
  const given = process.env.KILN_CHAOS_SEED;
  return given !== undefined && given !== '' ? Number(given) >>> 0 : (Math.random() * 0x100000000) >>> 0;
}

export const median = (xs: number[]): number => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
