// The embedded proxy's counters (routes.ts ProxyStats) from HAProxy's own (`show stat`, `show
// info`): a pure function, so a test asserts what each HAProxy column becomes. In flight is
// `scur` (streams on a server now); answered and 5xx per group are the servers' `hrsp_*`; a
// cluster's fallbacks are the sessions its backup copies took (`stot`). HAProxy keeps no latency
// histogram, so `latency` is empty (the canary gates, which need it, are not run on this engine).
import type { GroupCounts, ProxyStats, RouteTable } from '../routes.js';
import { kilnServerOf } from './layout.js';
import type { StatRow } from './runtime-api.js';

const ANSWERED = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'];

export function statsOf(rows: readonly StatRow[], info: Readonly<Record<string, string>>, table: RouteTable): ProxyStats {
  const groupOf = new Map(table.clusters.flatMap((c) => c.groups.flatMap((g) => g.backends.map((b) => [b.server, { group: g.name, cluster: c.name }] as const))));
  const n = (r: StatRow, k: string): number => Number(r[k] || 0);
  const inFlight: Record<string, number> = {};
  const fallbacks: Record<string, number> = {};
  const groups: Record<string, GroupCounts> = {};
  let requests = 0;
  let failed = 0;
  for (const r of rows) {
    if (r.svname === 'FRONTEND') {
      requests += n(r, 'req_tot');
      continue;
    }
    if (r.svname === 'BACKEND') {
      // Requests HAProxy answered itself for want of a server: no connection, or a broken answer.
      failed += n(r, 'econ') + n(r, 'eresp');
      continue;
    }
    const { server, backup } = kilnServerOf(r.svname ?? '');
    const at = groupOf.get(server);
    if (!at) continue;
    inFlight[at.group] = (inFlight[at.group] ?? 0) + n(r, 'scur');
    if (backup && n(r, 'stot') > 0) fallbacks[at.cluster] = (fallbacks[at.cluster] ?? 0) + n(r, 'stot');
    const g = (groups[at.group] ??= { answered: 0, errors5xx: 0, latency: [] });
    g.answered += ANSWERED.reduce((a, k) => a + n(r, k), 0);
    g.errors5xx += n(r, 'hrsp_5xx');
  }
  // Start_time_sec changes with every new worker (a restart or a reload): the counts start at 0 then.
  return { version: table.version, requests, failed, inFlight, tunnels: {}, fallbacks, groups, startedAt: Number(info.Start_time_sec ?? 0) * 1000 };
}
