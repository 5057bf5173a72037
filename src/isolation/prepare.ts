// The files one server may use, owned before it starts (docs/isolation.md):
//   .kiln/servers/<server>/         its working directory          uid:group 0700
//   <log dir of its --log-file>     where it writes its log         uid:group 0700
//   .kiln/secrets/<env>/…           its environment's secrets       uid:group 0400 (dirs root:group 0710)
//   .kiln/data/<env>/               its environment's SQLite stores uid:group 0700, files 0600
// Every directory above those is root's, mode 0710 for the group: a server passes through and
// finds nothing it may open but its own. Another environment's uid owns that one's files, so a
// dev server gets EACCES on a prod secret; the token, state.db and the sockets stay root's 0600
// inside run/ (0700). Runs at every server start: files that appeared since (a `kiln secret set`,
// a migration that created a store, an `env create` copy) are owned before a server needs them.
import path from 'node:path';
import { KilnError } from '../errors.js';
import fs from 'node:fs';
import { ensureDirChain, firstClosedAncestor, ownEntries, ownFileByPath, type Ownership } from '../store/owned-paths.js';
import type { Identity } from './isolation.js';

export interface ServerFiles {
  env: string;
  workDir: string;
  logFile: string;
  /** The SQLite files of the environment's stores (at their default place or a custom path). */
  stores: string[];
}

/** SQLite writes these beside a database; the server must own them as it owns the database. */
const SQLITE_SIDE_FILES = ['', '-wal', '-shm', '-journal'];

function partsUnder(kilnDir: string, dir: string): string[] {
  const rel = path.relative(kilnDir, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${dir} is not inside ${kilnDir}`);
  return rel.split(path.sep);
}

/** `.kiln` must be reachable for a uid that is not Kiln's: each directory above it lets others pass. */
export function assertReachable(kilnDir: string): void {
  const closed = firstClosedAncestor(kilnDir);
  if (!closed) return;
  throw new KilnError('ISOLATION_UNAVAILABLE', `servers run as unprivileged users, and they cannot reach ${kilnDir}: ${closed.dir} is mode ${closed.mode.toString(8).padStart(4, '0')}, closed to other users`, {
    hint: `let other users pass through it without listing it (chmod o+x ${closed.dir}), or move the project to a directory they can pass through; .kiln itself stays closed to everyone but Kiln and its servers`,
  });
}

export function prepareServerFiles(kilnDir: string, f: ServerFiles, who: Identity, gateMode: number): void {
  assertReachable(kilnDir);
  const euid = process.geteuid?.() ?? 0;
  const gate: Ownership = { uid: euid, gid: who.gid, mode: gateMode };
  const own = (mode: number): Ownership => ({ uid: who.uid, gid: who.gid, mode });
  // Gates down to the server's own directory, which is its alone.
  const ownedDir = (dir: string): void => {
    const parts = partsUnder(kilnDir, dir);
    ensureDirChain(kilnDir, parts, (i) => (i === parts.length - 1 ? own(0o700) : gate));
  };
  // The app files: shared by the project's servers, read-only (apps/<digest> is 0555, its files 0444).
  ensureDirChain(kilnDir, ['apps'], () => ({ ...gate, mode: 0o750 }));
  ownedDir(f.workDir);
  ownedDir(path.dirname(f.logFile));

  const secrets = ensureDirChain(kilnDir, ['secrets', f.env], () => gate);
  ownEntries(secrets, own(0o400), gate);

  // SQLite files are owned by path (lchown: no link is followed, no descriptor of a database the
  // control plane may have open is closed) and keep their mode: created 0600 (umask 077), and
  // data/<env> itself is 0700. A server may swap entries of its own directory; a mode change
  // through a link would reach the link's target, so none is made.
  const data = ensureDirChain(kilnDir, ['data', f.env], (i) => (i === 0 ? gate : own(0o700)));
  for (const name of fs.readdirSync(data)) ownFileByPath(path.join(data, name), who);
  for (const file of f.stores) {
    if (path.dirname(path.resolve(file)) === data) continue;
    for (const side of SQLITE_SIDE_FILES) ownFileByPath(file + side, who);
  }
}
