// Test helpers: a throwaway project directory holding a kiln.yaml and its app directories.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError, KilnErrors } from '../errors.js';
import { loadSpec } from './load.js';
import type { ProjectSpec } from './types.js';

/** Runs `fn` with a temp project (kiln.yaml = `yaml`, plus `dirs`), removed afterwards. */
export function withProject<T>(yaml: string, fn: (file: string, dir: string) => T, dirs = ['apps/api', 'apps/web']): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-spec-'));
  try {
    for (const d of dirs) mkdirSync(path.join(dir, d), { recursive: true });
    const file = path.join(dir, 'kiln.yaml');
    writeFileSync(file, yaml);
    return fn(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function load(yaml: string): ProjectSpec {
  return withProject(yaml, (file) => loadSpec(file));
}

export interface Reported {
  line: number | undefined;
  column: number | undefined;
  message: string;
  hint: string | undefined;
  file: string | undefined;
}

/** Every problem loading `yaml` reports (fails if it loads). */
export function problemsOf(yaml: string, dirs?: string[]): Reported[] {
  return withProject(
    yaml,
    (file) => {
      try {
        loadSpec(file);
      } catch (e) {
        if (!(e instanceof KilnErrors)) throw e;
        return e.errors.map((x: KilnError) => {
          if (x.code !== 'SPEC_INVALID') throw new Error(`unexpected code ${x.code}`);
          if (x.location?.file !== file) throw new Error(`problem placed in ${x.location?.file}, not ${file}`);
          return { line: x.location.line, column: x.location.column, message: x.message, hint: x.hint, file: x.location.file };
        });
      }
      throw new Error('expected the spec to be rejected');
    },
    dirs,
  );
}

/** The one problem whose message matches `pattern` (fails if none or several). */
export function only(problems: Reported[], pattern: RegExp): Reported {
  const found = problems.filter((p) => pattern.test(p.message));
  if (found.length !== 1) {
    throw new Error(`expected one problem matching ${pattern}, got ${found.length}:\n${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n')}`);
  }
  return found[0] as Reported;
}

/** Lines joined with "\n", so a test's line numbers can be read off its array. */
export const yaml = (...lines: string[]): string => lines.join('\n') + '\n';
