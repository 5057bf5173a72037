// A role without a health check counts a new server as started once it kept running for the
// role's `settle` (kiln.yaml; default 250 ms): read in milliseconds with file:line:column errors,
// carried by the plan into the group (so the reconciler's replacements wait the same), shown by
// --dry-run, and what the wait for a started server uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSpec } from '../spec/load.js';
import { load, only, problemsOf, yaml } from '../spec/testkit.js';
import type { ReleaseManifest } from '../release/types.js';
import { tempRuntimeState } from '../store/testkit.js';
import { NO_PORT_SETTLE_MS, waitHealthy } from './health.js';
import { formatPlan, planDeploy } from './plan.js';

const project = (worker: string): string =>
  yaml(
    'project: shop',
    'services:',
    '  api:',
    '    app: { path: apps/api, run: [node, server.js] }',
    '    roles:',
    '      http: { port: http, health: /healthz }',
    `      worker: ${worker}`,
    'environments:',
    '  dev: { runtime: process }',
  );

test('settle is read per role in milliseconds; absent, the role has none and the default applies', () => {
  assert.equal(load(project('{ settle: 2s }')).services.api?.roles.worker?.settleMs, 2000);
  assert.equal(load(project('{ settle: 0s }')).services.api?.roles.worker?.settleMs, 0);
  assert.equal(load(project('{ replicas: 1 }')).services.api?.roles.worker?.settleMs, undefined);
  assert.equal(NO_PORT_SETTLE_MS, 250);
});

test('a settle that is no duration, or next to a health check, is reported at file:line:column', () => {
  const bad = only(problemsOf(project('{ settle: soon }')), /settle must be a duration/);
  assert.equal(`${bad.line}:${bad.column}`, '7:25');
  const both = only(problemsOf(project('{ port: jobs, health: /h, settle: 1s }')), /both a health check and "settle"/);
  assert.equal(`${both.line}:${both.column}`, '7:41');
  assert.match(both.hint ?? '', /remove "settle"/);
});

test('the plan carries a role\'s settle into its cluster and --dry-run says how a server counts as started', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kiln-settle-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'apps', 'api'), { recursive: true });
  const spec = parseSpec(project('{ settle: 1500ms }'), path.join(root, 'kiln.yaml'));
  const release: ReleaseManifest = {
    schema: 'kiln.release.v1',
    project: 'shop',
    name: 'r1',
    number: 1,
    parent: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    services: {
      api: {
        app: { stream: 'app/api', tag: '1.0.0', digest: `sha256:${'a'.repeat(64)}` },
        run: ['node', 'server.js'],
        roles: { http: { replicas: 1, port: 'http', flags: {} }, worker: { replicas: 1, flags: {} } },
        flags: {},
      },
    },
  };
  const kilnDir = path.join(root, '.kiln');
  const plan = await planDeploy(spec, 'dev', release, tempRuntimeState(t), async (_c, p) => p ?? 40100, { ociDir: path.join(kilnDir, 'oci'), kilnDir });
  const worker = plan.clusters.find((c) => c.role === 'worker');
  assert.equal(worker?.settleMs, 1500);
  assert.equal(plan.clusters.find((c) => c.role === 'http')?.settleMs, undefined);
  assert.match(formatPlan(plan), /api-worker-dev: new group[^\n]*\n[^\n]*\n {4}started: once running 1500 ms/);
});

test('the wait for a started server watches it for the settle: 0 checks once, a long one fails when the server exits', async () => {
  let checks = 0;
  const once = await waitHealthy({ settleMs: 0, isAlive: async () => (checks++, true) });
  assert.deepEqual([once.ok, checks], [true, 1]);

  let alive = 3;
  const exited = await waitHealthy({ settleMs: 600_000, isAlive: async () => alive-- > 0 });
  assert.deepEqual([exited.ok, exited.detail], [false, 'the process exited']);
});
