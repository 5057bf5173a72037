// Process identity from /proc: a pid alone can be reused by an unrelated process after ours
// died, so a server is identified by (pid, start time) and a zombie counts as dead.
import { readFileSync } from 'node:fs';

interface ProcStat {
  state: string;
  startTime: string;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); start time is field 22 -> index 19.
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return null;
  return { state, startTime };
}

export function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

export function isProcessAlive(pid: number, startTime: string): boolean {
  const st = readStat(pid);
  if (!st) return false;
  if (st.state === 'Z' || st.state === 'X') return false;
  return st.startTime === startTime;
}
