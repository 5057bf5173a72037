// `kiln env list`: every environment (kiln.yaml's and the created ones) with what runs in it,
// read straight from state.db like the build side's list commands (no control plane needed).
import type { ProjectSpec } from '../spec/types.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { listCreatedEnvironments } from './registry.js';
import { formatTable } from '../util/table.js';

export interface EnvSummary {
  name: string;
  /** "kiln.yaml", or "created" (kiln env create). */
  origin: 'kiln.yaml' | 'created';
  runtime: string;
  like?: string;
  createdWith?: string;
  dataFrom?: string | null;
  /** The last deploy or rollback and how it ended. */
  lastDeployment: { release: string; state: string; kind: string } | null;
  clusters: Array<{ name: string; active: string | null; release: string | null; healthy: number }>;
}

export function listEnvironments(spec: ProjectSpec, state: RuntimeState): EnvSummary[] {
  const created = listCreatedEnvironments(state.db);
  const rows: EnvSummary[] = [];
  const describe = (name: string): Pick<EnvSummary, 'lastDeployment' | 'clusters'> => {
    const last = state.lastDeployment(name);
    return {
      lastDeployment: last ? { release: last.release, state: last.state, kind: last.kind } : null,
      clusters: state.clusters(name).map((c) => {
        const g = c.active_group ? state.group(c.active_group) : undefined;
        return { name: c.name, active: c.active_group, release: g?.release ?? null, healthy: g ? state.servers({ group: g.name, states: ['healthy'] }).length : 0 };
      }),
    };
  };
  for (const e of Object.values(spec.environments)) {
    if (created.some((c) => c.name === e.name)) continue;
    rows.push({ name: e.name, origin: 'kiln.yaml', runtime: e.runtime, ...describe(e.name) });
  }
  for (const c of created) {
    rows.push({ name: c.name, origin: 'created', runtime: c.definition.runtime, like: c.like, createdWith: c.release, dataFrom: c.dataFrom, ...describe(c.name) });
  }
  return rows;
}

/** One row per environment: what serves in it (the active groups' releases) and how it was made. */
export function formatEnvList(list: EnvSummary[]): string {
  const rows = list.map((e) => {
    const serving = [...new Set(e.clusters.flatMap((c) => (c.release ? [c.release] : [])))];
    const healthy = e.clusters.reduce((n, c) => n + c.healthy, 0);
    const how = e.origin === 'created' ? `created with ${e.createdWith}, like ${e.like}${e.dataFrom ? `, data from ${e.dataFrom}` : ''}` : 'kiln.yaml';
    const last = e.lastDeployment ? `${e.lastDeployment.kind} ${e.lastDeployment.release} ${e.lastDeployment.state}` : '-';
    return [e.name, e.runtime, serving.join(',') || '-', e.clusters.length ? `${e.clusters.length} (${healthy} healthy servers)` : '-', last, how];
  });
  return formatTable(['ENV', 'RUNTIME', 'SERVES', 'CLUSTERS', 'LAST', 'FROM'], rows);
}
