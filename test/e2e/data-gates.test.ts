// Issue 11, defect 9: `kiln data migrate` goes through the same gate as deploy. A breaking entry
// (DROP COLUMN while the previous release's servers run) is refused unless --breaking, `release
// create` warns about it and the deploy's refusal names --breaking; an entry whose COMMIT would
// escape its transaction is refused by lint and migrate with file:line:column, on SQLite and on
// PostgreSQL, while look-alikes (strings, comments, trigger bodies, $$ bodies) are applied.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { setupShop, type Shop } from './lib/shop.js';
import { makeProject, type TestProject } from './lib/project.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

interface CliError {
  error: { code: string; message: string; hint?: string; location?: { file?: string; line?: number; column?: number } };
}

const ESCAPE = 'CREATE TABLE audit (x INTEGER);\nCOMMIT;\nINSERT INTO audit VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n';

describe('defect 9: one gate for deploy and kiln data migrate (SQLite, with a control plane)', () => {
  let shop: Shop;
  const changelog = (): string => path.join(shop.p.dir, 'db', 'orders');
  const position = async (): Promise<number> =>
    (JSON.parse((await shop.p.kiln(['data', 'status', 'orders', '--env', 'dev', '--json'])).stdout) as { position: number }).position;
  const tables = (): string[] => {
    const db = new Database(path.join(shop.p.dir, '.kiln', 'data', 'dev', 'orders.db'), { readonly: true });
    try {
      return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    } finally {
      db.close();
    }
  };
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('defect 9: kiln data migrate refuses a breaking entry that deploy refuses; release create warns; both hints name --breaking', async () => {
    fs.writeFileSync(path.join(changelog(), '0004_add_note.sql'), 'ALTER TABLE orders ADD COLUMN note TEXT;\n');
    fs.writeFileSync(path.join(changelog(), '0005_drop_note.sql'), '-- the servers of r1 still read note\nALTER TABLE orders DROP COLUMN note;\n');
    const refused = await shop.p.kiln(['data', 'migrate', 'orders', '--env', 'dev', '--json'], { allowFail: true });
    assert.equal(refused.code, 1, refused.stdout);
    const err = (JSON.parse(refused.stdout) as CliError).error;
    assert.equal(err.code, 'DATA_BREAKING');
    assert.match(err.message, /0005_drop_note\.sql drops column note/);
    assert.deepEqual(err.location, { file: path.join(changelog(), '0005_drop_note.sql'), line: 2, column: 1 });
    assert.match(err.hint ?? '', /--breaking/);
    assert.match(refused.stderr, /0005_drop_note\.sql:2:1: /);
    assert.equal(await position(), 3, 'a refusal applies nothing, not even the entries before');

    const rel = await shop.p.kiln(['release', 'create']);
    const name = /^(r\d+) /.exec(rel.stdout)?.[1] as string;
    assert.match(rel.stderr, /warning: r2 has entries that would break servers of the previous release; deploy refuses them unless the release is created with --breaking/);
    assert.match(rel.stderr, /0005_drop_note\.sql:2:1: drops column note/);
    assert.doesNotMatch(rel.stderr, /0004_add_note/);

    const deploy = await shop.p.kiln(['deploy', name, '--env', 'dev'], { allowFail: true });
    assert.equal(deploy.code, 1);
    assert.match(deploy.stderr, /0005_drop_note\.sql:2:1: .*drops column note/);
    assert.match(deploy.stderr, /hint: .*kiln release create --breaking/);
    assert.equal(await position(), 3);

    // Said explicitly, the migration applies it.
    const applied = await shop.p.kiln(['data', 'migrate', 'orders', '--env', 'dev', '--breaking']);
    assert.match(applied.stdout, /0003 -> 0005, 2 entries applied/);
    assert.match(applied.stderr, /applied 0005_drop_note\.sql \(2\/2\)/);
    assert.equal(await position(), 5);
  });

  test('defect 9: an entry whose COMMIT escapes its transaction is refused by lint and migrate at file:line:column; nothing is half-applied', async () => {
    const file = path.join(changelog(), '0006_audit.sql');
    fs.writeFileSync(file, ESCAPE);
    const lint = await shop.p.kiln(['data', 'lint', 'orders', '--after', '5'], { allowFail: true });
    assert.equal(lint.code, 1);
    assert.match(lint.stdout, new RegExp(`${file.replace(/[.]/g, '\\.')}:2:1: COMMIT ends or opens a transaction`));
    for (let run = 0; run < 2; run++) {
      // Twice: a refusal leaves the store as it was, so a re-run says the same, not "table audit already exists".
      const res = await shop.p.kiln(['data', 'migrate', 'orders', '--env', 'dev', '--json'], { allowFail: true });
      assert.equal(res.code, 1);
      const err = (JSON.parse(res.stdout) as CliError).error;
      assert.equal(err.code, 'DATA_CHANGELOG');
      assert.deepEqual(err.location, { file, line: 2, column: 1 });
      assert.match(err.message, /COMMIT/);
      assert.ok(!tables().includes('audit'), 'the statements before the COMMIT were not applied');
      assert.equal(await position(), 5);
    }
    // Fixed (it was never applied, so it may change), look-alikes included: a string, a
    // comment and a SQLite trigger body with BEGIN … END; applied. The lint reads it for the
    // engines the store runs on: the trigger's END is a COMMIT to PostgreSQL (staging), and says so.
    fs.writeFileSync(
      file,
      "CREATE TABLE audit (x TEXT);\n-- no COMMIT here;\nINSERT INTO audit VALUES ('begin; commit;');\nCREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN\n  INSERT INTO audit VALUES ('begin; commit;');\nEND;\n",
    );
    const lint2 = await shop.p.kiln(['data', 'lint', 'orders', '--after', '5'], { allowFail: true });
    assert.deepEqual(lint2.stdout.trim().split('\n').map((l) => l.slice(file.length)), [':6:1: END ends or opens a transaction, but Kiln runs each entry in its own: what follows it would be applied outside (half-applied, and every re-run fails) (on PostgreSQL)']);
    await shop.p.kiln(['data', 'migrate', 'orders', '--env', 'dev']);
    assert.equal(await position(), 6);
    assert.ok(tables().includes('audit'));
  });
});

