// `kiln data lint`: entries that would break the servers still running the previous release
// during a blue/green deploy (the old group keeps serving while the new one starts, and stays
// ready for rollback). Dropping or renaming what they use, changing a column's type, or adding
// a NOT NULL column their INSERTs do not fill breaks them. An entry whose header says
// `-- kiln:breaking` is allowed: the release says it is a breaking change.
import fs from 'node:fs';
import type { Changelog, ChangelogEntry } from './changelog.js';

export interface LintFinding {
  file: string;
  name: string;
  position: number;
  line: number;
  column: number;
  reason: string;
  /** The entry is marked `kiln:breaking`: reported, but allowed. */
  allowed: boolean;
}

interface Statement {
  text: string;
  offset: number;
}

/** Splits SQL into statements at top-level `;`, skipping strings, quoted names, comments and $$ bodies. */
export function splitStatements(sql: string): Statement[] {
  const out: Statement[] = [];
  let start = 0;
  let i = 0;
  let code = ''; // the statement with comments blanked, for matching
  const push = (end: number) => {
    const lead = code.length - code.trimStart().length;
    if (code.trim()) out.push({ text: code.trim(), offset: start + lead });
    code = '';
    start = end + 1;
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      code += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      code += sql.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      code += sql.slice(i, stop);
      i = stop;
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      const end = tag ? sql.indexOf(tag, i + tag.length) : -1;
      const stop = tag ? (end < 0 ? sql.length : end + tag.length) : i + 1;
      code += sql.slice(i, stop);
      i = stop;
    } else if (c === ';') {
      push(i);
      i += 1;
    } else {
      code += c;
      i += 1;
    }
  }
  push(sql.length);
  return out;
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

function lineCol(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

export function lintEntry(entry: ChangelogEntry): LintFinding[] {
  if (entry.kind !== 'sql') return []; // a data migration changes rows, not the schema servers use
  const sql = fs.readFileSync(entry.file, 'utf8');
  return splitStatements(sql).flatMap((s) =>
    findings(s.text).map((reason) => ({
      file: entry.file,
      name: entry.name,
      position: entry.position,
      ...lineCol(sql, s.offset),
      reason,
      allowed: entry.breaking,
    })),
  );
}

/** Findings of the entries after position `after` (default: all entries). */
export function lintChangelog(changelog: Changelog, after = 0): LintFinding[] {
  return changelog.entries.filter((e) => e.position > after).flatMap(lintEntry);
}
