// Who an app build runs as, for build code that has only the .kiln path (`kiln app tag`,
// `kiln rebuild`): the store's build uid when Kiln is root, else null (Kiln's own user).
import { openStateDb } from '../store/state-db.js';
import { Isolation, type Identity } from './isolation.js';

export function buildIdentityOf(kilnDir: string): Identity | null {
  if (process.geteuid?.() !== 0) return null;
  const db = openStateDb(kilnDir);
  try {
    return new Isolation(kilnDir, db).buildIdentity();
  } finally {
    db.close();
  }
}
