// Server processes of a project found from /proc, for recovery: a control plane killed between
// spawning a server and recording its pid leaves a process no row names. Each server's command
// line carries its --log-file, .kiln/logs/<env>/<cluster>/<server>/<server>.log (its own
// directory, docs/logs.md; servers started before that layout: .kiln/logs/<env>/<cluster>/<server>.log),
// which names the server.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { processStartTime } from './proc.js';

export interface ServerProcess {
  pid: number;
  startTime: string;
  server: string;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Live process-runtime servers whose log file is under `kilnDir`/logs (session leaders only). */
export function serverProcesses(kilnDir: string): ServerProcess[] {
  const re = new RegExp(`(?:^|\\0|=)${escape(path.join(kilnDir, 'logs'))}/[^/\\0]+/[^/\\0]+/(?:([a-z0-9-]+)/\\1|([a-z0-9-]+))\\.log(?:\\0|$)`);
  // Processes in another pid namespace are podman's containers (their app may see the same log
  // path through a bind mount): the podman runtime accounts for those, not this scan.
  const ownNs = readlinkSync('/proc/self/ns/pid');
  const out: ServerProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const m = re.exec(readFileSync(`/proc/${name}/cmdline`, 'latin1'));
      if (!m) continue;
      // Only the server itself (it leads its own session), not helpers it forked.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X' || Number(fields[3]) !== pid) continue;
      if (readlinkSync(`/proc/${name}/ns/pid`) !== ownNs) continue;
      const startTime = processStartTime(pid);
      if (startTime) out.push({ pid, startTime, server: (m[1] ?? m[2])! });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
