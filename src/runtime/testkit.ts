// Test helper: typed server arguments (args.ts) written briefly, as a plan would render them.
import type { ArgPart, ServerArgs } from './args.js';
import type { FlagStyle } from '../spec/types.js';

export const text = (t: string): ArgPart => ({ kind: 'text', text: t });
export const PORT: ArgPart = { kind: 'port' };
export const LOG_FILE: ArgPart = { kind: 'log-file' };
export const secret = (name: string, host: string): ArgPart => ({ kind: 'secret', name, host });
export const store = (name: string, host: string): ArgPart => ({ kind: 'store', name, host });

/** `[name, ...parts]` per flag (a string part is text; `true` alone is a bare flag). */
export function serverArgs(flags: Array<[string, ...Array<ArgPart | string>] | [string, true]>, style: FlagStyle = 'equals', positional: Array<Array<ArgPart | string>> = []): ServerArgs {
  const parts = (ps: Array<ArgPart | string>): ArgPart[] => ps.map((p) => (typeof p === 'string' ? text(p) : p));
  return {
    style,
    flags: flags.map(([name, ...rest]) => ({ name, value: rest[0] === true ? true : parts(rest as Array<ArgPart | string>) })),
    positional: positional.map(parts),
  };
}
