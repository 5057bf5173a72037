// One interface for both engines, so the changelog, history, lock and JS data migrations are
// written once. Parameters are written `?` for both engines; PostgreSQL's `$1, $2` are made here.
import type { DataEngine } from '../../spec/types.js';

export type Row = Record<string, unknown>;

/** What a JS data migration gets: `export async function migrate(db) { … }`. */
export interface MigrationDb {
  readonly engine: DataEngine;
  /** Rows of a statement (none for statements that return nothing). `?` marks a parameter. */
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
}

/** An open connection to one store. */
export interface StoreConnection extends MigrationDb {
  /** Runs fn inside one transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `?` -> `$n` outside string literals, quoted identifiers and comments. */
export function toNumberedParams(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++n}`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}
