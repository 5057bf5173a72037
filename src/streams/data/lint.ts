// `kiln data lint`: entries that would break the servers still running the previous release
// during a blue/green deploy (the old group keeps serving while the new one starts, and stays
// ready for rollback). Dropping or renaming what they use, changing a column's type, or adding
// a NOT NULL column their INSERTs do not fill breaks them. An entry whose header says
// `-- kiln:breaking` is allowed: the release says it is a breaking change. Statements that end
// or open a transaction (COMMIT, BEGIN, …) are reported too, and never allowed.
import fs from 'node:fs';
import type { Changelog, ChangelogEntry } from './changelog.js';
import { lineCol, type SqlDialect } from './sql-lexer.js';
import { splitSql } from './sql-statements.js';
import { transactionStatements } from './transaction-control.js';

export interface LintFinding {
  file: string;
  name: string;
  position: number;
  line: number;
  column: number;
  /** `breaking`: would break the previous release's servers; `transaction`: escapes Kiln's transaction. */
  kind: 'breaking' | 'transaction';
  reason: string;
  /** A breaking entry marked `kiln:breaking`: reported, but allowed. A transaction statement never is. */
  allowed: boolean;
}

const RULES: Array<{ re: RegExp; reason: (m: RegExpExecArray) => string }> = [
  { re: /^DROP\s+TABLE\b(?:\s+IF\s+EXISTS)?\s+([^\s,;(]+)/i, reason: (m) => `drops table ${m[1]}, which servers of the previous release may still use` },
  { re: /^DROP\s+VIEW\b(?:\s+IF\s+EXISTS)?\s+([^\s,;(]+)/i, reason: (m) => `drops view ${m[1]}, which servers of the previous release may still use` },
  { re: /^ALTER\s+TABLE\b.*?\bDROP\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|DEFAULT\b|NOT\b)(?:IF\s+EXISTS\s+)?([^\s,;]+)/is, reason: (m) => `drops column ${m[1]}, which servers of the previous release may still read or write` },
  { re: /^ALTER\s+TABLE\b.*?\bRENAME\s+(?:COLUMN\s+)?(?!TO\b)([^\s,;]+)\s+TO\s+([^\s,;]+)/is, reason: (m) => `renames column ${m[1]} to ${m[2]}: servers of the previous release still use the old name` },
  { re: /^ALTER\s+TABLE\b(?:\s+IF\s+EXISTS)?\s+([^\s,;]+)\s+RENAME\s+TO\s+([^\s,;]+)/is, reason: (m) => `renames table ${m[1]} to ${m[2]}: servers of the previous release still use the old name` },
  { re: /^ALTER\s+TABLE\b.*?\bALTER\s+(?:COLUMN\s+)?([^\s,;]+)\s+(?:SET\s+DATA\s+)?TYPE\b/is, reason: (m) => `changes the type of column ${m[1]}, which servers of the previous release read and write with the old type` },
  { re: /^ALTER\s+TABLE\b.*?\bALTER\s+(?:COLUMN\s+)?([^\s,;]+)\s+SET\s+NOT\s+NULL\b/is, reason: (m) => `makes column ${m[1]} NOT NULL: INSERTs of the previous release that leave it out fail` },
];

const ADD_COLUMN = /\bADD\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|FOREIGN\b|CHECK\b)(?:IF\s+NOT\s+EXISTS\s+)?([^\s,;]+)([^,;]*)/gi;

function findings(stmt: string): string[] {
  const reasons: string[] = [];
  for (const rule of RULES) {
    const m = rule.re.exec(stmt);
    if (m) {
      reasons.push(rule.reason(m));
      break; // one reason per statement: RENAME COLUMN also matches the table-rename shape
    }
  }
  if (/^ALTER\s+TABLE\b/i.test(stmt)) {
    for (const m of stmt.matchAll(ADD_COLUMN)) {
      const def = m[2] ?? '';
      if (/\bNOT\s+NULL\b/i.test(def) && !/\bDEFAULT\b/i.test(def) && !/\bGENERATED\b/i.test(def)) {
        reasons.push(`adds column ${m[1]} NOT NULL without a DEFAULT: INSERTs of the previous release fail`);
      }
    }
  }
  return reasons;
}

/** Findings of one entry, for each dialect it may run under (deduplicated). */
export function lintEntry(entry: ChangelogEntry, dialects: SqlDialect[] = ['sqlite', 'postgres']): LintFinding[] {
  if (entry.kind !== 'sql') return []; // a data migration changes rows, not the schema servers use
  return lintSql(entry, fs.readFileSync(entry.file, 'utf8'), dialects);
}

/** Findings of an SQL entry's text (lintEntry reads it from the file). */
export function lintSql(entry: ChangelogEntry, sql: string, dialects: SqlDialect[]): LintFinding[] {
  // Found under which dialects: a finding of only some says which (a SQLite trigger's END is a
  // COMMIT to PostgreSQL's lexer), one of all says nothing more.
  const found = new Map<string, { offset: number; kind: LintFinding['kind']; reason: string; dialects: SqlDialect[] }>();
  const add = (dialect: SqlDialect, offset: number, kind: LintFinding['kind'], reason: string): void => {
    const key = `${offset}:${reason}`;
    const f = found.get(key) ?? { offset, kind, reason, dialects: [] };
    if (!f.dialects.includes(dialect)) f.dialects.push(dialect);
    found.set(key, f);
  };
  for (const dialect of dialects) {
    for (const t of transactionStatements(sql, dialect)) {
      add(dialect, t.offset, 'transaction', `${t.keyword} ends or opens a transaction, but Kiln runs each entry in its own: what follows it would be applied outside (half-applied, and every re-run fails)`);
    }
    for (const s of splitSql(sql, dialect)) {
      for (const reason of findings(s.text)) add(dialect, s.start, 'breaking', reason);
    }
  }
  const out = [...found.values()].map((f): LintFinding => ({
    file: entry.file,
    name: entry.name,
    position: entry.position,
    ...lineCol(sql, f.offset),
    kind: f.kind,
    reason: f.dialects.length < dialects.length ? `${f.reason} (on ${f.dialects.map((d) => DIALECT_NAMES[d]).join(', ')})` : f.reason,
    // A transaction statement is never allowed: the marker says servers may break, not that
    // the entry may be half-applied.
    allowed: f.kind === 'breaking' && entry.breaking,
  }));
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

const DIALECT_NAMES: Record<SqlDialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/** Findings of the entries after position `after` (default: all entries). */
export function lintChangelog(changelog: Changelog, after = 0, dialects?: SqlDialect[]): LintFinding[] {
  return changelog.entries.filter((e) => e.position > after).flatMap((e) => lintEntry(e, dialects));
}
