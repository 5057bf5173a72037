// Runs a migration job (migrate-job.ts) on a worker thread, so the caller's event loop stays
// free: the control plane keeps answering DNS and its API through a long backfill, a CPU-bound
// .js entry or a wait for a lock. Progress comes back as events (entry n/m, and every few
// seconds how long the current entry has run); errors come back as the KilnErrors they were.
import { Worker } from 'node:worker_threads';
import { KilnError, type KilnErrorCode } from '../../errors.js';
import { connectTarget, type MigrationJob, type MigrationOutcome, type MigrationProgress } from './migrate-job.js';
import type { SerializedError, WorkerMessage } from './migrate-worker.js';

const WORKER = new URL('./migrate-worker.js', import.meta.url);
const HEARTBEAT_MS = 5000;

export interface OffThreadOptions {
  onProgress?: (p: MigrationProgress) => void;
  /** How often a running entry reports its elapsed time (default 5 s). */
  heartbeatMs?: number;
}

function revive(e: SerializedError): Error {
  if (e.kiln) {
    return new KilnError(e.code as KilnErrorCode, e.message, {
      ...(e.location ? { location: e.location } : {}),
      ...(e.hint ? { hint: e.hint } : {}),
      ...(e.details ? { details: e.details } : {}),
    });
  }
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

export function runOffThread(job: MigrationJob, opts: OffThreadOptions = {}): Promise<MigrationOutcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: job });
    let owner: string | undefined;
    let settled = false;
    let beat: NodeJS.Timeout | undefined;
    const stopBeat = (): void => {
      if (beat) clearInterval(beat);
      beat = undefined;
    };
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      stopBeat();
      fn();
      void worker.terminate();
    };
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'done') return settle(() => resolve(msg.outcome));
      if (msg.type === 'error') return settle(() => reject(revive(msg.error)));
      const p = msg.progress;
      if (p.kind === 'locked') {
        owner = p.owner;
        return;
      }
      if (p.kind === 'start') {
        stopBeat();
        const started = Date.now();
        beat = setInterval(() => opts.onProgress?.({ kind: 'running', n: p.n, m: p.m, position: p.position, name: p.name, elapsedMs: Date.now() - started }), opts.heartbeatMs ?? HEARTBEAT_MS);
        beat.unref();
      } else if (p.kind === 'applied') {
        stopBeat();
      }
      opts.onProgress?.(p);
    });
    let crash: Error | undefined;
    worker.on('error', (e) => (crash = e));
    worker.on('exit', (code) => {
      if (settled) return;
      // The worker died without an answer (an uncaught error or process.exit in a .js entry):
      // its transaction went with it; the lock row it held must not wait out its expiry.
      const died = new KilnError('DATA_FAILED', `${job.what}: the migration stopped before it finished (${crash ? crash.message : `its thread exited with code ${code}`}); the entry it was applying was rolled back`, {
        hint: 'a .js entry must not exit the process or throw outside migrate(); fix it and run again',
      });
      const release = owner ? releaseLock(job, owner) : Promise.resolve();
      void release.finally(() => settle(() => reject(died)));
    });
  });
}

async function releaseLock(job: MigrationJob, owner: string): Promise<void> {
  try {
    const conn = await connectTarget(job.target, 5000);
    try {
      await conn.query('DELETE FROM kiln_lock WHERE id = 1 AND owner = ?', [owner]);
    } finally {
      await conn.close();
    }
  } catch {
    // The lock then frees itself at its expiry.
  }
}

/** One line for a progress event (none for internal ones). */
export function describeProgress(p: MigrationProgress): string | undefined {
  switch (p.kind) {
    case 'waiting':
      return `waiting for the migration lock held by ${p.holder.owner} (expires ${p.holder.expires_at})`;
    case 'busy':
      return 'waiting for another connection\'s lock on the store';
    case 'start':
      return `applying ${p.name} (${p.n}/${p.m})`;
    case 'running':
      return `${p.name} (${p.n}/${p.m}) running for ${Math.round(p.elapsedMs / 1000)} s`;
    case 'applied':
      return `applied ${p.name} (${p.n}/${p.m}) in ${p.durationMs} ms`;
    case 'locked':
      return undefined;
  }
}
