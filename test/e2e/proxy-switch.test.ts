// `kill -9` of the proxy at the moment of a switch (issue 11, defect 10): right after the switch's
// route table landed in the proxy (it saves the table before it applies and answers it). The
// control plane restarts the proxy, reads the table back, and the deploy's outcome follows what
// is routed: it succeeds, and the previous group is drained and kept, the older one destroyed.
// Once per proxy engine: for HAProxy the kill is of its master (its workers exit with it) right
// after the switch's table was saved, before or while its runtime commands are applied.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { setupShop, type Shop } from './lib/shop.js';
import { serverProcesses } from '../../src/runtime/process/orphans.js';
import type { RouteTable } from '../../src/proxy/routes.js';
import { PROXY_ENGINES, type ProxyEngine } from '../../src/spec/types.js';
import { dataPlanePid, routesFile, routedTable, withEngine } from './lib/engines.js';

function groupStates(dir: string, cluster: string): Record<string, string> {
  const db = new Database(path.join(dir, '.kiln', 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT name, state FROM server_groups WHERE cluster = ? ORDER BY build').all(cluster) as Array<{ name: string; state: string }>;
    return Object.fromEntries(rows.map((r) => [r.name, r.state]));
  } finally {
    db.close();
  }
}

/** Resolves once the data plane's saved routes make `cluster` active on `group`; then it kill -9s the data plane. */
function killProxyWhenRouted(dir: string, engine: ProxyEngine, cluster: string, group: string, timeoutMs: number): Promise<number> {
  const file = routesFile(dir, engine);
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      try {
        const t = JSON.parse(fs.readFileSync(file, 'utf8')) as RouteTable;
        if (t.clusters.find((c) => c.name === cluster)?.active === group) {
          const pid = dataPlanePid(dir, engine)!;
          process.kill(pid, 'SIGKILL');
          return resolve(pid);
        }
      } catch {
        /* being replaced: read again */
      }
      if (Date.now() > deadline) return reject(new Error(`${cluster} never routed to ${group}`));
      setTimeout(poll, 1);
    };
    poll();
  });
}

for (const engine of PROXY_ENGINES) suite(engine);

function suite(engine: ProxyEngine): void {
describe(`the proxy killed at the switch (proxy engine ${engine})`, () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop({ edit: withEngine(engine) });
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('defect 10: the deploy succeeds once the restarted proxy routes the new group; drain and clean-up happen as usual', { timeout: 5 * 60_000 }, async () => {
    await shop.p.kiln(['deploy', await shop.releaseApi('2.0.0'), '--env', 'dev']);
    const r3 = await shop.releaseApi('3.0.0');
    const deploy = shop.p.kiln(['deploy', r3, '--env', 'dev'], { allowFail: true });
    const killed = await killProxyWhenRouted(shop.p.dir, engine, 'api-http-dev', 'api-http-dev-v003', 120_000);
    const r = await deploy;
    assert.equal(r.code, 0, `the deploy is reported as it is routed\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, new RegExp(`${r3} serves dev`));

    // Routed: through a new proxy process, to the new group.
    const proxy = dataPlanePid(shop.p.dir, engine);
    assert.notEqual(proxy, killed);
    assert.equal((await shop.get('api-http-dev.shop.test', '/items')).version, '3.0.0');
    const table = await routedTable(shop.p.dir, engine);
    const api = table.clusters.find((c) => c.name === 'api-http-dev')!;
    assert.equal(api.active, 'api-http-dev-v003');
    assert.deepEqual(api.groups.map((g) => g.name), ['api-http-dev-v002', 'api-http-dev-v003'], 'the destroyed group left the proxy');

    // Drained and kept, older destroyed: no pile-up of groups or processes.
    assert.deepEqual(groupStates(shop.p.dir, 'api-http-dev'), {
      'api-http-dev-v001': 'destroyed',
      'api-http-dev-v002': 'disabled',
      'api-http-dev-v003': 'active',
    });
    const st = await shop.status();
    assert.equal(st.lastDeployment?.state, 'succeeded');
    const running = serverProcesses(path.join(shop.p.dir, '.kiln')).map((p) => p.server).filter((s) => s.startsWith('api-http-dev'));
    assert.deepEqual(running.sort(), ['api-http-dev-v002-1', 'api-http-dev-v002-2', 'api-http-dev-v003-1', 'api-http-dev-v003-2']);
  });
});
}
