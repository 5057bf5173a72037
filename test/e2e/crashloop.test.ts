// A build that passes its health checks, takes traffic, then dies 2 s after each start: its group
// crash-loops (src/server/crash-loop.ts), restarts are paced by backoff, and since the previous
// group is still kept, Kiln switches the cluster back to it on its own. Clients see no failure.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startLoad, waitFor } from './lib/load.js';
import { setupShop, processesMatching, type Shop } from './lib/shop.js';
import type { StatusView } from '../../src/server/status.js';
import type { ProxyStats } from '../../src/proxy/routes.js';
import { unixRequest } from '../../src/util/unix-http.js';

const RUNS = Number(process.env.KILN_CRASHLOOP_RUNS ?? 3);

interface EventRow {
  id: number;
  at: string;
  kind: string;
  subject: string | null;
  message: string;
}

function events(dir: string, since: number): EventRow[] {
  const db = new Database(path.join(dir, '.kiln', 'state.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, at, kind, subject, message FROM events WHERE id > ? ORDER BY id').all(since) as EventRow[];
  } finally {
    db.close();
  }
}

/** The group `kiln deploy --json` switched api-http-dev to. */
async function deployedGroup(shop: Shop, release: string): Promise<string> {
  const res = await shop.p.kiln(['deploy', release, '--env', 'dev', '--json']);
  const outcome = JSON.parse(res.stdout) as { groups: Array<{ cluster: string; group: string }> };
  const g = outcome.groups.find((x) => x.cluster === 'api-http-dev');
  assert.ok(g, `the deploy switched no group of api-http-dev: ${res.stdout}`);
  return g.group;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

describe('crash loop after the switch', () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('a group that dies 2 s after every start is rolled back automatically: zero failed requests', { timeout: 10 * 60_000 }, async (t) => {
    // The bad build: its http servers answer /healthz, then exit 2 s after they start.
    const server = path.join(shop.p.dir, 'apps', 'api', 'server.js');
    fs.appendFileSync(server, `\nif (flags.mode === 'http') setTimeout(() => process.exit(3), 2000);\n`);
    const bad = await shop.releaseApi('2.0.0');
    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 8 });
    const toRollback: number[] = [];
    const startedPerRun: number[] = [];
    const badGroups: string[] = [];
    let report: Awaited<ReturnType<typeof load.stop>> | null = null;
    try {
      await waitFor(() => load.stats().total >= 100, { what: 'load before the deploy' });
      for (let run = 0; run < RUNS; run++) {
        const before = events(shop.p.dir, 0).at(-1)?.id ?? 0;
        const st0 = await shop.status();
        const good = st0.clusters.find((c) => c.name === 'api-http-dev')!.active!;
        // The deploy itself succeeds: every new server passed its health check before the switch.
        // The new group is read from the deploy's own result, not from status afterwards: the
        // deploy waits for the old group to drain, and on a loaded machine the bad servers can
        // die and be rolled back before it returns.
        const badGroup = await deployedGroup(shop, bad);
        assert.notEqual(badGroup, good);
        badGroups.push(badGroup);
        const st = await waitFor(
          async () => {
            const s = await shop.status();
            const c = s.clusters.find((x) => x.name === 'api-http-dev')!;
            const g = c.groups.find((x) => x.name === badGroup);
            return c.active === good && g?.state === 'failed' ? s : null;
          },
          { timeoutMs: 120_000, what: `${badGroup} rolled back to ${good}` },
        );
        const c = st.clusters.find((x) => x.name === 'api-http-dev')!;
        const failed = c.groups.find((g) => g.name === badGroup)!;
        assert.match(failed.failure ?? '', /crash loop .*rolled back to/, 'status says why and what happened');
        assert.match(failed.failure ?? '', /kiln logs/, 'and what to do');
        assert.equal(c.groups.find((g) => g.name === good)!.healthy, 2);
        // Its servers are stopped: no process of the failed group is left.
        await waitFor(() => processesMatching(`/${badGroup}-`, shop.p.dir).length === 0, { timeoutMs: 30_000, what: `${badGroup}'s processes gone` });
        const evs = events(shop.p.dir, before);
        const firstDeath = evs.find((e) => e.kind === 'server.dead' && e.subject?.startsWith(`${badGroup}-`));
        const switched = evs.find((e) => e.kind === 'cluster.switched' && /automatic rollback/.test(e.message));
        assert.ok(firstDeath && switched, evs.map((e) => `${e.kind}: ${e.message}`).join('\n'));
        toRollback.push(Date.parse(switched.at) - Date.parse(firstDeath.at));
        // Backoff: a crash loop is caught after a few restarts, not dozens.
        const started = evs.filter((e) => e.kind === 'server.replaced' && e.subject?.startsWith(`${badGroup}-`)).length;
        startedPerRun.push(started);
        assert.ok(started <= 3, `${started} replacement servers before the rollback`);
        const text = (await shop.p.kiln(['status', '--env', 'dev'])).stdout;
        assert.match(text, new RegExp(`${badGroup} .* failed[\\s\\S]*! ${badGroup}: crash loop`));
      }
      const n = load.stats().total;
      await waitFor(() => load.stats().total >= n + 500, { what: 'requests after the rollbacks' });
    } finally {
      report = await load.stop();
      t.diagnostic(
        `crash loop -> automatic rollback (first server death to switch): ${toRollback.map((x) => `${x} ms`).join(', ')}; median ${median(toRollback)} ms; ` +
          `replacement servers started per run: ${startedPerRun.join(', ')}; requests ${report.total}, failed ${report.failed}`,
      );
    }
    // Checked after the runs (a failure inside them must not be hidden by this). The proxy
    // retries a refused or reset GET on the group's other servers and, when every server of the
    // bad group is dead (before the reconciler has rolled it back), on the kept group: the
    // route table names it as the cluster's fallback.
    assert.deepEqual(report!.errors, [], `bad groups ${badGroups.join(', ')}`);
    assert.equal(report!.failed, 0);
    const st: StatusView = await shop.status();
    assert.equal(st.lastDeployment?.kind, 'rollback');
    // Requests the kept group served while the bad one had no server: status shows the proxy's
    // own count (only when there were some), in --json and in text.
    const sock = path.join(shop.p.dir, '.kiln', 'run', 'proxy.sock');
    const proxy = JSON.parse((await unixRequest(sock, 'GET', '/stats', { timeoutMs: 2000 })).body) as ProxyStats;
    const fallbacks = proxy.fallbacks['api-http-dev'];
    const shown = st.clusters.find((c) => c.name === 'api-http-dev')!;
    assert.equal(shown.fallbacks, fallbacks && fallbacks > 0 ? fallbacks : undefined);
    t.diagnostic(`requests served by the kept group (proxy fallbacks): ${fallbacks ?? 0}`);
    if (fallbacks) assert.match((await shop.p.kiln(['status', '--env', 'dev'])).stdout, new RegExp(`api-http-dev .*\\n  ! ${fallbacks} requests? served by the kept group`));
  });
});

