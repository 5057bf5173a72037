// The pid file a data plane (the kiln proxy, HAProxy's master) is recorded in:
// `{pid, startTime, listen}`, so a reused pid is never taken for the process that wrote it. Read
// by the supervisor that started it and by the next control plane, which adopts it.
import { readFileSync } from 'node:fs';
import { isProcessAlive } from './proc.js';

/** What a data plane records of the process it started: enough to tell it from a reused pid. */
export interface DataPlanePidFile {
  pid: number;
  startTime: string;
  /** The listen address (and metrics address) it was started with, to warn when kiln.yaml changed. */
  listen: string;
}

/** The pid file's content, or null when there is none (or it is unreadable: nothing is running). */
export function readDataPlanePid(file: string): DataPlanePidFile | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DataPlanePidFile;
  } catch {
    return null;
  }
}

/** Whether the process the pid file names is alive and is the one that wrote it. */
export function dataPlaneAlive(p: DataPlanePidFile | null): p is DataPlanePidFile {
  return !!p && isProcessAlive(p.pid, p.startTime);
}
