// The runtime-API commands that take HAProxy from the servers it has to the servers the route
// table asks for: a pure function of both, so a test asserts the exact list and one place
// (runtime-api.ts) sends it. The order makes a switch safe within its one batch: new servers
// are added first (HAProxy adds them in maintenance), then the servers that must take traffic
// are made ready, and only then are the others drained, so at no moment has a cluster no server.
import type { HaproxyServer, ServerState } from './layout.js';
import { serverArgs } from './layout.js';

/** One server as `show servers state` reports it. */
export interface RunningServer {
  backend: string;
  name: string;
  addr: string;
  port: number;
  /** srv_admin_state: a bit field (SRV_ADMF_* in HAProxy's server-t.h). */
  adminState: number;
}

const FMAINT = 0x01;
const IMAINT = 0x02;
const CMAINT = 0x04;
const FDRAIN = 0x08;
const RMAINT = 0x20;

/** The state `set server ... state` would name for these admin bits. */
export function stateOfAdmin(bits: number): ServerState {
  if (bits & (FMAINT | IMAINT | CMAINT | RMAINT)) return 'maint';
  if (bits & FDRAIN) return 'drain';
  return 'ready';
}

const key = (backend: string, name: string): string => `${backend}/${name}`;

/**
 * The batch that makes `running` into `wanted`. A server no longer wanted is put in
 * maintenance and deleted; HAProxy refuses to delete one that still has connections (or one
 * from the config file), which then stays in maintenance, taking nothing, until a later batch
 * or the next reload drops it. Backends are the same on both sides (a new one needs a reload).
 */
export function switchCommands(
  running: readonly RunningServer[],
  wanted: readonly HaproxyServer[],
  maps: ReadonlyArray<{ file: string; have: ReadonlyArray<readonly [string, string]>; want: ReadonlyArray<readonly [string, string]> }> = [],
): string[] {
  const have = new Map(running.map((r) => [key(r.backend, r.name), r]));
  const want = new Set(wanted.map((w) => key(w.backend, w.name)));
  const add: string[] = [];
  const ready: string[] = [];
  const readyBackup: string[] = [];
  const rest: string[] = [];
  for (const w of wanted) {
    const id = key(w.backend, w.name);
    const r = have.get(id);
    if (!r) {
      add.push(`add server ${id} ${serverArgs(w).join(' ')}`, `enable health ${id}`);
    } else if (r.addr !== w.host || r.port !== w.port) {
      add.push(`set server ${id} addr ${w.host} port ${w.port}`);
    }
    const now = r ? stateOfAdmin(r.adminState) : 'maint';
    if (now === w.state) continue;
    (w.state !== 'ready' ? rest : w.backup ? readyBackup : ready).push(`set server ${id} state ${w.state}`);
  }
  const remove: string[] = [];
  for (const r of running) {
    const id = key(r.backend, r.name);
    if (want.has(id)) continue;
    if (stateOfAdmin(r.adminState) !== 'maint') remove.push(`set server ${id} state maint`);
    remove.push(`del server ${id}`);
  }
  // The maps (preview, pause) after the servers they name are ready, before any is removed.
  const entries: string[] = [];
  for (const map of maps) {
    const had = new Map(map.have);
    const wants = new Map(map.want);
    for (const [k, v] of map.want) {
      if (!had.has(k)) entries.push(`add map ${map.file} ${k} ${v}`);
      else if (had.get(k) !== v) entries.push(`set map ${map.file} ${k} ${v}`);
    }
    for (const [k] of map.have) if (!wants.has(k)) entries.push(`del map ${map.file} ${k}`);
  }
  return [...add, ...ready, ...readyBackup, ...entries, ...rest, ...remove];
}
