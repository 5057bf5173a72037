// Leftovers of killed PostgreSQL work go away deterministically. A `kiln data replica` SIGKILLed at
// a random moment of its restore or template copy leaves a temporary database (<db>_kt_… or
// kiln_snap_…_kt_…) and maybe a password file in its temp dir; the next replica or `kiln data
// prune` of that store drops them, and the store is consistent. A control plane SIGKILLed during
// `kiln env create` of an environment with a PostgreSQL store: once restarted it reverses the create
// (the destroy `kiln env destroy` runs), leaving no database, no temporary, no secret directory and
// no rows. Real PostgreSQL, real CLI.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { makeProject, type TestProject } from './lib/project.js';
import { waitFor } from './lib/wait.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

describe('PostgreSQL leftovers of killed replicas and env creates', () => {
  let p: TestProject;
  let pg: TestPostgres;
  let tmp: string;
  const prod = `lo_${process.pid}`;
  const test1 = `lo_${process.pid}_t`;
  const ROWS = 150000;

  const databases = (like: string): string[] =>
    pg.psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${like}' ORDER BY 1`).trim().split('\n').filter(Boolean);
  const temporaries = (): string[] => databases('%\\_kt\\_%');
  /** Nobody but us is connected: what a killed client's sessions were doing has ended. */
  const quiet = (): Promise<unknown> =>
    waitFor(() => pg.psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").trim() === '0', {
      timeoutMs: 30000,
      what: 'the killed command\'s PostgreSQL sessions to end',
    });
  const passFiles = (): string[] => fs.readdirSync(tmp).filter((n) => n.startsWith('kiln-pgpass-'));
  const kilnEnv = (): Record<string, string> => ({ TMPDIR: tmp });

  /** Runs the CLI and SIGKILLs it after `delayMs`; true if it was killed before it finished. */
  const killedAfter = (args: string[], delayMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(p.repoRoot, 'bin', 'kiln.js'), ...args], { cwd: p.dir, env: { ...process.env, ...kilnEnv() }, stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      child.on('exit', (_code, signal) => {
        clearTimeout(timer);
        resolve(signal === 'SIGKILL');
      });
    });

  before(async () => {
    pg = await startPostgres();
    pg.createDatabase(prod);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-lo-tmp-'));
    p = await makeProject();
    const file = path.join(p.dir, 'kiln.yaml');
    const binding = (secret: string) => `{ runtime: process, data: { orders: { engine: postgres, url: "\${secret.${secret}}" } } }`;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('environments:\n', `environments:\n  prod: ${binding('orders_url')}\n  qa: ${binding('qa_url')}\n`));
    await p.kiln(['init']);
    await p.kiln(['secret', 'set', 'orders_url', '--env', 'prod'], { input: pg.url(prod) });
    await p.kiln(['secret', 'set', 'qa_url', '--env', 'qa'], { input: pg.url(test1) });
    await p.kiln(['data', 'migrate', 'orders', '--env', 'prod']);
    // Enough rows that a restore or a template copy takes a while: a kill lands inside it.
    pg.psql(prod, `INSERT INTO orders (id, item, qty, created_at) SELECT g, 'item ' || g, g % 7, '2026-11-26' FROM generate_series(1, ${ROWS}) g`);
    await p.kiln(['data', 'snapshot', 'orders', '--env', 'prod']);
  });
  after(async () => {
    await p?.cleanup();
    for (const d of databases(`${prod}%`)) pg.dropDatabase(d);
    for (const d of databases('kiln_snap_%')) {
      pg.psql('postgres', `ALTER DATABASE "${d}" WITH IS_TEMPLATE false`);
      pg.dropDatabase(d);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * Kills `kiln data replica` at random moments until it leaves a temporary database. With
   * `restore` the replica's own temporary is restored by pg_restore; with `template` (templates
   * pruned first) the snapshot's template is.
   */
  const leaveLeftover = async (strategy: 'restore' | 'template', wanted: RegExp): Promise<string[]> => {
    const args = ['data', 'replica', 'orders', '--from', 'prod', '--env', 'qa', '--replace', '--strategy', strategy];
    const started = Date.now();
    await p.kiln(args, { env: kilnEnv() });
    const full = Date.now() - started;
    for (let attempt = 0; attempt < 30; attempt++) {
      if (strategy === 'template') await p.kiln(['data', 'prune', 'orders', '--env', 'qa', '--all'], { env: kilnEnv() });
      // Node's start-up is the first ~40%: kill somewhere in the rest.
      const killed = await killedAfter(args, Math.round(full * (0.4 + 0.6 * Math.random())));
      await quiet();
      const left = temporaries();
      if (killed && left.some((d) => wanted.test(d))) return left;
    }
    assert.fail(`30 kills of kiln ${args.join(' ')} left no temporary database like ${wanted}`);
  };

  const qaConsistent = async (): Promise<void> => {
    const status = JSON.parse((await p.kiln(['data', 'status', 'orders', '--env', 'qa', '--json'])).stdout) as { position: number; head: number; pending: unknown[] };
    assert.deepEqual([status.position, status.head, status.pending.length], [3, 3, 0]);
    assert.equal(pg.psql(test1, 'SELECT count(*), sum(qty) FROM orders'), pg.psql(prod, 'SELECT count(*), sum(qty) FROM orders'), "the replica's rows equal prod's");
  };

  test('a replica killed during pg_restore: the next replica drops its temporary and password file', async () => {
    const left = await leaveLeftover('restore', new RegExp(`^${test1}_kt_`));
    assert.ok(left.every((d) => d.startsWith(`${test1}_kt_`)), left.join(' '));
    const res = await p.kiln(['data', 'replica', 'orders', '--from', 'prod', '--env', 'qa', '--replace'], { env: kilnEnv() });
    assert.equal(res.code, 0);
    assert.deepEqual(temporaries(), [], 'no temporary database is left');
    await qaConsistent();
    // Any password file the killed one left had its process die with it: the replica removed it.
    assert.deepEqual(passFiles(), []);
  });

  test('a replica killed while restoring the template: `kiln data prune` drops the temporary', async () => {
    const left = await leaveLeftover('template', /^kiln_snap_[0-9a-f]{24}_kt_/);
    const json = JSON.parse((await p.kiln(['data', 'prune', 'orders', '--env', 'qa', '--json'], { env: kilnEnv() })).stdout) as { temporaries: string[] };
    assert.deepEqual([...json.temporaries].sort(), [...left].sort(), 'prune names what it dropped');
    assert.deepEqual(temporaries(), []);
    assert.deepEqual(passFiles(), []);
    // The store the killed replica was replacing is still the last complete one.
    await qaConsistent();
    // And the next replica builds a good template again.
    await p.kiln(['data', 'replica', 'orders', '--from', 'prod', '--env', 'qa', '--replace'], { env: kilnEnv() });
    assert.deepEqual(temporaries(), []);
    await qaConsistent();
  });

  test('env create killed with the control plane: its reversal (env destroy) leaves no database, temporary, secret or row', async () => {
    await p.kiln(['app', 'tag', 'api', '1.0.0']);
    await p.kiln(['app', 'tag', 'web', '1.0.0']);
    await p.kiln(['release', 'create']);
    let server = await p.startServer();
    // No template on the server: the env's replica restores one first, a window long enough to kill in.
    await p.kiln(['data', 'prune', 'orders', '--env', 'prod', '--all']);
    const own = `${prod}_test_r1`;
    const create = p.kiln(['env', 'create', 'test-r1', '--release', 'r1', '--data-from', 'prod', '--like', 'prod'], { allowFail: true });
    await waitFor(() => temporaries().length > 0, { timeoutMs: 60000, intervalMs: 10, what: 'env create to start a temporary database' });
    server.kill('SIGKILL');
    await server.exited;
    assert.notEqual((await create).code, 0);
    await quiet();
    assert.ok(temporaries().length > 0, 'the kill left a temporary database');
    const secrets = path.join(p.dir, '.kiln', 'secrets', 'test-r1');

    const rows = (): number[] => {
      const db = new BetterSqlite3(path.join(p.dir, '.kiln', 'state.db'), { readonly: true });
      try {
        return ["SELECT count(*) AS n FROM created_environments WHERE name = 'test-r1'", "SELECT count(*) AS n FROM clusters WHERE env = 'test-r1'"].map(
          (q) => (db.prepare(q).get() as { n: number }).n,
        );
      } finally {
        db.close();
      }
    };
    assert.deepEqual(rows()[0], 1, 'the killed create left its row');

    // The restarted control plane reverses the interrupted create (the same destroy as `kiln env destroy`).
    server = await p.startServer();
    await waitFor(() => rows()[0] === 0, { timeoutMs: 30000, what: 'the interrupted create to be reversed' });
    assert.deepEqual(temporaries(), [], 'no temporary database is left');
    assert.deepEqual(databases(`${own}%`), [], 'no database of the environment is left');
    assert.equal(fs.existsSync(secrets), false, 'its secret directory is gone');
    assert.deepEqual(rows(), [0, 0], 'no row of the environment is left');
    const again = await p.kiln(['env', 'destroy', 'test-r1'], { allowFail: true });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /there is no created environment "test-r1"/);
    // The name is free again, and prod is untouched.
    await p.kiln(['env', 'create', 'test-r1', '--release', 'r1', '--data-from', 'prod', '--like', 'prod']);
    assert.equal(pg.psql(own, 'SELECT count(*) FROM orders').trim(), String(ROWS));
    await p.kiln(['env', 'destroy', 'test-r1']);
    assert.deepEqual(databases(`${own}%`), []);
    assert.equal(pg.psql(prod, 'SELECT count(*) FROM orders').trim(), String(ROWS));
    server.kill('SIGTERM');
    await server.exited;
  });
});
