// Statements that end or open a transaction. Kiln runs each changelog entry in a transaction of
// its own, together with the entry's history row; a COMMIT inside the entry commits half of it
// outside that transaction (what follows runs on its own, the history row may never be
// written, and every re-run fails on what was half-applied). Such entries are refused before
// anything runs, by the lint, by `kiln data migrate`, by deploys and replicas.
import { splitSql, leadingWords } from './sql-statements.js';
import type { SqlDialect } from './sql-lexer.js';

export interface TransactionStatement {
  /** Offset of the statement's first word. */
  offset: number;
  /** What it starts with, e.g. "COMMIT", "START TRANSACTION". */
  keyword: string;
}

/** First words of transaction control in SQLite or PostgreSQL (END is COMMIT; ABORT is ROLLBACK). */
const ALWAYS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE']);

export function transactionStatements(sql: string, dialect: SqlDialect): TransactionStatement[] {
  const out: TransactionStatement[] = [];
  for (const s of splitSql(sql, dialect)) {
    const [first, second] = leadingWords(sql, s, 2);
    if (first === undefined) continue;
    if (ALWAYS.has(first)) out.push({ offset: s.start, keyword: first });
    // START TRANSACTION; PREPARE TRANSACTION 'x' (two-phase commit) ends the transaction too.
    else if ((first === 'START' || first === 'PREPARE') && second === 'TRANSACTION') out.push({ offset: s.start, keyword: `${first} ${second}` });
  }
  return out;
}
