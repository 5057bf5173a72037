// Secret rotation (issue 11, defect 13). `kiln secret set` replaces `.kiln/secrets/<env>/<name>`;
// a server must not see its value change under it, and a new value must roll out as a new group.
// So servers are given a version file, `<name>@<digest>`, holding the value as it was when their
// group was planned, and never changed: a replacement server reads what its siblings read, and a
// new value is a new path, so the rendered flags differ and the cluster counts as changed.
// The digest is keyed (HMAC-SHA256 with a random per-environment key, `.digest-key`, 0600): it
// shows up in flags, `ps` and state.db, and a plain hash of a short secret could be reversed by
// trying values. Versions no live group names are removed after each deploy (pruneSecretVersions).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempPathFor, writeFileAtomic } from '../store/atomic.js';

const KEY_FILE = '.digest-key';
const VERSION = /^([A-Za-z0-9_][A-Za-z0-9_-]{0,127})@([0-9a-f]{32})$/;

/** The environment's digest key, made once (exclusively: two writers agree on one key). */
function digestKey(dir: string): Buffer {
  const file = path.join(dir, KEY_FILE);
  try {
    const k = fs.readFileSync(file);
    if (k.length === 32) return k;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const tmp = tempPathFor(file);
  writeFileAtomic(tmp, crypto.randomBytes(32), 0o600);
  try {
    fs.linkSync(tmp, file); // fails if another writer was first: then its key is the key
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return fs.readFileSync(file);
}

/** `<name>@<first 32 hex of HMAC-SHA256(key, value)>`. */
export function versionName(dir: string, name: string, value: Buffer): string {
  return `${name}@${crypto.createHmac('sha256', digestKey(dir)).update(value).digest('hex').slice(0, 32)}`;
}

/**
 * The version file of the value in `<dir>/<name>` now, written atomically if it is not there yet:
 * 0600, or 0400 for `owner` (the environment's server uid, docs/isolation.md). Content-addressed,
 * so writing it again is harmless.
 */
export function currentVersion(dir: string, name: string, owner?: { uid: number; gid: number }): string {
  const value = fs.readFileSync(path.join(dir, name));
  const file = path.join(dir, versionName(dir, name, value));
  if (!fs.existsSync(file)) writeFileAtomic(file, value, owner ? 0o400 : 0o600, owner);
  return file;
}

/** The secret's name in a path that may be a version file (`web_token@3f…` -> `web_token`). */
export function secretNameOf(file: string): string {
  const base = path.basename(file);
  return VERSION.exec(base)?.[1] ?? base;
}

/**
 * Removes the version files of `dir` that are not `inUse`, except each secret's current value's
 * (a plan may name it any moment). Returns the names removed.
 */
export function pruneSecretVersions(dir: string, inUse: (file: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const entry of fs.readdirSync(dir)) {
    const m = VERSION.exec(entry);
    if (!m || inUse(path.join(dir, entry))) continue;
    let current: string | null = null;
    try {
      current = versionName(dir, m[1]!, fs.readFileSync(path.join(dir, m[1]!)));
    } catch {
      /* the secret itself is gone: none of its versions is current */
    }
    if (entry === current) continue;
    fs.rmSync(path.join(dir, entry), { force: true });
    removed.push(entry);
  }
  return removed;
}
