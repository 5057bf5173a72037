// The control plane's API token (.kiln/run/token, mode 0600), read by every client. Apart from
// init.ts so a client (kiln status) does not load SQLite to read one file.
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';

/** The control plane's API token from .kiln/run/token. */
export function readToken(kilnDir: string): string {
  const file = path.join(kilnDir, 'run', 'token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new KilnError('NOT_INITIALISED', `${file} is missing`, { hint: 'run `kiln init` to create it' });
  }
}
