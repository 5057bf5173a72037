// The CLI's API client when the control plane dies mid-operation (kill -9): the stream must fail
// with SERVER_UNREACHABLE. It used to never settle, so the CLI exited 0 with no output, as if a
// killed `env create` or `deploy` had succeeded (found by test/e2e/chaos-ops.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { ApiClient } from './client.js';

test('a stream cut off before its result line rejects with SERVER_UNREACHABLE', { timeout: 10_000 }, async (t) => {
  const kilnDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-client-'));
  t.after(() => fs.rmSync(kilnDir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(kilnDir, 'run'));
  fs.writeFileSync(path.join(kilnDir, 'run', 'token'), 'tok', { mode: 0o600 });
  const socket = path.join(kilnDir, 'run', 'kiln.sock');
  // Writes one progress event, then the connection dies as with a killed process.
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(JSON.stringify({ type: 'event', kind: 'deploy.started', message: 'started', at: new Date().toISOString() }) + '\n');
    setTimeout(() => req.socket.destroy(), 20);
  });
  await new Promise<void>((r) => server.listen(socket, r));
  t.after(() => new Promise((r) => server.close(r)));
  const events: string[] = [];
  await assert.rejects(
    new ApiClient(kilnDir).stream('/v1/deploy', { env: 'dev', release: 'r1' }, (e) => events.push(e.kind)),
    (e: unknown) => e instanceof KilnError && e.code === 'SERVER_UNREACHABLE' && /before the operation finished/.test(e.message),
  );
  assert.deepEqual(events, ['deploy.started']);
});
