// The project-local store, .kiln/ (ARCHITECTURE.md, "State"): state.db, the OCI layout,
// run/ (the control plane's token, sockets, pid files; private to the user) and logs/.
// `kiln init` creates it; every other build-side command opens it like git opens .git.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { KilnError } from '../errors.js';
import { ensureDir, fsyncDir, tempPathFor } from './atomic.js';
import { OciLayout } from './oci-layout.js';
import { openStateDb, type Database } from './state-db.js';
import { IsolationIdTable } from './isolation-ids.js';
import { secureStoreModes } from './modes.js';

export const KILN_DIR = '.kiln';

export interface Store {
  kilnDir: string;
  db: Database;
  oci: OciLayout;
}

export function kilnDirOf(projectDir: string): string {
  return path.join(path.resolve(projectDir), KILN_DIR);
}

/** Create .kiln/ or complete a partial one. Idempotent; the token is never replaced. */
export function initKilnDir(projectDir: string): { kilnDir: string; created: boolean } {
  const kilnDir = kilnDirOf(projectDir);
  const created = !fs.existsSync(path.join(kilnDir, 'state.db'));
  ensureDir(kilnDir, 0o700);
  // Keep the store out of the project's git: it is local state and build cache.
  const gitignore = path.join(kilnDir, '.gitignore');
  if (!fs.existsSync(gitignore)) fs.writeFileSync(gitignore, '*\n', { mode: 0o600 });
  const db = openStateDb(kilnDir);
  try {
    OciLayout.init(path.join(kilnDir, 'oci'));
    const runDir = path.join(kilnDir, 'run');
    ensureDir(runDir, 0o700);
    createTokenOnce(path.join(runDir, 'token'));
    ensureDir(path.join(kilnDir, 'logs'), 0o700);
    // Also when they existed with looser modes (run/, oci/, state.db, …: store/modes.ts).
    secureStoreModes(kilnDir, serversGroup(db));
  } finally {
    db.close();
  }
  return { kilnDir, created };
}

/**
 * 32 random bytes, hex. Written to a temp file and hard-linked into place: link() fails if the
 * token exists, so two concurrent inits can't replace a token a server already uses.
 */
function createTokenOnce(tokenPath: string): void {
  if (fs.existsSync(tokenPath)) {
    fs.chmodSync(tokenPath, 0o600);
    return;
  }
  const tmp = tempPathFor(tokenPath);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, crypto.randomBytes(32).toString('hex') + '\n');
    fs.fchmodSync(fd, 0o600);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, tokenPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(path.dirname(tokenPath));
}

/** Open the store of a project; NOT_INITIALISED when `kiln init` has not been run there. */
export function openStore(projectDir: string): Store {
  const kilnDir = kilnDirOf(projectDir);
  const missing = [path.join(kilnDir, 'state.db'), path.join(kilnDir, 'oci', 'oci-layout')].find((p) => !fs.existsSync(p));
  if (missing) {
    throw new KilnError('NOT_INITIALISED', `no Kiln store in ${path.resolve(projectDir)} (${path.relative(path.resolve(projectDir), missing)} is missing)`, {
      hint: 'run `kiln init` in the project directory',
    });
  }
  const db = openStateDb(kilnDir);
  secureStoreModes(kilnDir, serversGroup(db));
  return { kilnDir, db, oci: OciLayout.open(path.join(kilnDir, 'oci')) };
}

/**
 * The servers' group once the control plane recorded one (only root switches users,
 * src/isolation/): commands keep .kiln passable for it instead of closing it on running servers.
 */
function serversGroup(db: Database): number | null {
  if (process.geteuid?.() !== 0) return null;
  return new IsolationIdTable(db).get('group') ?? null;
}

export { readToken } from './token.js';
