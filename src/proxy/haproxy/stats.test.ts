// HAProxy's counters as the control plane reads them: in flight per group (both copies of a
// server, and its preview backend), fallbacks per cluster from the backup copies, answers per group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteTable } from '../routes.js';
import { statsOf } from './stats.js';

const table: RouteTable = {
  version: 9,
  clusters: [
    {
      name: 'api',
      hosts: ['api'],
      active: 'api-v002',
      fallback: 'api-v001',
      groups: [
        { name: 'api-v001', hosts: [], backends: [{ server: 'api-v001-1', host: '127.0.0.1', port: 1 }] },
        { name: 'api-v002', hosts: [], backends: [{ server: 'api-v002-1', host: '127.0.0.1', port: 2 }] },
      ],
    },
  ],
};
const row = (pxname: string, svname: string, v: Record<string, number>) => ({ pxname, svname, ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) });

test('show stat becomes the proxy stats: in flight, fallbacks, answers and 5xx per group, requests', () => {
  const s = statsOf(
    [
      row('kiln_main', 'FRONTEND', { req_tot: 120 }),
      row('kiln_port_api', 'FRONTEND', { req_tot: 30 }),
      row('c_api', 'api-v001-1', { scur: 2, stot: 90, hrsp_2xx: 90 }),
      row('c_api', 'api-v001-1_fallback', { scur: 0, stot: 4, hrsp_2xx: 4 }),
      row('c_api', 'api-v002-1', { scur: 3, stot: 50, hrsp_2xx: 45, hrsp_5xx: 5 }),
      row('p_api_1', 'api-v002-1', { scur: 1, stot: 1, hrsp_2xx: 1 }),
      row('c_api', 'api-v000-1', { scur: 7 }),
      row('c_api', 'BACKEND', { econ: 1, eresp: 2 }),
    ],
    { Start_time_sec: '1796410295' },
    table,
  );
  assert.deepEqual(s, {
    version: 9,
    requests: 150,
    failed: 3,
    inFlight: { 'api-v001': 2, 'api-v002': 4 },
    tunnels: {},
    fallbacks: { api: 4 },
    groups: { 'api-v001': { answered: 94, errors5xx: 0, latency: [] }, 'api-v002': { answered: 51, errors5xx: 5, latency: [] } },
    startedAt: 1796410295000,
  });
});
