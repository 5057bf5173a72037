// Machine-wide claims on the uid/gid numbers Kiln gives servers and builds. A number is a
// machine-wide name: two projects whose dev servers shared a uid could read each other's secrets,
// so each number is claimed by one (store, subject) in a root-only directory, one file per number,
// created exclusively (link(2) fails if it exists). state.db records a store's own numbers; this
// registry only keeps stores apart. Claims of stores that no longer exist are swept.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, tempPathFor } from '../store/atomic.js';

/** Who holds a number: a store (its .kiln directory) and what in it ("group", "build", "env:dev"). */
export interface Claim {
  store: string;
  subject: string;
}

export const DEFAULT_REGISTRY_DIR = '/var/lib/kiln/ids';

/** Claims younger than this are never swept: a store may be in the middle of being created. */
const SWEEP_MIN_AGE_MS = 10 * 60_000;

const same = (a: Claim, b: Claim): boolean => a.store === b.store && a.subject === b.subject;

export class IdRegistry {
  constructor(readonly dir: string = DEFAULT_REGISTRY_DIR) {}

  private file(id: number): string {
    return path.join(this.dir, String(id));
  }

  private ensureDir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
  }

  /** The claim on `id`, or null if it is free. A file that cannot be parsed is someone's claim. */
  read(id: number): Claim | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const c = JSON.parse(text) as Partial<Claim>;
      if (typeof c.store === 'string' && typeof c.subject === 'string') return { store: c.store, subject: c.subject };
    } catch {
      /* below */
    }
    return { store: '?', subject: '?' };
  }

  /** Claims `id` for `owner`: true if it is now (or already was) the owner's, false if another's. */
  claim(id: number, owner: Claim): boolean {
    this.ensureDir();
    const file = this.file(id);
    const tmp = tempPathFor(file);
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, JSON.stringify({ ...owner, at: new Date().toISOString() }) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
      fsyncDir(this.dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = this.read(id);
      return held !== null && same(held, owner);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Gives `id` back, if `owner` holds it. */
  release(id: number, owner: Claim): void {
    const held = this.read(id);
    if (held && same(held, owner)) fs.rmSync(this.file(id), { force: true });
  }

  /**
   * Removes claims whose store is gone (no state.db) and whose number no live process runs as:
   * a server of a deleted project that still runs keeps its number out of reuse.
   */
  sweep(inUse: ReadonlySet<number>, now = Date.now()): number {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const id = Number(name);
      if (inUse.has(id)) continue;
      const file = this.file(id);
      try {
        if (now - fs.lstatSync(file).mtimeMs < SWEEP_MIN_AGE_MS) continue;
      } catch {
        continue;
      }
      const c = this.read(id);
      if (!c || c.store === '?' || fs.existsSync(path.join(c.store, 'state.db'))) continue;
      fs.rmSync(file, { force: true });
      removed++;
    }
    return removed;
  }
}
