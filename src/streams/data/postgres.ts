// The PostgreSQL engine. The URL (with its password) is read from a secret file by the caller
// and passed here as a value; it is never logged, put on a command line or stored. Tools such
// as pg_dump get the host, port, user and database as PG* environment variables and the
// password through a 0600 PGPASSFILE that is removed afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// Types only here: the driver is loaded when a connection is opened, so no command of a
// SQLite-only project ever loads it.
import type pg from 'pg';
import { KilnError } from '../../errors.js';
import { toNumberedParams, type Row, type StoreConnection } from './engine.js';
import { processAlive } from './lock.js';

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** The parts of a postgres:// URL; `where` names the secret in errors (never the URL itself). */
export function parsePgUrl(url: string, where: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new KilnError('USAGE', `${where} is not a URL`, { hint: 'write postgres://user:password@host:port/database into the secret file' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new KilnError('USAGE', `${where} is a ${u.protocol} URL, not postgres://`, { hint: 'write postgres://user:password@host:port/database into the secret file' });
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new KilnError('USAGE', `${where} names no database`, { hint: 'end the URL with /<database>' });
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    password: decodeURIComponent(u.password),
    database,
  };
}

/** Database names Kiln creates or renames: plain identifiers, so quoting is never ambiguous. */
export function checkDbName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new KilnError('USAGE', `database name "${name}" must be lower-case letters, digits and "_" (at most 63), starting with a letter or "_"`);
  }
  return name;
}

export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

export async function openPostgres(t: PgTarget, database = t.database): Promise<StoreConnection> {
  const { default: driver } = await import('pg');
  const client = new driver.Client({ host: t.host, port: t.port, user: t.user, password: t.password, database });
  // A connection error would otherwise be an unhandled 'error' event that kills the process.
  client.on('error', () => undefined);
  await client.connect();
  return pgConnection(client);
}

export function pgConnection(client: pg.Client): StoreConnection {
  return {
    engine: 'postgres',
    async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
      const r = params.length ? await client.query(toNumberedParams(sql), params) : await client.query(sql);
      // Several statements in one call give several results; the last one's rows count.
      const last = Array.isArray(r) ? (r.at(-1) as pg.QueryResult | undefined) : r;
      return (last?.rows ?? []) as T[];
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      await client.query('BEGIN');
      try {
        const r = await fn();
        await client.query('COMMIT');
        return r;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    },
    async close(): Promise<void> {
      await client.end().catch(() => undefined);
    },
  };
}

/** A command as data: arguments and the environment it needs (never a password). */
export interface ToolCommand {
  argv: string[];
  env: Record<string, string>;
}

/** Directory of pg_dump / pg_restore: $KILN_PG_BIN, else the newest /usr/lib/postgresql/<n>/bin, else PATH. */
export function pgBinDir(): string {
  if (process.env['KILN_PG_BIN']) return process.env['KILN_PG_BIN'];
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(dir, 'pg_dump'))) return dir;
  }
  return '';
}

function tool(name: string): string {
  const dir = pgBinDir();
  return dir ? path.join(dir, name) : name;
}

/** PG* variables for a tool; the password goes through `passFile`, written by writePassFile. */
export function pgEnv(t: PgTarget, database: string, passFile: string): Record<string, string> {
  return { PGHOST: t.host, PGPORT: String(t.port), PGUSER: t.user, PGDATABASE: database, PGPASSFILE: passFile, PGCONNECT_TIMEOUT: '10' };
}

/** `pg_dump -Fc` of the target's database into `outFile` (custom format, compressed). */
export function pgDumpCommand(t: PgTarget, outFile: string, passFile: string): ToolCommand {
  // The snapshot holds the migration lock while dumping; that row must not travel with it.
  return { argv: [tool('pg_dump'), '--format=custom', '--no-owner', '--no-acl', '--exclude-table-data=kiln_lock', `--file=${outFile}`], env: pgEnv(t, t.database, passFile) };
}

/** `pg_restore` of a custom-format dump into an existing, empty `database`. */
export function pgRestoreCommand(t: PgTarget, database: string, inFile: string, passFile: string, jobs = 1): ToolCommand {
  return {
    argv: [tool('pg_restore'), '--no-owner', '--no-acl', '--exit-on-error', `--jobs=${jobs}`, `--dbname=${checkDbName(database)}`, inFile],
    env: pgEnv(t, database, passFile),
  };
}

/**
 * A 0600 password file in a private temp directory, for the duration of fn. The .pgpass format
 * escapes ":" and "\" with a backslash.
 */
export async function withPassFile<T>(t: PgTarget, fn: (passFile: string) => Promise<T>): Promise<T> {
  removeOrphanPassFiles();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-pgpass-${process.pid}-`));
  const file = path.join(dir, 'pgpass');
  const esc = (s: string) => s.replace(/[\\:]/g, (c) => '\\' + c);
  try {
    fs.writeFileSync(file, `${esc(t.host)}:${t.port}:*:${esc(t.user)}:${esc(t.password)}\n`, { mode: 0o600 });
    return await fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A process killed with -9 while pg_dump/pg_restore ran leaves its password file behind: the
 * next one removes those whose process (pid in the directory name) is gone.
 */
export function removeOrphanPassFiles(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^kiln-pgpass-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}
