// HAProxy's runtime API over its unix sockets: the worker's stats socket (level admin) for
// server states and counters, the master socket for reloads. A batch is sent on one connection
// in interactive mode ("prompt"), so its commands run in order, back to back, and each answer is
// read apart (every answer ends at the next "\n> " prompt). Parsers of the answers Kiln reads
// are here too: `show servers state`, `show stat` (CSV), `show info`, `show proc`.
import * as net from 'node:net';
import type { RunningServer } from './commands.js';

export class RuntimeApiError extends Error {}

/** Sends `commands` on one connection; resolves with one answer per command (its text, trimmed). */
export function runtimeBatch(socketPath: string, commands: readonly string[], timeoutMs = 5000): Promise<string[]> {
  for (const c of commands) if (/[\n;]/.test(c)) throw new Error(`a runtime-API command holds a separator: ${JSON.stringify(c)}`);
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new RuntimeApiError(`HAProxy's runtime API at ${socketPath} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.end(['prompt', ...commands, 'quit', ''].join('\n')));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(new RuntimeApiError(`HAProxy's runtime API at ${socketPath}: ${e.message}`));
    });
    s.on('close', () => {
      clearTimeout(timer);
      // "\n> " opens the session (the prompt command's answer), then follows every answer.
      const parts = Buffer.concat(chunks).toString('utf8').split('\n> ').slice(1, commands.length + 1);
      if (parts.length < commands.length) return reject(new RuntimeApiError(`HAProxy's runtime API closed after ${parts.length} of ${commands.length} answers`));
      resolve(parts.map((p) => p.trim()));
    });
  });
}

/** One command, one answer. The master socket answers `reload` by closing: that is an empty answer. */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new RuntimeApiError(`HAProxy's socket ${socketPath} did not answer "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.end(command + '\n'));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(new RuntimeApiError(`HAProxy's socket ${socketPath}: ${e.message}`));
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** What the commands of commands.ts answer when they worked; any other text is HAProxy saying why not. */
const SUCCESS = new Set(['', 'New server registered.', 'Server deleted.']);

export function isFailure(answer: string): boolean {
  // `set server ... addr ... port ...` says what it changed.
  return !SUCCESS.has(answer) && !/^(IP changed from|no need to change the addr)/.test(answer);
}

/** `show servers state` (format 1): one row per server of every backend. */
export function parseServersState(text: string): RunningServer[] {
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new RuntimeApiError(`unexpected answer to "show servers state": ${text.slice(0, 200)}`);
  const cols = header.slice(2).trim().split(/\s+/);
  const at = (name: string): number => {
    const i = cols.indexOf(name);
    if (i === -1) throw new RuntimeApiError(`"show servers state" has no column ${name}`);
    return i;
  };
  const [be, srv, addr, admin, port] = [at('be_name'), at('srv_name'), at('srv_addr'), at('srv_admin_state'), at('srv_port')];
  return lines
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/))
    // The first line is the format's version ("1"), alone.
    .filter((f) => f.length >= cols.length)
    .map((f) => ({ backend: f[be]!, name: f[srv]!, addr: f[addr]!, port: Number(f[port]), adminState: Number(f[admin]) }));
}

export type StatRow = Record<string, string>;

/** `show stat`: CSV whose first line names the columns ("# pxname,svname,..."). */
export function parseStat(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const head = lines[0];
  if (!head?.startsWith('# ')) throw new RuntimeApiError(`unexpected answer to "show stat": ${text.slice(0, 200)}`);
  const cols = head.slice(2).split(',');
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return Object.fromEntries(cols.map((c, i) => [c, f[i] ?? '']));
  });
}

/** `show map <file>`: "0x<ref> key value" lines. */
export function parseMap(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3 && f[0]!.startsWith('0x'))
    .map((f) => [f[1]!, f[2]!]);
}

/** `show info`: "Name: value" lines. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

/** The master's `show proc`: the pids of its current workers and of old ones still finishing. */
export function parseProc(text: string): { master: number | null; workers: number[]; oldWorkers: number[] } {
  let section = 'master';
  let master: number | null = null;
  const workers: number[] = [];
  const oldWorkers: number[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('# workers')) section = 'workers';
    else if (l.startsWith('# old workers')) section = 'old';
    else if (l.startsWith('# programs')) section = 'programs';
    else if (/^\d+/.test(l)) {
      const pid = Number(l.split(/\s+/)[0]);
      if (section === 'master') master = pid;
      else if (section === 'workers') workers.push(pid);
      else if (section === 'old') oldWorkers.push(pid);
    }
  }
  return { master, workers, oldWorkers };
}
