// The runtime-API batches Kiln sends HAProxy: a switch is state changes only (no reload), in an
// order that never leaves a cluster without a ready server; servers gone from the table go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteTable } from '../routes.js';
import { switchCommands, stateOfAdmin, type RunningServer } from './commands.js';
import { assignSlots, pauseEntries, previewEntries, reloadKey, serversOf } from './layout.js';

const group = (name: string, ports: number[]) => ({
  name,
  hosts: [name],
  backends: ports.map((port, i) => ({ server: `${name}-${i + 1}`, host: '127.0.0.1', port })),
});
const cluster = (active: string, fallback: string | undefined, groups: ReturnType<typeof group>[]): RouteTable => ({
  version: 1,
  clusters: [{ name: 'api', hosts: ['api'], port: 41000, active, ...(fallback ? { fallback } : {}), groups }],
});
/** What `show servers state` would say after HAProxy applied `t` (admin bits: 0 ready, 8 drain, 1 maint). */
const running = (t: RouteTable): RunningServer[] =>
  serversOf(t, new Map()).map((s) => ({ backend: s.backend, name: s.name, addr: s.host, port: s.port, adminState: s.state === 'ready' ? 0 : s.state === 'drain' ? 8 : 1 }));

/** Without preview slots: the tests of states and switches. */
const serversOf0 = (t: RouteTable) => serversOf(t, new Map());
const v1 = group('api-v001', [42001]);
const v2 = group('api-v002', [42002]);
const CHECK = 'check inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down';

test('a new group joins: its servers are added, drained (no traffic yet), their backup copies in maintenance', () => {
  assert.deepEqual(switchCommands(running(cluster('api-v001', undefined, [v1])), serversOf0(cluster('api-v001', undefined, [v1, v2]))), [
    `add server c_api/api-v002-1 127.0.0.1:42002 ${CHECK}`,
    'enable health c_api/api-v002-1',
    `add server c_api/api-v002-1_fallback 127.0.0.1:42002 backup ${CHECK}`,
    'enable health c_api/api-v002-1_fallback',
    'set server c_api/api-v002-1 state drain',
  ]);
});

test('the switch: the new group ready first, then the old one drained and made the fallback, in one batch', () => {
  const before = cluster('api-v001', undefined, [v1, v2]);
  const after = cluster('api-v002', 'api-v001', [v1, v2]);
  assert.deepEqual(switchCommands(running(before), serversOf0(after)), [
    'set server c_api/api-v002-1 state ready',
    'set server c_api/api-v001-1_fallback state ready',
    'set server c_api/api-v001-1 state drain',
  ]);
  assert.equal(reloadKey(before), reloadKey(after), 'no reload');
});

test('rollback: the kept group ready again, the rolled-back one drained and kept as the fallback', () => {
  const deployed = cluster('api-v002', 'api-v001', [v1, v2]);
  assert.deepEqual(switchCommands(running(deployed), serversOf0(cluster('api-v001', 'api-v002', [v1, v2]))), [
    'set server c_api/api-v001-1 state ready',
    'set server c_api/api-v002-1_fallback state ready',
    'set server c_api/api-v001-1_fallback state maint',
    'set server c_api/api-v002-1 state drain',
  ]);
});

test('a destroyed group leaves: maintenance, then delete; the same table twice sends nothing', () => {
  const t = cluster('api-v002', undefined, [v2]);
  assert.deepEqual(switchCommands(running(cluster('api-v002', 'api-v001', [v1, v2])), serversOf0(t)), [
    'set server c_api/api-v001-1 state maint',
    'del server c_api/api-v001-1',
    'set server c_api/api-v001-1_fallback state maint',
    'del server c_api/api-v001-1_fallback',
  ]);
  assert.deepEqual(switchCommands(running(t), serversOf0(t)), []);
});

test('admin state bits: forced or config maintenance is maint, forced drain is drain', () => {
  assert.equal(stateOfAdmin(0), 'ready');
  assert.equal(stateOfAdmin(1), 'maint');
  assert.equal(stateOfAdmin(5), 'maint');
  assert.equal(stateOfAdmin(8), 'drain');
});

test('the reload key: clusters, ports, hosts, maintenance and trusted proxies; not a pause (a map entry)', () => {
  const t = cluster('api-v001', undefined, [v1]);
  const c = t.clusters[0]!;
  assert.notEqual(reloadKey(t), reloadKey({ ...t, clusters: [{ ...c, port: 41001 }] }));
  assert.notEqual(reloadKey(t), reloadKey({ ...t, clusters: [{ ...c, maintenance: { page: 'x', retryAfterS: 1 } }] }));
  assert.notEqual(reloadKey(t), reloadKey({ ...t, trustedProxies: ['10.0.0.0/8'] }));
  const paused = { ...t, clusters: [{ ...c, hold: { until: 1700000000000 } }] };
  assert.equal(reloadKey(t), reloadKey(paused));
  assert.deepEqual(pauseEntries(paused), [['api', '1700000000000']]);
  assert.deepEqual(pauseEntries({ ...t, clusters: [{ ...c, hold: { until: 1 }, maintenance: { page: 'x', retryAfterS: 1 } }] }), [], 'maintenance wins');
  assert.deepEqual(switchCommands([], [], [{ file: '/k/pause.map', have: [], want: pauseEntries(paused) }]), ['add map /k/pause.map api 1700000000000']);
  assert.deepEqual(switchCommands([], [], [{ file: '/k/pause.map', have: pauseEntries(paused), want: [] }]), ['del map /k/pause.map api']);
});
