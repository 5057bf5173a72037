// The route table on disk: written atomically before it is applied, read back at start, so a
// killed and restarted proxy serves exactly the routes it last acknowledged.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EMPTY_ROUTE_TABLE, type RouteTable } from './routes.js';
import { validateRouteTable } from './validate.js';

/** temp file in the same directory + fsync + rename + fsync of the directory: all or nothing. */
export async function saveRouteTable(file: string, table: RouteTable): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(table, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export type LoadResult = { table: RouteTable; problem: string | null };

/** The saved table; a missing file is an empty table, a corrupt one is reported, never thrown. */
export async function loadRouteTable(file: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { table: EMPTY_ROUTE_TABLE, problem: null };
    return { table: EMPTY_ROUTE_TABLE, problem: `cannot read ${file}: ${(e as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { table: EMPTY_ROUTE_TABLE, problem: `${file} is not valid JSON (${(e as Error).message})` };
  }
  const v = validateRouteTable(parsed);
  if (!v.ok) return { table: EMPTY_ROUTE_TABLE, problem: `${file} is not a valid route table: ${v.errors.join('; ')}` };
  return { table: v.table, problem: null };
}
