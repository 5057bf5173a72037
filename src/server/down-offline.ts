// `kiln down` when no control plane runs: the same teardown a control plane does, straight on
// state, under the same deploy locks and the control plane's pid file.
import { rmSync } from 'node:fs';
import { teardown } from '../deploy/teardown.js';
import { loadSpec, findSpecFile } from '../spec/load.js';
import { openStore } from '../store/init.js';
import { RuntimeState } from '../store/runtime-state.js';
import { DEPLOY_LOCK_TTL_MS, DeployLocks, lockOwnerId } from '../store/deploy-lock.js';
import { runPaths } from './paths.js';
import { claimPidFile } from './pid-file.js';
import { dataPlaneFor } from './data-planes.js';
import { buildRouteTable } from './route-table.js';
import { runtimeLookup } from './runtimes.js';
import { ServerManager } from './server-manager.js';

/** `kiln down` when no control plane runs: the same teardown, straight on state. */
export async function downOffline(projectDir: string, env: string | undefined, log: (m: string) => void): Promise<{ groups: string[] }> {
  const spec = loadSpec(findSpecFile(projectDir));
  const store = openStore(spec.dir);
  const paths = runPaths(store.kilnDir);
  const state = new RuntimeState(store.db);
  // The same deploy lock a deploy, rollback or a control plane's down takes, for every environment
  // it stops, before anything changes: a second down (or a control plane started meanwhile) is
  // refused with who holds it and since when. All or none: a refusal releases what was taken.
  const locks = new DeployLocks(store.db);
  const owner = lockOwnerId();
  const envs = env ? [env] : [...new Set(state.clusters().map((c) => c.env))];
  const taken: string[] = [];
  const renew = setInterval(() => taken.forEach((e) => locks.renew(e, owner)), DEPLOY_LOCK_TTL_MS / 3);
  renew.unref();
  try {
    for (const e of envs) {
      locks.acquire(e, owner, 'down');
      taken.push(e);
    }
    claimPidFile(paths.serverPid);
  } catch (e) {
    clearInterval(renew);
    for (const t of taken) locks.release(t, owner);
    store.db.close();
    throw e;
  }
  try {
    const proxy = dataPlaneFor(spec.proxy, paths, log);
    const runtimes = runtimeLookup(spec, store.kilnDir);
    const servers = new ServerManager(state, (g) => runtimes(g.template.env, g.template.runtime ?? 'process'), paths);
    const pushRoutes = async (): Promise<void> => {
      if (!proxy.isRunning()) return; // it restores stale routes at start, then gets a fresh table
      state.raiseCounter('routes', await proxy.currentVersion());
      await proxy.push(buildRouteTable(state, spec.domain, state.nextCounter('routes'), spec.proxy.trustedProxies));
    };
    const r = await teardown({ state, servers, pushRoutes }, env, (_k, m) => log(m));
    if (!env) await proxy.stop();
    return r;
  } finally {
    clearInterval(renew);
    for (const t of taken) locks.release(t, owner);
    rmSync(paths.serverPid, { force: true });
    store.db.close();
  }
}
