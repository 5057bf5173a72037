import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { serverProcesses } from './orphans.js';

// The orphan sweep and crash recovery find servers by the --log-file on their command line; the
// log layout gave each server its own directory, and a scan that missed it saw no server at all.
test('servers are found by their --log-file, in their own log directory and in the older layout', async (t) => {
  const kilnDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-orphans-'));
  const logs = path.join(kilnDir, 'logs', 'dev', 'api-http-dev');
  const start = (file: string) => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', '--', `--log-file=${file}`], { detached: true, stdio: 'ignore' });
  const now = start(path.join(logs, 'api-http-dev-v001-1', 'api-http-dev-v001-1.log'));
  const older = start(path.join(logs, 'api-http-dev-v001-2.log'));
  const other = start(path.join(logs, 'someone', 'else.log')); // not a server's own directory
  t.after(() => {
    for (const c of [now, older, other]) c.kill('SIGKILL');
    fs.rmSync(kilnDir, { recursive: true, force: true });
  });
  await new Promise((r) => setTimeout(r, 300));
  const found = serverProcesses(kilnDir).map((p) => [p.server, p.pid]).sort();
  assert.deepEqual(found, [['api-http-dev-v001-1', now.pid], ['api-http-dev-v001-2', older.pid]]);
});
