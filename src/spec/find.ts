// Where a project's kiln.yaml is: apart from load.ts, so a command that only needs the project's
// directory (every command's start-up sweep, cli/sweep.ts) does not load the YAML parser.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';

export const SPEC_FILE = 'kiln.yaml';

/** The kiln.yaml in `startDir` or the nearest parent directory holding one. */
export function findSpecFile(startDir: string): string {
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, SPEC_FILE);
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new KilnError('SPEC_NOT_FOUND', `no ${SPEC_FILE} in ${path.resolve(startDir)} or any parent directory`, {
    hint: `run kiln in a project directory, or \`kiln init\` to write a starter ${SPEC_FILE} here (docs/kiln-yaml.md)`,
  });
}
