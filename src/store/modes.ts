// Who may enter .kiln and its top-level entries (docs/isolation.md). Private to Kiln's own user:
// state.db, logs.db, oci/ (blobs, releases), run/ (token, API and proxy admin sockets), tmp/.
// When Kiln runs as root its servers run as unprivileged users that share one group per store
// (isolation/): that group may pass through .kiln and the directories holding per-server parts
// (apps/ read-only, secrets/, data/, logs/, servers/), and nothing more; each environment's own
// directories and files inside them belong to that environment's uid. Anyone else gets nothing.
// Applied at `kiln init` and whenever a store is opened, so a store made by an older Kiln (0755)
// is tightened by the next command.
import fs from 'node:fs';
import path from 'node:path';
import { ownFileByPath, ownPath, type Ownership } from './owned-paths.js';

/** Directories the servers' group passes through (apps/ also lists and reads: app files are shared). */
export const GATE_DIRS = ['secrets', 'data', 'logs', 'servers'] as const;
export const PRIVATE_DIRS = ['run', 'oci', 'tmp'] as const;
export const PRIVATE_FILES = [
  'state.db', 'state.db-wal', 'state.db-shm', 'state.db-journal',
  'logs.db', 'logs.db-wal', 'logs.db-shm', 'logs.db-journal',
  '.gitignore', path.join('logs', 'proxy.log'),
] as const;

/** Mode of .kiln and of a gate directory: 0710 with the servers' group, else 0700. */
export function gateMode(group: number | null): number {
  return group === null ? 0o700 : 0o710;
}

/**
 * Sets the modes (and, with `group`, the group) of .kiln's top level. Only a store this user
 * owns is changed: another user's command opening it (read-only uses) must not fail here.
 */
export function secureStoreModes(kilnDir: string, group: number | null): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(kilnDir);
  } catch {
    return;
  }
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid !== uid || !st.isDirectory()) return;
  const own = (mode: number, gid: number): Ownership => ({ uid, gid, mode });
  const privateGid = process.getegid?.() ?? st.gid;
  const gateGid = group ?? privateGid;
  ownPath(kilnDir, own(gateMode(group), gateGid), 'dir');
  for (const d of GATE_DIRS) ownPath(path.join(kilnDir, d), own(gateMode(group), gateGid), 'dir');
  ownPath(path.join(kilnDir, 'apps'), own(group === null ? 0o700 : 0o750, gateGid), 'dir');
  for (const d of PRIVATE_DIRS) ownPath(path.join(kilnDir, d), own(0o700, privateGid), 'dir');
  // By path: these are databases this very process may have open (see ownFileByPath).
  for (const f of PRIVATE_FILES) ownFileByPath(path.join(kilnDir, f), own(0o600, privateGid));
}
