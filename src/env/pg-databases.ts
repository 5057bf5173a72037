// A created environment whose `--like` keeps a store in PostgreSQL gets a database of its own on
// the same server: `<database>_<env>` (dashes become "_"). Its secret holds that database's URL;
// the replica is made there (temp name, renamed when complete) and `kiln env destroy` drops it,
// with any temporary of it a killed `env create` left (pg-temps.ts).
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { dropOrphanPgTemps } from '../streams/data/pg-temps.js';
import { checkDbName, openPostgres, parsePgUrl, quoteIdent } from '../streams/data/postgres.js';
import { secretsDir, setSecret } from '../secrets/secrets.js';
import type { EnvironmentSpec } from '../spec/types.js';

/** The URL of the environment's own database, next to the one `url` names. */
export function environmentDatabaseUrl(url: string, env: string, where: string): { url: string; database: string } {
  const u = new URL(url.trim());
  const base = parsePgUrl(url, where).database;
  const database = `${base}_${env.replace(/-/g, '_')}`;
  try {
    checkDbName(database);
  } catch {
    throw new KilnError('USAGE', `the database for environment ${env} would be "${database}", not a plain PostgreSQL name of at most 63 characters`, {
      hint: 'use a shorter environment name',
    });
  }
  u.pathname = '/' + database;
  return { url: u.toString(), database };
}

function pgBindings(def: EnvironmentSpec): Array<{ store: string; secret: string }> {
  return Object.entries(def.data ?? {}).flatMap(([store, b]) => (b.engine === 'postgres' && b.urlSecret ? [{ store, secret: b.urlSecret }] : []));
}

/** Points the new environment's copies of the URL secrets at its own databases. */
export function retargetDatabaseSecrets(kilnDir: string, def: EnvironmentSpec): string[] {
  const made: string[] = [];
  for (const { store, secret } of pgBindings(def)) {
    const file = path.join(secretsDir(kilnDir, def.name), secret);
    if (!fs.existsSync(file)) {
      throw new KilnError('SPEC_INVALID', `store ${store} of environment ${def.name} needs the secret "${secret}", which is not set`, {
        hint: `set it for the environment it is like, then create again`,
      });
    }
    const { url, database } = environmentDatabaseUrl(fs.readFileSync(file, 'utf8'), def.name, `secret ${secret}`);
    setSecret(kilnDir, def.name, secret, Buffer.from(url));
    made.push(database);
  }
  return made;
}

/** Drops the environment's own databases (before its secrets, which say where they are, go). */
export async function dropEnvironmentDatabases(kilnDir: string, def: EnvironmentSpec, log: (m: string) => void): Promise<string[]> {
  const dropped: string[] = [];
  for (const { secret } of pgBindings(def)) {
    const file = path.join(secretsDir(kilnDir, def.name), secret);
    if (!fs.existsSync(file)) continue;
    const t = parsePgUrl(fs.readFileSync(file, 'utf8'), `secret ${secret}`);
    // Only a database this environment made: its name ends with the environment's suffix.
    if (!t.database.endsWith(`_${def.name.replace(/-/g, '_')}`)) continue;
    const admin = await openPostgres(t, 'postgres');
    try {
      // A replica being made for it (or left by a killed `env create`) goes too, before the database.
      dropped.push(...(await dropOrphanPgTemps(admin, { databases: [t.database], templates: true, force: [t.database] })));
      await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(checkDbName(t.database))} WITH (FORCE)`);
      dropped.push(t.database);
    } catch (e) {
      log(`dropping database ${t.database}: ${(e as Error).message}`);
    } finally {
      await admin.close();
    }
  }
  return dropped;
}

/** Without --data-from the stores start empty: their databases must still exist to migrate. */
export async function createEmptyDatabases(kilnDir: string, def: EnvironmentSpec): Promise<void> {
  for (const { secret } of pgBindings(def)) {
    const t = parsePgUrl(fs.readFileSync(path.join(secretsDir(kilnDir, def.name), secret), 'utf8'), `secret ${secret}`);
    const admin = await openPostgres(t, 'postgres');
    try {
      await dropOrphanPgTemps(admin, { databases: [t.database], templates: true });
      await admin.exec(`CREATE DATABASE ${quoteIdent(checkDbName(t.database))}`);
    } finally {
      await admin.close();
    }
  }
}
