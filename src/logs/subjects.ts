// What `kiln logs` may name: an environment, cluster, build (server group) or server that has
// lines in the store or is known to the run side (state.db, kiln.yaml). Naming anything else is
// an error listing what exists, not an empty answer that looks like a quiet server (issue 13).
import { KilnError } from '../errors.js';
import type { LogFilter } from './query.js';
import type { LogStore } from './store.js';
import type { RuntimeState } from '../store/runtime-state.js';

export interface KnownSubjects {
  envs: string[];
  clusters: Array<{ name: string; env: string }>;
  groups: Array<{ name: string; cluster: string }>;
  servers: Array<{ name: string; group: string; cluster: string; env: string }>;
}

export const NO_SUBJECTS: KnownSubjects = { envs: [], clusters: [], groups: [], servers: [] };

/** Every environment, cluster, group and server that has lines in the store. */
export function subjectsInStore(store: LogStore): KnownSubjects {
  const rows = store.db.prepare('SELECT DISTINCT env, cluster, grp, server FROM tags').all() as Array<{ env: string; cluster: string; grp: string; server: string }>;
  return {
    envs: rows.map((r) => r.env),
    clusters: rows.map((r) => ({ name: r.cluster, env: r.env })),
    groups: rows.map((r) => ({ name: r.grp, cluster: r.cluster })),
    servers: rows.map((r) => ({ name: r.server, group: r.grp, cluster: r.cluster, env: r.env })),
  };
}

export function mergeSubjects(...all: KnownSubjects[]): KnownSubjects {
  return {
    envs: all.flatMap((k) => k.envs),
    clusters: all.flatMap((k) => k.clusters),
    groups: all.flatMap((k) => k.groups),
    servers: all.flatMap((k) => k.servers),
  };
}

const MAX_LISTED = 20;

/** "a, b, c" (sorted, unique, at most MAX_LISTED), or `none` when there are none. */
function listing(names: string[], none: string): string {
  const u = [...new Set(names.filter(Boolean))].sort();
  if (!u.length) return none;
  return u.length > MAX_LISTED ? `${u.slice(0, MAX_LISTED).join(', ')} and ${u.length - MAX_LISTED} more` : u.join(', ');
}

/** Throws when the filter names an environment, cluster, build or server that `known` lacks. */
export function checkSubjects(f: LogFilter, known: KnownSubjects): void {
  if (f.env !== undefined && !known.envs.includes(f.env)) {
    throw new KilnError('ENV_NOT_FOUND', `no environment "${f.env}"`, { location: { flag: '--env' }, hint: `environments: ${listing(known.envs, 'none yet')}` });
  }
  const clusters = known.clusters.filter((c) => f.env === undefined || c.env === f.env);
  if (f.cluster !== undefined && !clusters.some((c) => c.name === f.cluster)) {
    throw new KilnError('CLUSTER_NOT_FOUND', `no cluster "${f.cluster}"${f.env !== undefined ? ` in ${f.env}` : ''}`, {
      hint: `clusters: ${listing(clusters.map((c) => c.name), 'none yet (nothing was deployed)')}`,
    });
  }
  if (f.group !== undefined && !known.groups.some((g) => g.name === f.group)) {
    const builds = known.groups.filter((g) => g.cluster === f.cluster).map((g) => g.name.slice((f.cluster ?? '').length + 1));
    const build = f.cluster !== undefined && f.group.startsWith(`${f.cluster}-`) ? f.group.slice(f.cluster.length + 1) : f.group;
    throw new KilnError('CLUSTER_NOT_FOUND', `${f.cluster ?? 'the cluster'} has no build ${build}`, { location: { flag: '--build' }, hint: `builds: ${listing(builds, 'none')}` });
  }
  if (f.server !== undefined) {
    const servers = known.servers.filter((s) => (f.env === undefined || s.env === f.env) && (f.cluster === undefined || s.cluster === f.cluster) && (f.group === undefined || s.group === f.group));
    if (!servers.some((s) => s.name === f.server)) {
      const where = f.group ?? f.cluster ?? f.env;
      throw new KilnError('SERVER_NOT_FOUND', `no server "${f.server}"${where !== undefined ? ` in ${where}` : ''}`, {
        location: { flag: '--server' },
        hint: `servers: ${listing(servers.map((s) => s.name), 'none')}`,
      });
    }
  }
}

/** What the run side knows: kiln.yaml's environments and every cluster, group and server in state.db. */
export function subjectsInState(state: RuntimeState, envs: readonly string[]): KnownSubjects {
  const clusters = state.clusters();
  const envOf = new Map(clusters.map((c) => [c.name, c.env]));
  const groups = state.groups();
  const clusterOf = new Map(groups.map((g) => [g.name, g.cluster]));
  return {
    envs: [...envs, ...clusters.map((c) => c.env)],
    clusters: clusters.map((c) => ({ name: c.name, env: c.env })),
    groups: groups.map((g) => ({ name: g.name, cluster: g.cluster })),
    servers: state.servers().map((s) => {
      const cluster = clusterOf.get(s.group_name) ?? '';
      return { name: s.name, group: s.group_name, cluster, env: envOf.get(cluster) ?? '' };
    }),
  };
}
