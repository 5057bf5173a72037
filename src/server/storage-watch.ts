// Watches the filesystem holding .kiln while the control plane runs. A full disk or a read-only
// .kiln makes writes to state.db, logs.db and the servers' log files fail: the control plane
// keeps running (every loop survives a failed write), shows the problem in `kiln status`, records
// an event as soon as one can be written, and says when space is back.
import fs from 'node:fs';
import { storageError } from '../store/storage-error.js';

/** Less free space than this counts as full: SQLite and the log store need a little room to commit. */
export const MIN_FREE_BYTES = 1 << 20;

export interface StorageView {
  ok: boolean;
  message: string | null;
  since: string | null;
}

export class StorageWatch {
  private problem: { message: string; since: string } | null = null;
  /** The start of the problem, until an event about it could be written. */
  private unreported: string | null = null;

  constructor(
    private readonly kilnDir: string,
    private readonly event: (kind: string, message: string) => void,
    private readonly log: (m: string) => void,
  ) {}

  /** Checks free space and writability now; true when the store can be written. */
  check(): boolean {
    let message: string | null = null;
    try {
      const st = fs.statfsSync(this.kilnDir);
      const free = st.bavail * st.bsize;
      if (free < MIN_FREE_BYTES) {
        message = `no space left on the filesystem holding ${this.kilnDir} (${free} bytes free): free space on it; servers may fail to write their logs meanwhile`;
      } else fs.accessSync(this.kilnDir, fs.constants.W_OK);
    } catch (e) {
      message = storageError(e, this.kilnDir)?.message ?? `cannot check ${this.kilnDir}: ${(e as Error).message}`;
    }
    const now = new Date().toISOString();
    if (message && !this.problem) {
      this.problem = { message, since: now };
      this.unreported = message;
      this.log(`storage: ${message}`);
    } else if (!message && this.problem) {
      const was = this.problem;
      this.problem = null;
      this.record('storage.recovered', `${this.kilnDir} can be written again (problem since ${was.since}: ${was.message})`);
    }
    if (this.unreported && this.problem) this.record('storage.problem', this.unreported, true);
    return this.problem === null;
  }

  view(): StorageView {
    return { ok: this.problem === null, message: this.problem?.message ?? null, since: this.problem?.since ?? null };
  }

  /** An event when it can be written (on a full disk it often cannot): never throws. */
  private record(kind: string, message: string, pending = false): void {
    try {
      this.event(kind, message);
      if (pending) this.unreported = null;
    } catch (e) {
      if (!pending) this.log(`storage: could not record ${kind}: ${(e as Error).message}`);
    }
  }
}
