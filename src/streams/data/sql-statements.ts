// Statements of a changelog entry as its engine will run them, from the tokens of sql-lexer.ts.
// A `;` ends a statement except where the engine's grammar keeps going: inside parentheses
// (PostgreSQL: CREATE RULE … DO (…; …)), in a SQLite trigger body (CREATE TRIGGER … BEGIN …;
// END, which ends only at `; END`, as sqlite3_complete() decides) and in a PostgreSQL
// SQL-standard function body (BEGIN ATOMIC …; END).
import { lexSql, wordOf, type SqlDialect, type SqlToken } from './sql-lexer.js';

export interface SqlStatement {
  /** Offsets of its first and past its last token (the terminating `;` excluded). */
  start: number;
  end: number;
  /** Its tokens without comments. */
  tokens: SqlToken[];
  /** Its text with comments blanked (same length, newlines kept), for matching. */
  text: string;
}

type Block = 'none' | 'sqlite-trigger' | 'pg-routine' | 'pg-atomic';

export function splitSql(sql: string, dialect: SqlDialect): SqlStatement[] {
  const out: SqlStatement[] = [];
  let cur: SqlToken[] = [];
  let comments: SqlToken[] = [];
  let depth = 0;
  let block: Block = 'none';
  const flush = (): void => {
    const first = cur[0];
    const last = cur.at(-1);
    if (first && last) {
      let text = sql.slice(first.start, last.end);
      for (const c of comments) {
        if (c.start < first.start || c.end > last.end) continue;
        const a = c.start - first.start;
        text = text.slice(0, a) + sql.slice(c.start, c.end).replace(/[^\n]/g, ' ') + text.slice(c.end - first.start);
      }
      out.push({ start: first.start, end: last.end, tokens: cur, text });
    }
    cur = [];
    comments = [];
    depth = 0;
    block = 'none';
  };
  for (const t of lexSql(sql, dialect)) {
    if (t.kind === 'comment') {
      comments.push(t);
      continue;
    }
    const prev = cur.at(-1);
    const prev2 = cur.at(-2);
    if (t.kind === 'semicolon') {
      if (block === 'sqlite-trigger') {
        // The body ends at `; END`; this `;` after it ends the statement.
        if (wordOf(sql, prev) === 'END' && prev2?.kind === 'semicolon') flush();
        else cur.push(t);
      } else if (block === 'pg-atomic' || (dialect === 'postgres' && depth > 0)) {
        cur.push(t);
      } else {
        flush();
      }
      continue;
    }
    cur.push(t);
    if (t.kind === 'open') depth += 1;
    else if (t.kind === 'close') depth = Math.max(0, depth - 1);
    if (block === 'none' && t.kind === 'word' && cur.length <= 5) block = blockOf(sql, cur, dialect);
    else if (block === 'pg-routine' && depth === 0 && wordOf(sql, t) === 'ATOMIC' && wordOf(sql, prev) === 'BEGIN') block = 'pg-atomic';
    else if (block === 'pg-atomic' && wordOf(sql, t) === 'END' && (prev?.kind === 'semicolon' || wordOf(sql, prev) === 'ATOMIC')) block = 'pg-routine';
  }
  flush();
  return out;
}

/** Whether the statement's leading words open a block in which `;` does not end it. */
function blockOf(sql: string, tokens: SqlToken[], dialect: SqlDialect): Block {
  const words: string[] = [];
  for (const t of tokens) {
    const w = wordOf(sql, t);
    if (w === undefined) return 'none';
    words.push(w);
  }
  if (dialect === 'sqlite') {
    let i = 0;
    if (words[i] === 'EXPLAIN') i += 1;
    if (words[i] === 'QUERY' && words[i + 1] === 'PLAN') i += 2;
    if (words[i] !== 'CREATE') return 'none';
    i += 1;
    if (words[i] === 'TEMP' || words[i] === 'TEMPORARY') i += 1;
    return words[i] === 'TRIGGER' ? 'sqlite-trigger' : 'none';
  }
  if (words[0] !== 'CREATE') return 'none';
  const i = words[1] === 'OR' && words[2] === 'REPLACE' ? 3 : 1;
  return words[i] === 'FUNCTION' || words[i] === 'PROCEDURE' ? 'pg-routine' : 'none';
}

/** Up to `count` leading words of a statement, upper-cased (fewer when another token comes first). */
export function leadingWords(sql: string, s: SqlStatement, count: number): string[] {
  const out: string[] = [];
  for (const t of s.tokens) {
    const w = wordOf(sql, t);
    if (w === undefined || out.length >= count) break;
    out.push(w);
  }
  return out;
}
