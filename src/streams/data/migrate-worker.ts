// The worker thread a migration runs on (off-thread.ts starts it): the job arrives as
// workerData, progress and the outcome go back as messages. A long SQL statement, a CPU-bound
// .js entry or a wait for a lock then blocks this thread only, never the control plane's DNS,
// API and reconciler.
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { KilnError } from '../../errors.js';
import { runJob, type MigrationJob } from './migrate-job.js';

export type WorkerMessage =
  | { type: 'progress'; progress: import('./migrate-job.js').MigrationProgress }
  | { type: 'done'; outcome: import('./migrate-job.js').MigrationOutcome }
  | { type: 'error'; error: SerializedError };

export interface SerializedError {
  kiln: boolean;
  code?: string;
  message: string;
  location?: KilnError['location'];
  hint?: string;
  details?: string[];
  stack?: string;
}

function serialize(e: unknown): SerializedError {
  if (e instanceof KilnError) {
    return { kiln: true, code: e.code, message: e.message, ...(e.location ? { location: e.location } : {}), ...(e.hint ? { hint: e.hint } : {}), details: e.details };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { kiln: false, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
}

const port = parentPort;
if (port) {
  // On Linux the nice value is per thread: this lowers the migration's thread only, so on a
  // busy machine a CPU-bound entry yields the CPU to the control plane's DNS and API.
  try {
    os.setPriority(10);
  } catch {
    // Not allowed here: the migration then runs at the control plane's priority.
  }
  const post = (m: WorkerMessage): void => port.postMessage(m);
  runJob(workerData as MigrationJob, (progress) => post({ type: 'progress', progress })).then(
    (outcome) => post({ type: 'done', outcome }),
    (e: unknown) => post({ type: 'error', error: serialize(e) }),
  );
}
