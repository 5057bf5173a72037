// `kiln rebuild --deploy <env>`: the new release goes to a fresh side-by-side environment first
// (<env>-rebuild-<n>, created like <env>, with a replica of <env>'s data), and only when every
// cluster there is healthy to <env> itself, where only the clusters that changed get new groups.
// The side-by-side environment is destroyed in every case. Any failure before the target's own
// deploy leaves the target exactly as it was: nothing was sent to it.
import { KilnError } from '../errors.js';
import type { ApiClient, ProgressEvent } from '../server/client.js';
import type { StatusView } from '../server/status.js';
import type { RuntimeState } from '../store/runtime-state.js';
import type { RebuildEvent } from './world.js';
import { getCreatedEnvironment } from '../env/registry.js';
import { DEPLOY_LOCK_TTL_MS, DeployLocks, lockOwnerId } from '../store/deploy-lock.js';
import { REBUILD_SIDE, rebuildKey } from '../server/env-api.js';

export interface RebuildDeployResult {
  env: string;
  sideBySide: string;
  release: string;
  deployed: boolean;
  /** Clusters of the target that got a new group. */
  switched: string[];
}

export function sideBySideName(env: string, releaseNumber: number): string {
  return `${env}-rebuild-${releaseNumber}`;
}

export async function deployRebuild(
  client: ApiClient,
  state: RuntimeState,
  target: string,
  release: { name: string; digest: string },
  emit: (e: RebuildEvent) => void,
): Promise<RebuildDeployResult> {
  const number = Number(release.name.slice(1));
  const side = sideBySideName(target, number);
  const relay = (e: ProgressEvent): void => emit({ kind: e.kind, stream: `env/${side}`, message: e.message });
  const last = state.lastDeployment(target);
  if (last && last.release === release.name && last.state === 'succeeded') {
    emit({ kind: 'deploy.skipped', stream: `env/${target}`, message: `${target} already runs ${release.name}: nothing to deploy` });
    return { env: target, sideBySide: side, release: release.name, deployed: false, switched: [] };
  }
  // This process's intent, in state.db before the side-by-side environment exists: if it dies
  // (kill -9) the control plane sees the row's owner gone and destroys the environment. The row
  // is released only once the environment is gone, so a failed destroy is finished there too.
  const locks = new DeployLocks(state.db);
  const owner = lockOwnerId();
  locks.acquire(rebuildKey(side), owner, REBUILD_SIDE);
  const renew = setInterval(() => locks.renew(rebuildKey(side), owner), DEPLOY_LOCK_TTL_MS / 3);
  renew.unref();
  const destroySide = async (): Promise<void> => {
    await client.stream('/v1/env/destroy', { name: side }, relay).catch(() => undefined);
  };
  try {
    return await sideBySideThenTarget(client, state, target, side, release, last !== undefined, emit, relay, destroySide);
  } finally {
    clearInterval(renew);
    if (!getCreatedEnvironment(state.db, side)) locks.release(rebuildKey(side), owner);
  }
}

async function sideBySideThenTarget(
  client: ApiClient,
  state: RuntimeState,
  target: string,
  side: string,
  release: { name: string; digest: string },
  ranBefore: boolean,
  emit: (e: RebuildEvent) => void,
  relay: (e: ProgressEvent) => void,
  destroySide: () => Promise<void>,
): Promise<RebuildDeployResult> {
  // A side-by-side environment left by an interrupted rebuild goes first.
  if (getCreatedEnvironment(state.db, side)) await destroySide();
  emit({ kind: 'side.create', stream: `env/${side}`, message: `${side}: ${release.name} side by side with ${target}` });
  try {
    // Data: a fresh snapshot of the target (when it has run anything), plus the release's changelog.
    await client.stream('/v1/env/create', { name: side, release: release.name, like: target, ...(ranBefore ? { dataFrom: target, freshSnapshot: true } : {}) }, relay);
    const st = await client.get<StatusView>(`/v1/status?env=${encodeURIComponent(side)}`);
    const sick = st.clusters.filter((c) => {
      const g = c.groups.find((x) => x.name === c.active);
      return !g || g.healthy < g.replicas;
    });
    if (sick.length) {
      throw new KilnError('DEPLOY_FAILED', `${release.name} is not healthy in ${side}: ${sick.map((c) => c.name).join(', ')}`, {
        hint: `${target} was not touched`,
      });
    }
    emit({ kind: 'side.healthy', stream: `env/${side}`, message: `${side}: every cluster healthy; deploying ${release.name} to ${target}` });
  } catch (e) {
    await destroySide();
    if (e instanceof KilnError) {
      throw new KilnError(e.code, `${e.message} (in the side-by-side environment ${side}; ${target} is unchanged)`, {
        hint: e.hint ?? `${target} was not touched`,
        details: e.details,
      });
    }
    throw e;
  }
  try {
    const out = await client.stream<{ groups?: Array<{ cluster: string }> }>('/v1/deploy', { env: target, release: release.name, digest: release.digest }, (e) =>
      emit({ kind: e.kind, stream: `env/${target}`, message: e.message }),
    );
    return { env: target, sideBySide: side, release: release.name, deployed: true, switched: (out.groups ?? []).map((g) => g.cluster) };
  } finally {
    await destroySide();
  }
}
