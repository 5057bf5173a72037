// `deploy --dry-run` shows each new group's exact command, from the functions a start uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiPlan } from '../deploy/testkit.js';
import { formatPlan } from '../deploy/plan.js';
import { ProcessRuntime } from '../runtime/process/process-runtime.js';
import { PodmanRuntime } from '../runtime/podman/podman-runtime.js';
import { tempRuntimeState } from '../store/testkit.js';
import { runPaths } from './paths.js';
import { withCommands } from './plan-commands.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as const;
const portFlag = { name: 'port', value: [{ kind: 'port' as const }] };
const logFlag = { name: 'log-file', value: [{ kind: 'log-file' as const }] };
const noApp = async (d: string): Promise<string> => `/p/.kiln/apps/${d.slice(7)}`;

test('process runtime: the program, the app dir it runs from, the flags with the port still to be picked', async (t) => {
  const plan = apiPlan(tempRuntimeState(t), 'r1', DIGEST);
  plan.clusters[0]!.args = { style: 'equals', flags: [portFlag, logFlag], positional: [] };
  // The app's files, extracted as a deploy extracts them: its run command names one of them.
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-app-'));
  t.after(() => fs.rmSync(app, { recursive: true, force: true }));
  fs.writeFileSync(path.join(app, 'server.js'), '');
  const out = await withCommands(plan, new ProcessRuntime(), runPaths('/p/.kiln'), async () => app);
  const http = out.clusters[0]!.command!;
  assert.equal(http[0], process.execPath);
  assert.deepEqual(http.slice(1), [
    path.join(app, 'server.js'),
    '--port=${port}',
    '--log-file=/p/.kiln/logs/dev/api-http-dev/api-http-dev-v001-1/api-http-dev-v001-1.log',
  ]);
  assert.deepEqual(out.clusters[1]!.command!.slice(-1), ['--mode=worker']);
  // Shown in the text, quoted so that `${port}` is not expanded when copied into a shell.
  assert.ok(formatPlan(out).includes(`command: ${process.execPath} ${path.join(app, 'server.js')} '--port=\${port}' --log-file=`));
});

test('podman runtime: the whole `podman run`, read-only, the port published as the placeholder, the image by digest', async (t) => {
  const plan = apiPlan(tempRuntimeState(t), 'r1', DIGEST);
  plan.runtime = 'podman';
  for (const c of plan.clusters) c.image = { layout: '/p/.kiln/oci', ref: 'api', digest: `sha256:${'b'.repeat(64)}` };
  plan.clusters[0]!.args = { style: 'equals', flags: [portFlag], positional: [] };
  const cmd = (await withCommands(plan, new PodmanRuntime({ store: '/p/.kiln' }), runPaths('/p/.kiln'), noApp)).clusters[0]!.command!;
  assert.equal(cmd[0], 'podman');
  assert.ok(cmd.includes('--read-only'));
  assert.equal(cmd[cmd.indexOf('--publish') + 1], '127.0.0.1:${port}:${port}');
  assert.ok(cmd.some((w) => w.endsWith(`@sha256:${'b'.repeat(64)}`)), 'the image is named by its digest');
  assert.deepEqual(cmd.slice(-2), ['server.js', '--port=${port}']);
});

test('an unchanged cluster gets no command: nothing of it starts', async (t) => {
  const plan = apiPlan(tempRuntimeState(t), 'r1', DIGEST);
  plan.clusters[1]!.action = 'unchanged';
  const out = await withCommands(plan, new ProcessRuntime(), runPaths('/p/.kiln'), noApp);
  assert.ok(out.clusters[0]!.command);
  assert.equal(out.clusters[1]!.command, undefined);
});
