// mmdebstrap as data: the command that builds a Debian root filesystem, returned as an argument
// array (never a shell string) with its environment, and the reading of its errors. The
// executor is exec.ts; tests assert on the array.
import { KilnError } from '../../errors.js';
import type { DebianOsSpec } from '../../spec/types.js';
import { sourceLines, type AptSource } from './sources.js';

export interface Command {
  argv: string[];
  env: Record<string, string>;
}

/**
 * The fixed SOURCE_DATE_EPOCH of Debian builds when the user sets none: mmdebstrap clamps
 * every mtime to it and derives dates in /etc/shadow from it, so a fixed value makes two
 * builds from the same packages bit-for-bit identical (2024-01-01T00:00:00Z; 0 would mark
 * every account's password as "must change").
 */
export const DEFAULT_OS_EPOCH = 1704067200;

export function osEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['SOURCE_DATE_EPOCH'];
  return v && /^\d+$/.test(v) ? Number(v) : DEFAULT_OS_EPOCH;
}

export function mmdebstrapCommand(spec: DebianOsSpec, sources: AptSource[], outTar: string, epoch: number): Command {
  const argv = [
    'mmdebstrap',
    '--variant=minbase',
    // Kiln runs as root for OS builds; --mode=root keeps owners and device nodes exact.
    '--mode=root',
    '--format=tar',
    `--components=${spec.components.join(',')}`,
    ...(spec.include.length ? [`--include=${spec.include.join(',')}`] : []),
    spec.suite,
    outTar,
    ...sourceLines(sources),
  ];
  return { argv, env: { SOURCE_DATE_EPOCH: String(epoch) } };
}

/** A failed mmdebstrap as a KilnError: an unknown package is named, anything else shows the log. */
export function mmdebstrapError(where: string, spec: DebianOsSpec, stderr: string, exit: number | null): KilnError {
  const missing = new Set<string>();
  for (const m of stderr.matchAll(/Unable to locate package (\S+)/g)) missing.add(m[1] as string);
  for (const m of stderr.matchAll(/Package '([^']+)' has no installation candidate/g)) missing.add(m[1] as string);
  for (const m of stderr.matchAll(/(?:^|\s)(\S+) : Depends: .*but it is not installable/gm)) missing.add(m[1] as string);
  const tail = stderr.trim().split('\n').slice(-12);
  if (missing.size) {
    const names = [...missing].filter((n) => spec.include.includes(n));
    const list = (names.length ? names : [...missing]).join(', ');
    return new KilnError('BUILD_FAILED', `${where}.include: package ${list} not found in suite ${spec.suite} (${spec.components.join(', ')})`, {
      hint: 'check the package name (apt-cache policy <name>) and the suite and components',
      details: tail,
    });
  }
  return new KilnError('BUILD_FAILED', `${where}: mmdebstrap failed (exit ${exit ?? 'by signal'})`, {
    hint: 'see the end of its output below',
    details: tail,
  });
}