describe('crash loop across a control-plane restart', () => {
  let shop: Shop;
  before(async () => {
    // This role's own crash-loop numbers: 4 failures in the window, restarts 1 s apart at first.
    shop = await setupShop({
      edit: (y) => {
        const from = 'health: { path: /healthz, grace: 10s }';
        assert.ok(y.includes(from), 'the example kiln.yaml changed: update this test');
        return y.replace(from, 'health: { path: /healthz, grace: 10s, crash-loop: { failures: 4, backoff: { initial: 1s } } }');
      },
    });
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('a control plane killed mid-loop continues the count after its restart and still rolls back', { timeout: 5 * 60_000 }, async () => {
    // Every server but the group's second dies 2 s after start (replacements get new numbers,
    // so they all die): the group never loses every server at once, and only the failure
    // count (4 here) can catch the loop.
    const server = path.join(shop.p.dir, 'apps', 'api', 'server.js');
    fs.appendFileSync(
      server,
      `\nif (flags.mode === 'http' && Number((/-v[0-9]+-([0-9]+)/.exec(String(flags['log-file'])) ?? [])[1]) !== 2) setTimeout(() => process.exit(3), 2000);\n`,
    );
    const bad = await shop.releaseApi('2.0.0');
    const good = (await shop.status()).clusters.find((c) => c.name === 'api-http-dev')!.active!;
    const badGroup = await deployedGroup(shop, bad);
    assert.notEqual(badGroup, good);
    const lost = (): EventRow[] =>
      events(shop.p.dir, 0).filter((e) => (e.kind === 'server.dead' || e.kind === 'server.failed') && (e.subject ?? '').startsWith(badGroup));
    await waitFor(() => lost().length >= 2, { timeoutMs: 60_000, what: `2 servers of ${badGroup} lost` });
    shop.server.kill('SIGKILL');
    await shop.server.exited;
    const beforeRestart = events(shop.p.dir, 0).at(-1)?.id ?? 0;
    const lostBefore = lost().length;
    assert.ok(lostBefore < 4, `${lostBefore} failures before the kill: no loop yet`);
    shop.server = await shop.p.startServer();
    const st = await waitFor(
      async () => {
        const s = await shop.status();
        const c = s.clusters.find((x) => x.name === 'api-http-dev')!;
        return c.active === good && c.groups.find((g) => g.name === badGroup)?.state === 'failed' ? c : null;
      },
      { timeoutMs: 120_000, what: `${badGroup} rolled back to ${good} after the restart` },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${events(shop.p.dir, 0).map((x) => `${x.kind} ${x.subject}: ${x.message}`).join('\n')}`);
    });
    const failed = st.groups.find((g) => g.name === badGroup)!;
    assert.match(failed.failure ?? '', /crash loop \(4 servers lost within 60 s/, 'the count went on from before the restart');
    const after = events(shop.p.dir, beforeRestart).filter((e) => e.kind === 'server.dead' && (e.subject ?? '').startsWith(badGroup));
    assert.equal(after.length, 4 - lostBefore, 'only the missing failures happened after the restart');
  });
});
