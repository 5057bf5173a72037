// A server's flags and positional arguments in the one form every runtime reads (ARCHITECTURE.md,
// "Flags"). The deploy plan renders kiln.yaml's flags once, typed (deploy/flags.ts): literal text,
// the two per-server values (port, log file), and the files a server is given (a secret's file, a
// SQLite store's file) as runtime-neutral references. Each runtime says what a reference is where
// its servers run — the process runtime gives host paths, podman bind-mounts the files and names
// their paths inside the container, Kubernetes mounts Secrets as volumes — and `argv` writes the
// result in the service's flag style. Nothing downstream parses `--name=value` strings back.

import type { FlagStyle } from '../spec/types.js';

export type ArgPart =
  | { kind: 'text'; text: string }
  /** The server's own port, picked when it starts. */
  | { kind: 'port' }
  /** The server's log file; where it is depends on the runtime and the server. */
  | { kind: 'log-file' }
  /** A secret's file (on the host: the version file of the planned value): read-only, alone. */
  | { kind: 'secret'; name: string; host: string }
  /** A SQLite store's database file: its directory is writable (the journal lives beside it). */
  | { kind: 'store'; name: string; host: string };

/** A value is its parts concatenated: `file:${secret.x}` is a text part and a secret part. */
export type ArgValue = ArgPart[];

export interface ServerFlag {
  name: string;
  /** `true`: a bare flag (`--verbose`). A flag set to false is not rendered at all. */
  value: ArgValue | true;
}

export interface ServerArgs {
  style: FlagStyle;
  /** Sorted by name, so two groups of one release compare equal. */
  flags: ServerFlag[];
  /** Positional arguments, written after the flags. */
  positional: ArgValue[];
}

/** A file a server is given: what a runtime must make reachable. */
export type FileRef = Extract<ArgPart, { kind: 'secret' | 'store' }>;

/** What a runtime makes of the parts that are not literal text. */
export type PartResolver = (part: Exclude<ArgPart, { kind: 'text' }>) => string;

export const NO_ARGS: ServerArgs = { style: 'equals', flags: [], positional: [] };

function value(v: ArgValue, resolve: PartResolver): string {
  return v.map((p) => (p.kind === 'text' ? p.text : resolve(p))).join('');
}

/**
 * The argument vector: flags in order, then positional arguments. `space` and `single-dash` give
 * a flag and its value as two arguments, so a value is never split or quoted. `positional` maps
 * each rendered positional argument (the process runtime finds the app's files with it).
 */
export function argv(args: ServerArgs, resolve: PartResolver, positional: (arg: string) => string = (a) => a): string[] {
  const dash = args.style === 'single-dash' ? '-' : '--';
  const out: string[] = [];
  for (const f of args.flags) {
    if (f.value === true) out.push(`${dash}${f.name}`);
    else if (args.style === 'equals') out.push(`${dash}${f.name}=${value(f.value, resolve)}`);
    else out.push(`${dash}${f.name}`, value(f.value, resolve));
  }
  for (const p of args.positional) out.push(positional(value(p, resolve)));
  return out;
}

/** The files the arguments name, each once (first use first). */
export function filesOf(args: ServerArgs): FileRef[] {
  const seen = new Set<string>();
  const out: FileRef[] = [];
  const values = [...args.flags.flatMap((f) => (f.value === true ? [] : [f.value])), ...args.positional];
  for (const part of values.flat()) {
    if (part.kind !== 'secret' && part.kind !== 'store') continue;
    const key = `${part.kind}\0${part.name}\0${part.host}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(part);
  }
  return out;
}

/** Host-side meaning (the process runtime, and plans): host paths, the server's port and log file. */
export function hostResolver(server: { port?: number; logFile: string; planned?: boolean }): PartResolver {
  return (p) => {
    switch (p.kind) {
      case 'port':
        return portText(server);
      case 'log-file':
        return server.logFile;
      case 'secret':
      case 'store':
        return p.host;
    }
  };
}

/** The server's port as its flags carry it; `${port}` in a plan, where no port is picked yet. */
export function portText(server: { port?: number; planned?: boolean }): string {
  return server.port !== undefined ? String(server.port) : server.planned ? '${port}' : '';
}

/** For plans and `kiln flags`: host paths, with the per-server values shown as `${port}` and `${log.file}`. */
export const planResolver: PartResolver = (p) => (p.kind === 'port' ? '${port}' : p.kind === 'log-file' ? '${log.file}' : p.host);
