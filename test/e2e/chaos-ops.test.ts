// Chaos for every multi-step operation besides deploy (issue 7; deploys are in chaos.test.ts):
// rollback, env create, env destroy and `rebuild --deploy` with the control plane (or, for the
// rebuild, the CLI) killed with SIGKILL at a random moment, and `data migrate` / `data replica`
// with the CLI killed. Under continuous load on dev. After each kill (and a restart) the world
// must be consistent (lib/consistency.ts: no duplicate or orphaned server, process, environment,
// directory or lock) without anyone's help, and then:
//   rollback     old or new groups, every cluster the same way, fully serving;
//   env create   fully present and serving, or fully absent (reversed at restart): re-running
//                the same command makes it;
//   env destroy  fully absent (completed at restart), or untouched if the kill came before the
//                request reached the control plane: re-running it finishes;
//   rebuild      the side-by-side environment gone (destroyed at restart, or by the control plane
//                once the killed CLI's lock row shows its owner dead); re-running it deploys;
//   migrate      the store at an entry boundary, nothing applied twice; re-running completes;
//   replica      the store the old one or the complete new one; re-running completes.
// KILN_CHAOS_OPS sets the kills per operation (default 3); KILN_CHAOS_SEED replays a run (the
// seed is printed; without it every run explores new moments).
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { parseDocument } from 'yaml';
import { rng } from '../../src/util/fuzzkit.js';
import { processStartTime } from '../../src/runtime/process/proc.js';
import { makeRootfsTar } from '../../src/streams/os/testkit.js';
import { startLoad, waitFor, sleep, type LoadHandle } from './lib/load.js';
import { setupShop, type Shop } from './lib/shop.js';
import { chaosSeed, median, worldProblem } from './lib/consistency.js';

const OPS = Number(process.env.KILN_CHAOS_OPS ?? 3);
const SEED = chaosSeed();
const YAML_ENVS = ['dev', 'scratch'];
const BULK = 6; // changelog entries added for the data part, each a table of BULK_ROWS rows
const BULK_ROWS = 150_000;

interface Figures {
  kills: number;
  /** The command finished before the kill landed. */
  finished: number;
  /** Outcome counts, e.g. present / absent. */
  outcomes: Record<string, number>;
  converge: number[];
  served: number;
  failed: number;
  /** Its requests are counted in that operation's figures (they run in one phase). */
  sharedWith?: string;
}

