// Chaos (issue 7): deploys in a row under continuous load; during each, the control plane is
// killed (SIGKILL) at a random moment and restarted, and sometimes a random server is killed too.
// Promised: not one failed client request, and after each restart the environment converges to
// exactly one active group per cluster, every live server row backed by its process and no
// process without a row (no orphans, no duplicates). Time to converge is measured from the
// restart. KILN_CHAOS_DEPLOYS sets the number of deploys (the full run is 30); the
// default keeps CI under about three minutes. The random moments come from a seed printed in the
// summary; KILN_CHAOS_SEED replays a run (without it every run explores new moments).
// Kills during the other multi-step operations: chaos-ops.test.ts. Once per proxy engine.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { rng } from '../../src/util/fuzzkit.js';
import { chaosSeed, median } from './lib/consistency.js';
import { startLoad, waitFor, sleep } from './lib/load.js';
import { setupShop, processesMatching, type Shop } from './lib/shop.js';
import { PROXY_ENGINES, type ProxyEngine } from '../../src/spec/types.js';
import { withEngine } from './lib/engines.js';

const DEPLOYS = Number(process.env.KILN_CHAOS_DEPLOYS ?? 30);

interface Converged {
  clusters: number;
  servers: number;
}

/** Why not converged yet (a string), or what converged. Read straight from state.db and /proc. */
function converged(dir: string, env: string): Converged | string {
  const db = new Database(path.join(dir, '.kiln', 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const clusters = db.prepare('SELECT name, active_group FROM clusters WHERE env = ?').all(env) as Array<{ name: string; active_group: string | null }>;
    let servers = 0;
    const rowPids = new Set<number>();
    for (const c of clusters) {
      const groups = db.prepare(`SELECT name, state, replicas FROM server_groups WHERE cluster = ? AND state IN ('creating', 'active', 'draining', 'disabled')`).all(c.name) as Array<{ name: string; state: string; replicas: number }>;
      const active = groups.filter((g) => g.state === 'active');
      if (active.length !== 1) return `${c.name}: ${active.length} active groups`;
      if (groups.some((g) => g.state === 'creating')) return `${c.name}: a group is still creating`;
      if (c.active_group !== active[0]!.name) return `${c.name}: routes to ${c.active_group}, active is ${active[0]!.name}`;
      const healthy = db.prepare(`SELECT COUNT(*) AS n FROM servers WHERE group_name = ? AND state = 'healthy'`).get(active[0]!.name) as { n: number };
      if (healthy.n !== active[0]!.replicas) return `${active[0]!.name}: ${healthy.n}/${active[0]!.replicas} healthy`;
      for (const g of groups) {
        const rows = db.prepare(`SELECT name, pid, state FROM servers WHERE group_name = ? AND state IN ('starting', 'healthy', 'unhealthy')`).all(g.name) as Array<{ name: string; pid: number | null }>;
        for (const r of rows) if (r.pid) rowPids.add(r.pid);
        servers += rows.length;
      }
    }
    const procs = processesMatching(`${dir}/.kiln/logs/`);
    const orphans = procs.filter((p) => !rowPids.has(p));
    const missing = [...rowPids].filter((p) => !procs.includes(p));
    if (orphans.length || missing.length) return `processes ${procs.length} vs rows ${rowPids.size}: orphans ${orphans.join(',') || '-'}, missing ${missing.join(',') || '-'}`;
    return { clusters: clusters.length, servers };
  } finally {
    db.close();
  }
}

const SEED = chaosSeed();

for (const engine of PROXY_ENGINES) suite(engine);

function suite(engine: ProxyEngine): void {
describe(`chaos: control plane and server kills during deploys (proxy engine ${engine})`, () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop({ edit: withEngine(engine) });
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test(`${DEPLOYS} deploys, each with the control plane killed mid-way: zero failed requests, convergence after each restart`, { timeout: 30 * 60_000 }, async (t) => {
    const r2 = await shop.releaseApi('2.0.0');
    const releases = ['r1', r2];
    const r = rng(SEED);
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 6 });
    const web = startLoad({ url: shop.url('/'), host: 'web-http-dev.shop.test', mix: 'both', concurrency: 2 });
    const times: number[] = [];
    let deployMs = 0;
    const outcomes = { finished: 0, interrupted: 0, serverKills: 0 };
    try {
      await waitFor(() => load.stats().total >= 100, { what: 'load before the first deploy' });
      // How long an uninterrupted deploy takes, to spread the kills over it.
      const d0 = performance.now();
      await shop.p.kiln(['deploy', releases[1]!, '--env', 'dev']);
      deployMs = performance.now() - d0;
      releases.reverse();
      for (let i = 0; i < DEPLOYS; i++) {
        const release = releases[(i + 1) % 2]!;
        const deploy = shop.p.kiln(['deploy', release, '--env', 'dev'], { allowFail: true, timeoutMs: 120_000 });
        // A random moment in the deploy: spread over how long deploys take here (the CLI's start,
        // the new group's start and health checks, the switch, the drain).
        await sleep(r.int(Math.max(300, Math.round(deployMs))));
        if (r.int(3) === 0) {
          const pids = processesMatching(`${shop.p.dir}/.kiln/logs/dev/api-http-dev/`);
          if (pids.length) {
            process.kill(r.pick(pids), 'SIGKILL');
            outcomes.serverKills++;
          }
        }
        shop.server.kill('SIGKILL');
        await shop.server.exited;
        const result = await deploy;
        if (result.code === 0) outcomes.finished++;
        else outcomes.interrupted++;
        const t0 = performance.now();
        shop.server = await shop.p.startServer();
        let last: Converged | string = '';
        await waitFor(
          () => {
            last = converged(shop.p.dir, 'dev');
            return typeof last !== 'string';
          },
          { timeoutMs: 60_000, intervalMs: 25, what: `convergence after restart ${i + 1} (${String(last)})` },
        ).catch((e: Error) => {
          throw new Error(`${e.message} (seed ${SEED})\nlast: ${String(last)}\n--- server output\n${shop.server.output().slice(-4000)}`);
        });
        times.push(performance.now() - t0);
      }
      await sleep(500); // a few reconciler ticks: a duplicate would show up now
      const final = converged(shop.p.dir, 'dev');
      assert.equal(typeof final, 'object', String(final));
    } finally {
      const report = await load.stop();
      const webReport = await web.stop();
      t.diagnostic(
        `${DEPLOYS} deploys (an uninterrupted one takes ~${deployMs.toFixed(0)} ms; ${outcomes.finished} finished before the kill, ${outcomes.interrupted} interrupted), ${outcomes.serverKills} server kills; ` +
          `requests: api ${report.total} served, ${report.failed} failed; web ${webReport.total} served, ${webReport.failed} failed; ` +
          `convergence after restart: median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (seed ${SEED}; replay with KILN_CHAOS_SEED=${SEED})`,
      );
      assert.equal(report.failed, 0, report.errors.join('\n'));
      assert.equal(webReport.failed, 0, webReport.errors.join('\n'));
    }
  });
});
}
