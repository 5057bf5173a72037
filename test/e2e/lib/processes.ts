// Finding and ending the processes a test project left behind: servers, the proxy and the
// control plane run detached from the test, so killing the children the test spawned is not
// enough. Two sources, both limited to one project directory so nothing else is touched:
// pid files under .kiln/run (what Kiln itself uses to re-adopt its processes), and on Linux a
// scan of /proc for processes whose working directory or command line is inside the project.
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './wait.js';

const HAS_PROC = fs.existsSync('/proc/self/stat');

/** Pids named in `<runDir>/**\/*.pid` (the number) and `**\/*.json` (a top-level "pid"). */
export function pidsFromRunFiles(runDir: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.pid')) addPid(pids, readSafe(p).trim());
      else if (e.isFile() && e.name.endsWith('.json')) {
        try {
          const v: unknown = JSON.parse(readSafe(p));
          if (v && typeof v === 'object' && 'pid' in v) addPid(pids, String((v as { pid: unknown }).pid));
        } catch {
          // A half-written or foreign file: not a pid file.
        }
      }
    }
  };
  walk(runDir);
  return [...pids];
}

function addPid(pids: Set<number>, s: string): void {
  if (/^\d+$/.test(s) && Number(s) > 1) pids.add(Number(s));
}

function readSafe(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Whether `pid` is a live process (a zombie is not: it is already dead, only unreaped). */
export function isAlive(pid: number): boolean {
  if (HAS_PROC) {
    const stat = readSafe(`/proc/${pid}/stat`);
    if (stat === '') return false;
    // Field 3, after "(comm)" which may itself contain spaces and parentheses.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir + path.sep);
}

/** Whether the process runs in, or names a path in, `dir` (Linux; elsewhere: unknown, so true). */
export function belongsTo(pid: number, dir: string): boolean {
  if (!HAS_PROC) return true;
  let cwd = '';
  try {
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // Another user's process, or gone.
  }
  if (cwd && inside(cwd, dir)) return true;
  const args = readSafe(`/proc/${pid}/cmdline`).split('\0');
  return args.some((a) => a.endsWith(dir) || a.includes(dir + path.sep));
}

/** Live processes (other than this one) that run in or name a path in `dir` (Linux only). */
export function processesIn(dir: string): number[] {
  if (!HAS_PROC) return [];
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || pid === process.ppid) continue;
    if (belongsTo(pid, dir) && isAlive(pid)) found.push(pid);
  }
  return found;
}

/** Every live process of the project in `dir`: from its pid files and from /proc. */
export function projectProcesses(dir: string): number[] {
  const fromFiles = pidsFromRunFiles(path.join(dir, '.kiln', 'run')).filter(
    (pid) => pid !== process.pid && isAlive(pid) && belongsTo(pid, dir),
  );
  return [...new Set([...fromFiles, ...processesIn(dir)])];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Ends every process of the project: SIGTERM, up to `graceMs` to exit, then SIGKILL. Repeats
 * while new ones appear (a dying supervisor may have started one), and reports any survivor.
 */
export async function killProjectProcesses(dir: string, graceMs = 3000): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const pids = projectProcesses(dir);
    if (pids.length === 0) return;
    for (const pid of pids) signal(pid, round === 0 ? 'SIGTERM' : 'SIGKILL');
    const deadline = Date.now() + (round === 0 ? graceMs : 1000);
    while (Date.now() < deadline && pids.some(isAlive)) await sleep(25);
    for (const pid of pids) if (isAlive(pid)) signal(pid, 'SIGKILL');
  }
  const left = projectProcesses(dir);
  if (left.length > 0) throw new Error(`processes of ${dir} survived SIGKILL: ${left.join(', ')}`);
}
