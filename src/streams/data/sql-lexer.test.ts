import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lexSql, type SqlDialect } from './sql-lexer.js';
import { splitSql } from './sql-statements.js';
import { transactionStatements } from './transaction-control.js';

const kinds = (sql: string, d: SqlDialect): Array<[string, string]> => lexSql(sql, d).map((t) => [t.kind, sql.slice(t.start, t.end)]);
const flagged = (sql: string, d: SqlDialect): string[] => transactionStatements(sql, d).map((t) => t.keyword);

test('strings, quoted identifiers and comments are single tokens; a ; inside them is no statement end', () => {
  for (const d of ['sqlite', 'postgres'] as const) {
    assert.deepEqual(kinds(`SELECT 'a;b''c', "x;""y" -- z;\n/* ; */;`, d), [
      ['word', 'SELECT'],
      ['string', "'a;b''c'"],
      ['other', ','],
      ['quoted', '"x;""y"'],
      ['comment', '-- z;'],
      ['comment', '/* ; */'],
      ['semicolon', ';'],
    ]);
  }
  const open = lexSql("SELECT 'no end", 'sqlite').at(-1);
  assert.deepEqual([open?.kind, open?.unterminated], ['string', true]);
});

test('PostgreSQL: nested comments, dollar-quoted bodies, E-strings, $n parameters, $ inside names', () => {
  assert.deepEqual(kinds('/* a /* b */ ; */ x', 'postgres'), [['comment', '/* a /* b */ ; */'], ['word', 'x']]);
  assert.deepEqual(kinds('$$ a; $x$ b $$ $fn$ c $$ d $fn$', 'postgres'), [['dollar', '$$ a; $x$ b $$'], ['dollar', '$fn$ c $$ d $fn$']]);
  assert.deepEqual(kinds("E'it\\'s;' e'\\\\' x", 'postgres'), [['string', "E'it\\'s;'"], ['string', "e'\\\\'"], ['word', 'x']]);
  // Standard strings take no backslash escapes (standard_conforming_strings, which Kiln sets).
  assert.deepEqual(kinds("'a\\' ;", 'postgres'), [['string', "'a\\'"], ['semicolon', ';']]);
  assert.deepEqual(kinds('$1 a$b$ c', 'postgres'), [['param', '$1'], ['word', 'a$b$'], ['word', 'c']]);
  // $1$x$ is a parameter and then a delimiter, as scan.l reads it.
  assert.deepEqual(kinds('$1$x$;$x$', 'postgres'), [['param', '$1'], ['dollar', '$x$;$x$']]);
});

test('SQLite: comments do not nest, [..] and `..` quote names, $ starts a variable, never a body', () => {
  assert.deepEqual(kinds('/* a /* b */ ; */', 'sqlite'), [['comment', '/* a /* b */'], ['semicolon', ';'], ['other', '*'], ['other', '/']]);
  assert.deepEqual(kinds('[a;b] `c;d`', 'sqlite'), [['quoted', '[a;b]'], ['quoted', '`c;d`']]);
  assert.deepEqual(kinds("$a(');x", 'sqlite'), [['param', '$a'], ['open', '('], ['string', "');x"]]);
  assert.deepEqual(kinds('$$ ; :n @m', 'sqlite'), [['param', '$$'], ['semicolon', ';'], ['param', ':n'], ['param', '@m']]);
});

test('statements split at top-level ; only: not inside a SQLite trigger body, a BEGIN ATOMIC body or PostgreSQL parentheses', () => {
  const trigger = 'CREATE TRIGGER t AFTER INSERT ON o BEGIN UPDATE o SET x = CASE WHEN 1 THEN 2 END; INSERT INTO l VALUES (1); END; SELECT 1';
  assert.deepEqual(splitSql(trigger, 'sqlite').map((s) => s.text.slice(0, 14)), ['CREATE TRIGGER', 'SELECT 1']);
  const atomic = 'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT 2';
  assert.deepEqual(splitSql(atomic, 'postgres').map((s) => s.text.slice(0, 18)), ['CREATE OR REPLACE ', 'SELECT 2']);
  const rule = 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 3';
  assert.deepEqual(splitSql(rule, 'postgres').length, 2);
  // Comments are blanked in the text the lint matches, keeping offsets and lines.
  const [s] = splitSql('ALTER /* x */ TABLE t\n-- y\nDROP COLUMN c', 'postgres');
  assert.equal(s?.text, 'ALTER         TABLE t\n    \nDROP COLUMN c');
});

test('transaction statements are found where they run, with their position; look-alikes are not', () => {
  for (const d of ['sqlite', 'postgres'] as const) {
    const sql = 'CREATE TABLE t (x INTEGER);\n  COMMIT;\nbegin transaction; end; Rollback; SAVEPOINT a; RELEASE a;';
    assert.deepEqual(flagged(sql, d), ['COMMIT', 'BEGIN', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);
    assert.equal(transactionStatements(sql, d)[0]?.offset, sql.indexOf('COMMIT'));
    assert.deepEqual(flagged("INSERT INTO t VALUES ('COMMIT; BEGIN;'); -- COMMIT;\n/* BEGIN; */ SELECT \"commit\", 1 AS x", d), []);
  }
  assert.deepEqual(flagged("START TRANSACTION; PREPARE TRANSACTION 'x'; ABORT; PREPARE q AS SELECT 1", 'postgres'), ['START TRANSACTION', 'PREPARE TRANSACTION', 'ABORT']);
  assert.deepEqual(flagged('DO $$ BEGIN PERFORM 1; COMMIT; END $$; CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN END; $f$', 'postgres'), []);
  assert.deepEqual(flagged('CREATE TRIGGER t AFTER INSERT ON o BEGIN SELECT 1; END; END;', 'sqlite'), ['END']);
  assert.deepEqual(flagged('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; END;', 'postgres'), ['END']);
  // A column or function named "begin" opens no block that could hide what follows.
  assert.deepEqual(flagged('CREATE TABLE t (begin int); COMMIT;', 'postgres'), ['COMMIT']);
  assert.deepEqual(flagged("CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'select 1'; COMMIT; SELECT 1 AS end;", 'postgres'), ['COMMIT']);
  // PostgreSQL reads $q$…$q$ as a body; SQLite reads $q$ as a variable, so there the COMMIT runs.
  const dollar = 'SELECT $q$; COMMIT; SELECT $q$';
  assert.deepEqual([flagged(dollar, 'postgres'), flagged(dollar, 'sqlite')], [[], ['COMMIT']]);
});
