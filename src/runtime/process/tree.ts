// A server's whole process tree, for stopping it and for the orphan sweep. A server leads its own
// process group, but that is not enough: a child may ignore SIGTERM and outlive its parent, and a
// `setsid` (or double-forked, daemonised) descendant leaves the group and the session, after which
// its parent chain is gone too (it is re-parented to init). Each server is therefore started with
// the environment variable KILN_SERVER_DIR=<its own working directory>, which every descendant
// inherits through fork and exec and which /proc/<pid>/environ shows as it was at exec, whatever
// the process does to its group, session or parent afterwards. Chosen over:
//   - a ppid walk recorded while the server lives: misses whatever forks and detaches between two
//     scans (a double fork takes microseconds);
//   - a cgroup per server: the strongest fence, but it needs root and a writable hierarchy (v1
//     here, v2 or systemd-delegated elsewhere), and a wrapper to enter it before the first fork.
// The marker works for any user on any Linux. Its limit: a process that execs itself with a new
// environment drops it; such a process is still ended while it stays in the server's process group.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export const SERVER_MARK = 'KILN_SERVER_DIR';

export interface TreeProcess {
  pid: number;
  startTime: string;
}

interface Stat {
  state: string;
  pgrp: number;
  startTime: string;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state), f[2] field 5 (pgrp), f[19] field 22 (start time).
    if (f[0] === undefined || f[2] === undefined || f[19] === undefined) return null;
    return { state: f[0], pgrp: Number(f[2]), startTime: f[19] };
  } catch {
    return null;
  }
}

/** The KILN_SERVER_DIR a process was started with, or null (none, gone, or not ours to read). */
export function serverDirOf(pid: number): string | null {
  let env: string;
  try {
    env = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return null;
  }
  const prefix = `${SERVER_MARK}=`;
  for (const entry of env.split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return null;
}

function ownPidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

/**
 * Live processes (not zombies, in this pid namespace, not this process) that belong to a server:
 * those started with `KILN_SERVER_DIR=<serverDir>`, and the members of process group `pgrp`.
 */
export function treeOf(opts: { serverDir: string | null; pgrp: number | null }): TreeProcess[] {
  const ns = ownPidNamespace();
  const out: TreeProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const st = readStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    const member = (opts.pgrp !== null && st.pgrp === opts.pgrp) || (opts.serverDir !== null && serverDirOf(pid) === opts.serverDir);
    if (!member) continue;
    try {
      if (ns !== null && readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
    } catch {
      continue;
    }
    out.push({ pid, startTime: st.startTime });
  }
  return out;
}

/** Every live marked process whose server directory is directly under `serversDir`, by server name. */
export function markedProcesses(serversDir: string): Map<string, TreeProcess[]> {
  const ns = ownPidNamespace();
  const out = new Map<string, TreeProcess[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const dir = serverDirOf(pid);
    if (dir === null || path.dirname(dir) !== serversDir) continue;
    const st = readStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    try {
      if (ns !== null && readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
    } catch {
      continue;
    }
    const server = path.basename(dir);
    out.set(server, [...(out.get(server) ?? []), { pid, startTime: st.startTime }]);
  }
  return out;
}
