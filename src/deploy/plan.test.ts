// The plan as data: which clusters a release changes in an environment, from a real kiln.yaml
// text, a real state.db and real secret files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSpec } from '../spec/load.js';
import type { ReleaseManifest } from '../release/types.js';
import { setSecret } from '../secrets/secrets.js';
import { tempRuntimeState } from '../store/testkit.js';
import { planDeploy, type DeployPlan } from './plan.js';
import { executeDeploy } from './execute.js';
import { pruneUnusedSecretVersions } from './secret-versions.js';
import { deployWorld } from './testkit.js';

const SPEC = `
project: shop
domain: shop.test
services:
  web:
    app: { path: apps/web, run: [node, server.js] }
    roles:
      http: { replicas: 2, port: http, health: /healthz }
environments:
  dev:
    runtime: process
    flags:
      web: { token-file: "\${secret.web_token}" }
`;

const release: ReleaseManifest = {
  schema: 'kiln.release.v1',
  project: 'shop',
  name: 'r1',
  number: 1,
  parent: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  services: {
    web: {
      app: { stream: 'app/web', tag: '1.0.0', digest: `sha256:${'a'.repeat(64)}` },
      run: ['node', 'server.js'],
      roles: { http: { replicas: 2, port: 'http', flags: {} } },
      flags: {},
    },
  },
};

function tokenFlag(plan: DeployPlan): string {
  const value = plan.clusters[0]!.args.flags.find((f) => f.name === 'token-file')!.value;
  assert.ok(value !== true && value.length === 1 && value[0]!.kind === 'secret', 'the flag names the secret\'s file, typed');
  return value[0]!.host;
}

test('defect 13: a new secret value makes its cluster changed; each group keeps reading the value it was planned with', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kiln-plan-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const kilnDir = path.join(root, '.kiln');
  mkdirSync(path.join(root, 'apps', 'web'), { recursive: true });
  const spec = parseSpec(SPEC, path.join(root, 'kiln.yaml'));
  const state = tempRuntimeState(t);
  const w = deployWorld(state, kilnDir);
  const plan = (): Promise<DeployPlan> => planDeploy(spec, 'dev', release, state, async (_c, p) => p ?? 40100, { ociDir: path.join(kilnDir, 'oci'), kilnDir });

  setSecret(kilnDir, 'dev', 'web_token', Buffer.from('first-value'));
  const p1 = await plan();
  await executeDeploy(p1, w.deps, 1, w.emit);
  const first = tokenFlag(p1);
  assert.match(first, /secrets\/dev\/web_token@[0-9a-f]{32}$/);
  assert.ok(!first.includes('first-value'));

  // The same value again: nothing to do.
  setSecret(kilnDir, 'dev', 'web_token', Buffer.from('first-value'));
  assert.equal((await plan()).clusters[0]!.action, 'unchanged');

  // A new value: the same release is a new group, whose servers read the new value; the running
  // group's file still holds the old one (a replacement server of it reads what its siblings read).
  setSecret(kilnDir, 'dev', 'web_token', Buffer.from('second-value'));
  const p2 = await plan();
  assert.equal(p2.clusters[0]!.action, 'create');
  assert.equal(p2.clusters[0]!.group, 'web-http-dev-v002');
  const second = tokenFlag(p2);
  assert.notEqual(second, first);
  assert.equal(readFileSync(second, 'utf8'), 'second-value');
  assert.equal(readFileSync(first, 'utf8'), 'first-value');

  // Once no group names the old version, it is removed from disk.
  await executeDeploy(p2, w.deps, 2, w.emit);
  assert.deepEqual(pruneUnusedSecretVersions(state, kilnDir, 'dev'), [], 'the kept group still names it');
  setSecret(kilnDir, 'dev', 'web_token', Buffer.from('third-value'));
  await executeDeploy(await plan(), w.deps, 3, w.emit);
  assert.deepEqual(pruneUnusedSecretVersions(state, kilnDir, 'dev'), [path.basename(first)]);
  assert.throws(() => readFileSync(first), /ENOENT/);
});
