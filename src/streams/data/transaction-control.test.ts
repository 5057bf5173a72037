// The lexer's verdict checked against the engines themselves: each entry of a hostile corpus
// runs inside a transaction in real SQLite and real PostgreSQL, as Kiln runs entries; every
// entry that really ends that transaction must be one the check refuses.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startPostgres } from '../../../test/support/postgres.js';
import { FUZZ_SEED, rng } from '../../util/fuzzkit.js';
import type { SqlDialect } from './sql-lexer.js';
import { transactionStatements } from './transaction-control.js';

/** [entry, ends the transaction in SQLite, in PostgreSQL]. */
const CORPUS: Array<[string, boolean, boolean]> = [
  ['INSERT INTO t VALUES (1);\nCOMMIT;\nINSERT INTO t VALUES (2);', true, true],
  ['INSERT INTO t VALUES (1); END; INSERT INTO t VALUES (2);', true, true],
  ['ROLLBACK; INSERT INTO t VALUES (2);', true, true],
  ["INSERT INTO t VALUES ('COMMIT;'); -- COMMIT;\n/* COMMIT; */ SELECT \"x\" FROM t;", false, false],
  ['INSERT INTO t VALUES (1); commit transaction;', true, true],
  ["SELECT $a(');COMMIT;--'", false, false],
  ['SELECT $q$; COMMIT; SELECT $q$', true, false],
  ['SELECT 1 /* a /* b */; COMMIT; /* */', true, false],
  ["SELECT E'\\'; COMMIT; --'", false, false],
  ["SELECT 'a\\'; COMMIT; --'", true, true],
  ['DO $$ BEGIN PERFORM 1; END $$; COMMIT;', false, true],
  ["CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN new.x > 0 THEN 1 END WHERE 0; END; COMMIT;", true, false],
  ['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; COMMIT;', false, true],
  ["CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'select 1'; COMMIT; SELECT 1 AS end;", false, true],
  ['CREATE TABLE u (begin int); COMMIT;', true, true],
  ['SELECT 1; START TRANSACTION; COMMIT;', false, true],
  ['SAVEPOINT a; RELEASE a; COMMIT;', true, true],
  ['SELECT [a;COMMIT;b] FROM t', false, false],
];

function escapesSqlite(sql: string): boolean {
  const db = new Database(':memory:');
  try {
    db.exec('CREATE TABLE t (x)');
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(sql);
    } catch {
      // A failing entry is rolled back by Kiln; what counts is whether it got out first.
    }
    return !db.inTransaction;
  } finally {
    db.close();
  }
}

async function escapesPostgres(client: pg.Client, sql: string): Promise<boolean> {
  await client.query('BEGIN');
  await client.query('CREATE TABLE t (x int)');
  try {
    await client.query(sql);
  } catch {
    // as above
  }
  try {
    await client.query('SAVEPOINT probe');
    return false;
  } catch (e) {
    // 25P01: "SAVEPOINT can only be used in transaction blocks": the entry ended Kiln's.
    return (e as { code?: string }).code === '25P01';
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.query('DROP TABLE IF EXISTS t, u; DROP FUNCTION IF EXISTS f(); DROP FUNCTION IF EXISTS begin()').catch(() => undefined);
  }
}

const refused = (sql: string, d: SqlDialect): boolean => transactionStatements(sql, d).length > 0;

/** Statements that run in both engines, COMMITs among them, and pieces that open and close strings, names, comments and bodies. */
const STATEMENTS = ['SELECT 1', 'COMMIT', 'END', 'ROLLBACK', 'INSERT INTO t VALUES (1)', "SELECT 'a;b'", 'SELECT 1 AS x', 'SAVEPOINT a', 'RELEASE a', 'BEGIN', 'SELECT (1)'];
const PIECES = [
  "'", '"', '$$', '$q$', '/*', '*/', '--', '\n', ';', ' COMMIT', " E'", '\\', '[', ']', '`', '(', ')', ' x', 'AS ',
  ' CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1', ' CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1',
  ' DO $$ BEGIN PERFORM 1; END $$', ' CASE WHEN 1 THEN 2 END', ' ATOMIC', ' END',
];

/** Random entries: a few statements, each with a hostile piece or two spliced in. */
function entries(n: number): string[] {
  const r = rng(FUZZ_SEED);
  const statement = (): string => {
    let st = r.pick(STATEMENTS);
    for (let k = r.int(3); k > 0; k--) {
      const at = r.int(st.length + 1);
      st = st.slice(0, at) + r.pick(PIECES) + st.slice(at);
    }
    return st;
  };
  return Array.from({ length: n }, () => Array.from({ length: 2 + r.int(4) }, statement).join(';'));
}

test('every corpus entry that ends its transaction in real SQLite is refused by the SQLite check', () => {
  for (const [sql, sqlite] of CORPUS) {
    assert.equal(escapesSqlite(sql), sqlite, `SQLite oracle for: ${sql}`);
    if (sqlite) assert.ok(refused(sql, 'sqlite'), `not refused, but SQLite escapes: ${sql}`);
  }
  assert.equal(refused(CORPUS[3]![0], 'sqlite'), false, 'look-alikes in strings and comments are no finding');
});

test('fuzz: 5,000 random entries; each that ends its transaction in real SQLite is refused', (t) => {
  let escapes = 0;
  for (const sql of entries(5000)) {
    if (!escapesSqlite(sql)) continue;
    escapes += 1;
    assert.ok(refused(sql, 'sqlite'), `not refused, but SQLite escapes (KILN_FUZZ_SEED=${FUZZ_SEED}): ${JSON.stringify(sql)}`);
  }
  t.diagnostic(`seed ${FUZZ_SEED}: 5000 entries, ${escapes} end the transaction in SQLite, all refused`);
  assert.ok(escapes > 100, 'the corpus exercises escapes');
});

test('every corpus entry (and 1,500 random ones) that ends its transaction in real PostgreSQL is refused by the PostgreSQL check', async (t) => {
  const server = await startPostgres();
  after(() => server.stop());
  server.createDatabase('kiln_lexer');
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'kiln_lexer' });
  await client.connect();
  try {
    await client.query('SET standard_conforming_strings = on');
    for (const [sql, , postgres] of CORPUS) {
      assert.equal(await escapesPostgres(client, sql), postgres, `PostgreSQL oracle for: ${sql}`);
      if (postgres) assert.ok(refused(sql, 'postgres'), `not refused, but PostgreSQL escapes: ${sql}`);
    }
    assert.equal(refused(CORPUS[3]![0], 'postgres'), false);
    let escapes = 0;
    for (const sql of entries(1500)) {
      if (!(await escapesPostgres(client, sql))) continue;
      escapes += 1;
      assert.ok(refused(sql, 'postgres'), `not refused, but PostgreSQL escapes (KILN_FUZZ_SEED=${FUZZ_SEED}): ${JSON.stringify(sql)}`);
    }
    t.diagnostic(`seed ${FUZZ_SEED}: 1500 random entries, ${escapes} end the transaction in PostgreSQL, all refused`);
    assert.ok(escapes > 10, 'the corpus exercises escapes');
  } finally {
    await client.end();
  }
});
