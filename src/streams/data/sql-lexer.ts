// A small SQL lexer, one per engine, so the changelog checks see statements the way the engine
// will run them: what is inside a string, a quoted identifier, a comment or (PostgreSQL) a
// dollar-quoted body is never mistaken for a statement, and a `;` there never splits one.
// It mirrors the engines' own tokenizers where it matters (SQLite's tokenize.c, PostgreSQL's
// scan.l) and, where an input is ambiguous, it declines to open a string or comment: a check
// may then see too much (a false alarm), never too little (a hidden COMMIT the engine runs).
export type SqlDialect = 'sqlite' | 'postgres';

export type SqlTokenKind =
  | 'word' // keyword or bare identifier
  | 'string' // '…', E'…' (PostgreSQL), X'…' is a word then a string
  | 'quoted' // "…", `…`, […] (SQLite): a quoted identifier
  | 'dollar' // $tag$ … $tag$ (PostgreSQL)
  | 'comment' // -- … and /* … */
  | 'param' // ?, ?1, $1, :name, @name, $name
  | 'semicolon'
  | 'open'
  | 'close'
  | 'other'; // numbers, operators, commas, …

export interface SqlToken {
  kind: SqlTokenKind;
  /** Offsets into the text: [start, end). */
  start: number;
  end: number;
  /** The string, comment or body runs to the end of the text. */
  unterminated?: boolean;
}

const SPACE = /[ \t\n\r\f\v]/;
/** Letters, `_` and every non-ASCII character start an identifier in both engines. */
function identStart(c: string): boolean {
  return /[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80;
}
/** Both engines allow `$` inside an identifier (a$b), never first. */
function identPart(c: string): boolean {
  return /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;
}

/** scan.l's dolqdelim: `$`, an optional tag (not starting with a digit), `$`. */
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Tokens of `sql` (whitespace left out), in order. */
export function lexSql(sql: string, dialect: SqlDialect): SqlToken[] {
  const out: SqlToken[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: SqlTokenKind, start: number, end: number, unterminated = false): void => {
    out.push(unterminated ? { kind, start, end, unterminated } : { kind, start, end });
    i = end;
  };
  /** A quoted run closed by `q`, where `qq` (a doubled quote) is an escaped one. */
  const quoted = (kind: SqlTokenKind, start: number, q: string, backslash = false): void => quotedFrom(kind, start, start, q, backslash);
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (SPACE.test(c)) {
      i += 1;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      push('comment', i, end < 0 ? n : end);
    } else if (c === '/' && next === '*') {
      blockComment(i);
    } else if (c === "'") {
      quoted('string', i, "'");
    } else if (c === '"') {
      quoted('quoted', i, '"');
    } else if (dialect === 'sqlite' && c === '`') {
      quoted('quoted', i, '`');
    } else if (dialect === 'sqlite' && c === '[') {
      // SQLite's [name]: no escapes; unterminated is an error there, so nothing after it runs.
      const end = sql.indexOf(']', i + 1);
      push('quoted', i, end < 0 ? n : end + 1, end < 0);
    } else if (c === ';') {
      push('semicolon', i, i + 1);
    } else if (c === '(') {
      push('open', i, i + 1);
    } else if (c === ')') {
      push('close', i, i + 1);
    } else if (c === '?') {
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j] as string)) j += 1;
      push('param', i, j);
    } else if (dialect === 'sqlite' && (c === '$' || c === '@' || c === ':' || c === '#')) {
      sqliteVariable(i);
    } else if (dialect === 'postgres' && c === '$') {
      postgresDollar(i);
    } else if (identStart(c)) {
      let j = i + 1;
      while (j < n && identPart(sql[j] as string)) j += 1;
      // PostgreSQL's E'…' takes backslash escapes when the E is a token of its own right before
      // the quote: xE'…' is the identifier xE and a standard string; 1E'…' is 1 and E'…'.
      if (dialect === 'postgres' && j === i + 1 && (c === 'E' || c === 'e') && sql[j] === "'") {
        quotedFrom('string', i, i + 1, "'", true);
      } else {
        push('word', i, j);
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next ?? ''))) {
      // Digits, a decimal point, an exponent; letters glued on are the engine's error, not ours.
      let j = i + 1;
      while (j < n && /[0-9.]/.test(sql[j] as string)) j += 1;
      if ((sql[j] === 'e' || sql[j] === 'E') && /[0-9]/.test(sql[j + 1] ?? '')) {
        j += 1;
        while (j < n && /[0-9]/.test(sql[j] as string)) j += 1;
      } else if ((sql[j] === 'e' || sql[j] === 'E') && /[+-]/.test(sql[j + 1] ?? '') && /[0-9]/.test(sql[j + 2] ?? '')) {
        j += 2;
        while (j < n && /[0-9]/.test(sql[j] as string)) j += 1;
      }
      push('other', i, j);
    } else {
      push('other', i, i + 1);
    }
  }
  return out;

  /** A quoted run whose opening quote is at `q0`, the token starting at `start` (E'…'). */
  function quotedFrom(kind: SqlTokenKind, start: number, q0: number, q: string, backslash: boolean): void {
    let j = q0 + 1;
    for (;;) {
      if (j >= n) return push(kind, start, n, true);
      const ch = sql[j] as string;
      if (backslash && ch === '\\') j += 2;
      else if (ch === q && sql[j + 1] === q) j += 2;
      else if (ch === q) return push(kind, start, j + 1);
      else j += 1;
    }
  }

  /** SQLite: `/* … *\/` does not nest. PostgreSQL: it does. Unterminated: to the end. */
  function blockComment(start: number): void {
    let depth = 1;
    let j = start + 2;
    while (j < n) {
      if (sql[j] === '*' && sql[j + 1] === '/') {
        depth -= 1;
        j += 2;
        if (depth === 0 || dialect === 'sqlite') return push('comment', start, j);
      } else if (dialect === 'postgres' && sql[j] === '/' && sql[j + 1] === '*') {
        depth += 1;
        j += 2;
      } else {
        j += 1;
      }
    }
    push('comment', start, n, true);
  }

  /**
   * SQLite's variables ($name, @name, :name, #name): identifier characters, `$` among them
   * ($$ and $q$ are variables, not delimiters). The Tcl forms ($a(…), $a::b) are compiled out
   * of better-sqlite3's SQLite (transaction-control.test.ts checks against it): $a( is a
   * syntax error there, so nothing after it runs.
   */
  function sqliteVariable(start: number): void {
    let j = start + 1;
    while (j < n && identPart(sql[j] as string)) j += 1;
    push(j > start + 1 ? 'param' : 'other', start, j);
  }

  /** PostgreSQL: `$1` is a parameter, `$tag$ … $tag$` a body, anything else an operator character. */
  function postgresDollar(start: number): void {
    if (/[0-9]/.test(sql[start + 1] ?? '')) {
      let j = start + 1;
      while (j < n && /[0-9]/.test(sql[j] as string)) j += 1;
      return push('param', start, j);
    }
    // A `$` inside a word (a$b$) never gets here: words take it, as scan.l's identifiers do.
    const tag = DOLLAR_TAG.exec(sql.slice(start, start + 256))?.[0];
    if (!tag) return push('other', start, start + 1);
    const close = sql.indexOf(tag, start + tag.length);
    if (close < 0) return push('dollar', start, n, true);
    push('dollar', start, close + tag.length);
  }
}

/** The upper-cased text of a word token. */
export function wordOf(sql: string, t: SqlToken | undefined): string | undefined {
  return t && t.kind === 'word' ? sql.slice(t.start, t.end).toUpperCase() : undefined;
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}