describe('defect 9: the same gates on PostgreSQL (kiln data migrate)', () => {
  let p: TestProject;
  let server: TestPostgres;
  const db = `shop_gates_${process.pid}`;
  const changelog = (): string => path.join(p.dir, 'db', 'orders');
  const position = (): string => server.psql(db, 'SELECT max(position) FROM kiln_changelog').trim();
  before(async () => {
    server = await startPostgres();
    server.createDatabase(db);
    p = await makeProject();
    const file = path.join(p.dir, 'kiln.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('environments:\n', 'environments:\n  prod:\n    runtime: process\n    data: { orders: { engine: postgres, url: "${secret.orders_url}" } }\n'));
    await p.kiln(['init']);
    await p.kiln(['secret', 'set', 'orders_url', '--env', 'prod'], { input: server.url(db) });
    await p.kiln(['data', 'migrate', 'orders', '--env', 'prod']);
  });
  after(async () => {
    await p?.cleanup();
    server?.dropDatabase(db);
    server?.stop();
  });

  test('defect 9: PostgreSQL: a COMMIT is refused with file:line:column and nothing applied; $$ and BEGIN ATOMIC bodies pass; a DROP COLUMN needs --breaking', async () => {
    const file = path.join(changelog(), '0004_audit.sql');
    fs.writeFileSync(file, ESCAPE);
    const res = await p.kiln(['data', 'migrate', 'orders', '--env', 'prod', '--json'], { allowFail: true });
    assert.equal(res.code, 1);
    const err = (JSON.parse(res.stdout) as CliError).error;
    assert.equal(err.code, 'DATA_CHANGELOG');
    assert.deepEqual(err.location, { file, line: 2, column: 1 });
    assert.equal(server.psql(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'audit'").trim(), '0');
    assert.equal(position(), '3');

    fs.writeFileSync(
      file,
      [
        'CREATE TABLE audit (x text);',
        "CREATE FUNCTION audit_note() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN INSERT INTO audit VALUES ('commit;'); RETURN NEW; END; $fn$;",
        'CREATE FUNCTION audit_count() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM audit; END;',
        "INSERT INTO audit VALUES (E'it\\'s; COMMIT; -- still a string');",
        '',
      ].join('\n'),
    );
    await p.kiln(['data', 'migrate', 'orders', '--env', 'prod']);
    assert.equal(position(), '4');
    assert.equal(server.psql(db, 'SELECT audit_count()').trim(), '1');

    fs.writeFileSync(path.join(changelog(), '0005_drop_price.sql'), 'ALTER TABLE orders DROP COLUMN price_cents;\n');
    const refused = await p.kiln(['data', 'migrate', 'orders', '--env', 'prod', '--json'], { allowFail: true });
    assert.equal((JSON.parse(refused.stdout) as CliError).error.code, 'DATA_BREAKING');
    assert.equal(position(), '4');
    await p.kiln(['data', 'migrate', 'orders', '--env', 'prod', '--breaking']);
    assert.equal(position(), '5');
  });
});
