// Finding the project (kiln.yaml) and its .kiln/ directory from where a command runs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { findSpecFile } from '../spec/find.js';

export function findKilnDir(cwd: string): string {
  const dir = path.dirname(findSpecFile(cwd));
  const kiln = path.join(dir, '.kiln');
  if (!existsSync(kiln)) throw new KilnError('NOT_INITIALISED', `${dir} has no .kiln/ directory`, { hint: 'run `kiln init` first' });
  return kiln;
}