describe(`chaos: kill -9 during rollback, env create/destroy, rebuild, data migrate/replica (seed ${SEED})`, () => {
  let shop: Shop;
  let api: LoadHandle;
  let web: LoadHandle;
  const r = rng(SEED);
  const figures: Record<string, Figures> = {};
  const kilnDir = (): string => path.join(shop.p.dir, '.kiln');

  const fig = (op: string): Figures => (figures[op] ??= { kills: 0, finished: 0, outcomes: {}, converge: [], served: 0, failed: 0 });
  const count = (f: Figures, outcome: string): void => void (f.outcomes[outcome] = (f.outcomes[outcome] ?? 0) + 1);
  /** Runs `fn` counting the requests served and failed meanwhile into the operation's figures. */
  const phase = async (op: string, fn: (f: Figures) => Promise<void>): Promise<void> => {
    const f = fig(op);
    const [a0, w0] = [api.stats(), web.stats()];
    try {
      await fn(f);
    } finally {
      const [a1, w1] = [api.stats(), web.stats()];
      f.served += a1.total - a0.total + (w1.total - w0.total);
      f.failed += a1.failed - a0.failed + (w1.failed - w0.failed);
    }
  };

  const killServer = async (): Promise<void> => {
    shop.server.kill('SIGKILL');
    await shop.server.exited;
  };
  /** The kiln CLI processes of this project running `args` (others' tests run kiln too). */
  const cliPids = (args: string[]): number[] => {
    const needle = `kiln.js\0${args.join('\0')}`;
    const out: number[] = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (!fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) continue;
        if (fs.realpathSync(`/proc/${name}/cwd`) === fs.realpathSync(shop.p.dir)) out.push(Number(name));
      } catch {
        /* gone meanwhile */
      }
    }
    return out;
  };
  const killCli = (args: string[]): number => {
    const pids = cliPids(args);
    for (const p of pids) process.kill(p, 'SIGKILL');
    return pids.length;
  };
  /** Waits until the world is consistent (and `extra` agrees); returns how long that took. */
  const settle = async (what: string, extra: (created: string[]) => string | null = () => null): Promise<number> => {
    const t0 = performance.now();
    let last = '';
    await waitFor(
      () => {
        const w = worldProblem(shop.p.dir, YAML_ENVS, { deployed: ['dev'] });
        last = typeof w === 'string' ? w : (extra(w.created) ?? '');
        return last === '';
      },
      { timeoutMs: 60_000, intervalMs: 25, what },
    ).catch((e: Error) => {
      throw new Error(`${e.message} (seed ${SEED})\nlast: ${last}\n--- server output\n${shop.server.output().slice(-4000)}`);
    });
    return performance.now() - t0;
  };
  const dig = (name: string): string =>
    execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+tries=1', '+time=2', name], { encoding: 'utf8' });
  /** dev's clusters that keep a disabled group: the ones a rollback moves. */
  // Kept groups: a load-balanced cluster's is disabled, a worker's stopped (issue 11, defect 7).
  const withKept = (): string[] => {
    const db = new Database(path.join(kilnDir(), 'state.db'), { readonly: true });
    try {
      return (db.prepare(`SELECT DISTINCT c.name FROM clusters c JOIN server_groups g ON g.cluster = c.name WHERE c.env = 'dev' AND g.state IN ('disabled', 'stopped') ORDER BY c.name`).all() as Array<{ name: string }>).map((x) => x.name);
    } finally {
      db.close();
    }
  };
  const actives = (): Record<string, string | null> => {
    const db = new Database(path.join(kilnDir(), 'state.db'), { readonly: true });
    try {
      const rows = db.prepare(`SELECT name, active_group FROM clusters WHERE env = 'dev' ORDER BY name`).all() as Array<{ name: string; active_group: string | null }>;
      return Object.fromEntries(rows.map((c) => [c.name, c.active_group]));
    } finally {
      db.close();
    }
  };
  /** Whether the deploy-lock row `key` exists: the control plane has begun the operation (its intent is written). */
  const lockRow = (key: string): boolean => {
    const db = new Database(path.join(kilnDir(), 'state.db'), { readonly: true });
    try {
      return db.prepare('SELECT 1 FROM deploy_locks WHERE env = ?').get(key) !== undefined;
    } finally {
      db.close();
    }
  };
  /**
   * Sleeps to a random moment of the work itself rather than of node's start-up: from when
   * `started` holds (or `run` ended) until about `ms` after the command was launched.
   */
  const randomMoment = async (launched: number, ms: number, started: () => boolean, run: Promise<unknown>): Promise<void> => {
    let ended = false;
    void run.then(() => (ended = true));
    await waitFor(() => ended || started(), { timeoutMs: 30_000, intervalMs: 5, what: 'the operation to begin' });
    // 0.7: the uninterrupted run that measured `ms` was slower (the first snapshot, cold caches).
    await sleep(r.int(Math.max(1, Math.round(0.7 * (ms - (performance.now() - launched))))));
  };
  /** The same command killed at a random moment of how long it takes uninterrupted. */
  const timed = async (args: string[]): Promise<number> => {
    const t0 = performance.now();
    await shop.p.kiln(args);
    return performance.now() - t0;
  };

  before(async () => {
    // An imported busybox base (no mirror traffic) so `rebuild` runs here; no podman environment;
    // `scratch` is a kiln.yaml environment never deployed: a place for data replicas.
    shop = await setupShop({
      edit: (y) => {
        const doc = parseDocument(y);
        doc.setIn(['os', 'bookworm'], doc.createNode({ import: 'rootfs.tar' }));
        doc.deleteIn(['environments', 'staging']);
        doc.setIn(['environments', 'scratch'], doc.createNode({ runtime: 'process' }));
        return doc.toString();
      },
    });
    await makeRootfsTar(path.join(shop.p.dir, 'rootfs.tar'), { busybox: '1.36' });
    await shop.p.kiln(['rebuild']);
    // A release that changes api, so dev keeps a disabled group to roll back to.
    await shop.p.kiln(['deploy', await shop.releaseApi('2.0.0'), '--env', 'dev']);
    api = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 4 });
    web = startLoad({ url: shop.url('/'), host: 'web-http-dev.shop.test', mix: 'both', concurrency: 2 });
    await waitFor(() => api.stats().total >= 50, { what: 'load before the first operation' });
  });
  after(async () => {
    await api?.stop();
    await web?.stop();
    await shop?.p.cleanup();
  });

  test('rollback: old or new groups, all clusters alike, fully serving', { timeout: 10 * 60_000 }, async () => {
    await phase('rollback', async (f) => {
      const ms = await timed(['rollback', '--env', 'dev']);
      await settle('the uninterrupted rollback to drain');
      for (let i = 0; i < OPS; i++) {
        const before = actives();
        const movable = withKept();
        assert.ok(movable.length > 0, 'a kept group to roll back to');
        const launched = performance.now();
        const run = shop.p.kiln(['rollback', '--env', 'dev'], { allowFail: true, timeoutMs: 60_000 });
        await randomMoment(launched, ms, () => lockRow('dev'), run);
        await killServer();
        f.kills++;
        if ((await run).code === 0) f.finished++;
        const t0 = performance.now();
        shop.server = await shop.p.startServer();
        await settle(`convergence after rollback kill ${i + 1}`);
        f.converge.push(performance.now() - t0);
        const now = actives();
        const moved = Object.keys(before).filter((c) => now[c] !== before[c]);
        assert.ok(moved.length === 0 || moved.join() === movable.join(), `half a rollback: ${JSON.stringify({ before, now, movable })} (seed ${SEED})`);
        count(f, moved.length ? 'rolled back' : 'not rolled back');
      }
      // The next rollback works: no lock or half-drained group is in its way.
      await shop.p.kiln(['rollback', '--env', 'dev']);
      await settle('a rollback after the kills');
    });
  });

  test('env create and env destroy: fully present or fully absent; re-running finishes', { timeout: 10 * 60_000 }, async () => {
    await phase('env create', async (f) => {
      const createArgs = (name: string): string[] => ['env', 'create', name, '--release', 'r2', '--data-from', 'dev'];
      const createMs = await timed(createArgs('c-probe'));
      const destroyMs = await timed(['env', 'destroy', 'c-probe']);
      await settle('the probe environment gone', (c) => (c.length ? `created: ${c.join(',')}` : null));
      const fd = fig('env destroy');
      fd.sharedWith = 'env create';
      for (let i = 0; i < OPS; i++) {
        const name = `c${i}`;
        const host = `api-http-${name}.shop.test`;
        const launched = performance.now();
        const run = shop.p.kiln(createArgs(name), { allowFail: true, timeoutMs: 60_000 });
        await randomMoment(launched, createMs, () => lockRow(`create:${name}`), run);
        await killServer();
        f.kills++;
        const said = await run;
        if (said.code === 0) f.finished++;
        let t0 = performance.now();
        shop.server = await shop.p.startServer();
        await settle(`convergence after env create kill ${i + 1}`);
        f.converge.push(performance.now() - t0);
        const present = (worldProblem(shop.p.dir, YAML_ENVS, { deployed: ['dev'] }) as { created: string[] }).created.includes(name);
        if (present) {
          count(f, 'present');
          assert.equal((await shop.get(host, '/items')).status, 200, `${name} is there but does not serve (seed ${SEED})`);
        } else {
          assert.notEqual(said.code, 0, `kiln env create said ${name} was made, but it is gone (seed ${SEED})\n${said.stdout}\n--- server\n${shop.server.output().slice(-3000)}`);
          count(f, 'absent, re-run');
          assert.match(dig(host), /status: NXDOMAIN/);
          await shop.p.kiln(createArgs(name)); // the same command makes it
          await settle(`${name} after re-running env create`);
          assert.equal((await shop.get(host, '/items')).status, 200);
        }

        // Destroy it with a kill too.
        const dLaunched = performance.now();
        const d = shop.p.kiln(['env', 'destroy', name], { allowFail: true, timeoutMs: 60_000 });
        await randomMoment(dLaunched, destroyMs, () => lockRow(name), d);
        await killServer();
        fd.kills++;
        if ((await d).code === 0) fd.finished++;
        t0 = performance.now();
        shop.server = await shop.p.startServer();
        await settle(`convergence after env destroy kill ${i + 1}`);
        fd.converge.push(performance.now() - t0);
        if ((worldProblem(shop.p.dir, YAML_ENVS, { deployed: ['dev'] }) as { created: string[] }).created.includes(name)) {
          count(fd, 'untouched, re-run');
          await shop.p.kiln(['env', 'destroy', name]);
          await settle(`${name} after re-running env destroy`);
        } else count(fd, 'absent');
        assert.match(dig(host), /status: NXDOMAIN/);
        assert.ok((await shop.get(host, '/items')).status >= 400);
      }
    });
  });

  test('rebuild --deploy: the side-by-side environment never stays; re-running deploys', { timeout: 10 * 60_000 }, async () => {
    const serverJs = path.join(shop.p.dir, 'apps', 'api', 'server.js');
    const change = (i: number): void => fs.appendFileSync(serverJs, `\n// chaos rebuild ${i}\n`);
    const noSide = (created: string[]): string | null => (created.some((e) => e.startsWith('dev-rebuild-')) ? `side-by-side left: ${created.join(',')}` : null);
    const lastRelease = (): string => {
      const db = new Database(path.join(kilnDir(), 'state.db'), { readonly: true });
      try {
        return (db.prepare('SELECT name FROM releases ORDER BY number DESC LIMIT 1').get() as { name: string }).name;
      } finally {
        db.close();
      }
    };
    await phase('rebuild', async (f) => {
      change(-1);
      const ms = await timed(['rebuild', '--deploy', 'dev']);
      for (let i = 0; i < OPS; i++) {
        change(i);
        const killCliNotServer = r.int(2) === 0;
        const run = shop.p.kiln(['rebuild', '--deploy', 'dev'], { allowFail: true, timeoutMs: 120_000 });
        await sleep(r.int(Math.round(ms)));
        let t0 = performance.now();
        if (killCliNotServer) {
          if (killCli(['rebuild'])) f.kills++;
          await run;
          t0 = performance.now();
        } else {
          await killServer();
          f.kills++;
          await run;
          t0 = performance.now();
          shop.server = await shop.p.startServer();
        }
        count(f, killCliNotServer ? 'CLI killed' : 'control plane killed');
        await settle(`convergence after rebuild kill ${i + 1}`, noSide);
        f.converge.push(performance.now() - t0);
        const again = await shop.p.kiln(['rebuild', '--deploy', 'dev'], { allowFail: true, timeoutMs: 120_000 });
        assert.equal(again.code, 0, `re-running the rebuild failed (seed ${SEED}):\n${again.stderr.slice(-3000)}`);
        await settle(`the re-run rebuild ${i + 1}`, noSide);
        const st = await shop.status();
        assert.equal(st.lastDeployment?.release, lastRelease(), 'dev runs the newest release');
      }
    });
  });

  test('data migrate and data replica: killed CLI, never a half-applied entry or half-made store', { timeout: 10 * 60_000 }, async () => {
    const changelog = path.join(shop.p.dir, 'db', 'orders');
    for (let b = 1; b <= BULK; b++) {
      fs.writeFileSync(
        path.join(changelog, `${String(3 + b).padStart(4, '0')}_bulk_${b}.sql`),
        `CREATE TABLE bulk_${b} (x INTEGER NOT NULL);\nINSERT INTO bulk_${b} WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${BULK_ROWS}) SELECT x FROM c;\n`,
      );
    }
    const head = 3 + BULK;
    const dbFile = path.join(kilnDir(), 'data', 'scratch', 'orders.db');
    const position = async (): Promise<number> => (JSON.parse((await shop.p.kiln(['data', 'status', 'orders', '--env', 'scratch', '--json'])).stdout) as { position: number }).position;
    /** Every applied bulk entry whole (its table has every row), none beyond the position. */
    const entriesWhole = (pos: number): void => {
      const db = new Database(dbFile, { readonly: true });
      try {
        assert.equal((db.pragma('integrity_check', { simple: true }) as string), 'ok');
        for (let b = 1; b <= BULK; b++) {
          const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = ?`).get(`bulk_${b}`) !== undefined;
          assert.equal(exists, 3 + b <= pos, `bulk_${b} at position ${pos} (seed ${SEED})`);
          if (exists) assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM bulk_${b}`).get() as { n: number }).n, BULK_ROWS);
        }
      } finally {
        db.close();
      }
    };
    const removeStore = (): void => {
      for (const s of ['', '-wal', '-shm']) fs.rmSync(dbFile + s, { force: true });
    };
    const migrate = ['data', 'migrate', 'orders', '--env', 'scratch'];
    const killDuring = async (args: string[], ms: number, started: () => boolean, run: Promise<unknown>, launched: number): Promise<number> => {
      await randomMoment(launched, ms, started, run);
      return killCli(args);
    };
    const temps = (): string[] => (fs.existsSync(path.dirname(dbFile)) ? fs.readdirSync(path.dirname(dbFile)).filter((n) => n.includes('.tmp-')) : []);
    await phase('data migrate', async (f) => {
      removeStore();
      const ms = await timed(migrate);
      for (let i = 0; i < OPS; i++) {
        removeStore();
        const launched = performance.now();
        const run = shop.p.kiln(migrate, { allowFail: true });
        if (await killDuring(['data', 'migrate'], ms, () => fs.existsSync(dbFile), run, launched)) f.kills++;
        if ((await run).code === 0) f.finished++;
        if (fs.existsSync(dbFile)) {
          const pos = await position();
          entriesWhole(pos);
          count(f, `killed at position ${pos}`);
        } else count(f, 'killed before the store existed');
        const t0 = performance.now();
        const again = await shop.p.kiln(migrate);
        f.converge.push(performance.now() - t0);
        assert.doesNotMatch(again.stderr, /waiting for the migration lock/, 'a dead migrator\'s lock is taken over at once');
        assert.equal(await position(), head);
        entriesWhole(head);
      }
    });
    await shop.p.kiln(['data', 'snapshot', 'orders', '--env', 'dev']);
    const replica = ['data', 'replica', 'orders', '--from', 'dev', '--env', 'scratch', '--replace'];
    await phase('data replica', async (f) => {
      const ms = await timed(replica);
      for (let i = 0; i < OPS; i++) {
        const launched = performance.now();
        const run = shop.p.kiln(replica, { allowFail: true });
        if (await killDuring(['data', 'replica'], ms, () => temps().length > 0, run, launched)) f.kills++;
        if ((await run).code === 0) f.finished++;
        count(f, temps().length ? 'killed with its temporary made' : 'killed before its temporary');
        // The old store (at the head) or the complete new one (at the head): never half of one.
        assert.equal(await position(), head);
        entriesWhole(head);
        const t0 = performance.now();
        await shop.p.kiln(replica);
        f.converge.push(performance.now() - t0);
        assert.deepEqual(temps(), [], 'a killed replica\'s temporary is removed by the next one');
        entriesWhole(head);
      }
    });
    await settle('after the data part');
  });

  test('figures: zero failed requests on dev through every kill', async (t) => {
    const [a, w] = [await api.stop(), await web.stop()];
    for (const [op, f] of Object.entries(figures)) {
      const outcomes = Object.entries(f.outcomes).map(([k, n]) => `${n} ${k}`).join(', ');
      t.diagnostic(
        `${op}: ${f.kills} kills (${f.finished} finished first; ${outcomes || '-'}), ` +
          `${f.converge.length ? `converged/completed after: median ${median(f.converge).toFixed(0)} ms, max ${Math.max(...f.converge).toFixed(0)} ms` : 'no convergence measured'}, ` +
          (f.sharedWith ? `requests counted with ${f.sharedWith}` : `requests ${f.served} served, ${f.failed} failed`),
      );
    }
    t.diagnostic(`all: api ${a.total} served, ${a.failed} failed; web ${w.total} served, ${w.failed} failed (seed ${SEED}; replay with KILN_CHAOS_SEED=${SEED})`);
    assert.equal(a.failed, 0, a.errors.join('\n'));
    assert.equal(w.failed, 0, w.errors.join('\n'));
  });

  test('kiln down takes the deploy lock: a deploy or down meanwhile is refused, naming the holder; a dead holder never blocks', async () => {
    // A down in progress, as the lock row it writes: owned by a live process (this test).
    const state = new Database(path.join(kilnDir(), 'state.db'));
    state.pragma('busy_timeout = 5000');
    const since = new Date().toISOString();
    const hold = (owner: string): void =>
      void state.prepare('INSERT OR REPLACE INTO deploy_locks (env, owner, operation, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)').run('dev', owner, 'down', since, Date.now() + 60_000);
    try {
      hold(`${process.pid}:${processStartTime(process.pid)}:test`);
      const groups = actives();
      const refused = new RegExp(`a down of dev is in progress: locked by pid ${process.pid} \\(down\\) since ${since.replace(/[.]/g, '\\.')}`);
      const deploy = await shop.p.kiln(['deploy', 'r1', '--env', 'dev'], { allowFail: true });
      assert.equal(deploy.code, 1);
      assert.match(deploy.stderr, refused);
      assert.deepEqual(actives(), groups, 'the refused deploy changed nothing');

      await killServer(); // from here on, kiln down works on .kiln/ itself
      const servers = (worldProblem(shop.p.dir, YAML_ENVS, { deployed: ['dev'] }) as { servers: number }).servers;
      const down = await shop.p.kiln(['down', '--env', 'dev'], { allowFail: true });
      assert.equal(down.code, 1, down.stderr);
      assert.match(down.stderr, refused);
      assert.deepEqual(actives(), groups, 'the refused down changed nothing');
      assert.equal((worldProblem(shop.p.dir, YAML_ENVS, { deployed: ['dev'] }) as { servers: number }).servers, servers);

      // The holder killed (a pid that no longer runs): its lock does not block.
      const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      hold(`${dead}:1:test`);
      await shop.p.kiln(['down', '--env', 'dev']);
      assert.ok(Object.values(actives()).every((g) => g === null), 'dev is down');
      assert.deepEqual(state.prepare('SELECT * FROM deploy_locks').all(), [], 'the down released its lock');
      const w = worldProblem(shop.p.dir, YAML_ENVS, { deployed: [] });
      assert.equal(typeof w, 'object', String(w));
      assert.equal((w as { servers: number }).servers, 0);
    } finally {
      state.close();
    }
  });
});
