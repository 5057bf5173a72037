// .kiln/run/server.pid: one control plane (or offline `kiln down`) per project at a time.
import { existsSync, readFileSync } from 'node:fs';
import { KilnError } from '../errors.js';
import { isProcessAlive, processStartTime } from '../runtime/process/proc.js';
import { writeFileAtomic } from '../store/atomic.js';

/** One control plane per project: a live one's pid file makes a second refuse to start. */
export function claimPidFile(file: string): void {
  if (existsSync(file)) {
    try {
      const p = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; startTime: string };
      if (p.pid !== process.pid && isProcessAlive(p.pid, p.startTime)) {
        throw new KilnError('SERVER_RUNNING', `a control plane for this project is already running (pid ${p.pid})`, {
          hint: `stop it first: kill ${p.pid}`,
        });
      }
    } catch (e) {
      if (e instanceof KilnError) throw e;
    }
  }
  writeFileAtomic(file, JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) }), 0o600);
}

