// The uid/gid an environment's servers already run as, read from state.db without allocating
// (for writers outside the control plane, such as `kiln secret set`): null when Kiln is not root
// or no server of the environment has started yet (its first start owns the files then).
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Identity } from './isolation.js';

export function recordedServerIdentity(kilnDir: string, env: string): Identity | null {
  if (process.geteuid?.() !== 0) return null;
  const file = path.join(kilnDir, 'state.db');
  if (!fs.existsSync(file)) return null;
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'isolation_ids'").get();
    if (!has) return null;
    const get = (subject: string): number | undefined =>
      (db.prepare('SELECT id FROM isolation_ids WHERE subject = ?').get(subject) as { id: number } | undefined)?.id;
    const uid = get(`env:${env}`);
    const gid = get('group');
    return uid !== undefined && gid !== undefined ? { uid, gid } : null;
  } finally {
    db.close();
  }
}
