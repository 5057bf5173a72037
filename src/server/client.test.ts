// The CLI's API client when the control plane dies mid-operation (kill -9): the stream must fail
// with SERVER_UNREACHABLE. It used to never settle, so the CLI exited 0 with no output, as if a
// killed `env create` or `deploy` had succeeded (found by test/e2e/chaos-ops.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { KilnError, KilnErrors, formatError } from '../errors.js';
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

test('an error the control plane sends keeps every field: code, message, location, hint, each of several problems', { timeout: 10_000 }, async (t) => {
  const kilnDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-client-'));
  t.after(() => fs.rmSync(kilnDir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(kilnDir, 'run'));
  fs.writeFileSync(path.join(kilnDir, 'run', 'token'), 'tok', { mode: 0o600 });
  const socket = path.join(kilnDir, 'run', 'kiln.sock');
  // What api.ts sends for a kiln.yaml with two mistakes: the one wire shape, KilnError.toJSON().
  const sent = new KilnErrors([
    new KilnError('SPEC_INVALID', 'unknown key "helth"', { location: { file: 'kiln.yaml', line: 19, column: 42 }, hint: 'did you mean "health"?' }),
    new KilnError('SPEC_INVALID', 'replicas must be a whole number', { location: { file: 'kiln.yaml', line: 23, column: 17 } }),
  ]);
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(new KilnError('ENV_NOT_FOUND', 'environment "nope" is not in kiln.yaml', { location: { flag: '--env' }, hint: 'environments: dev' })));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(JSON.stringify({ type: 'error', ...sent.toJSON() }) + '\n');
  });
  await new Promise<void>((r) => server.listen(socket, r));
  t.after(() => new Promise((r) => server.close(r)));
  const client = new ApiClient(kilnDir);

  const streamed = await client.stream('/v1/deploy', {}, () => undefined).then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(streamed instanceof KilnErrors);
  assert.equal(streamed.code, 'SPEC_INVALID');
  assert.deepEqual(
    streamed.errors.map((e) => [e.where(), e.message, e.hint]),
    [
      ['kiln.yaml:19:42', 'unknown key "helth"', 'did you mean "health"?'],
      ['kiln.yaml:23:17', 'replicas must be a whole number', undefined],
    ],
  );
  // What the CLI prints: each location and the suggestion, never "the control plane reported an error".
  assert.match(formatError(streamed), /^kiln\.yaml:19:42: unknown key "helth"\n  hint: did you mean "health"\?\nkiln\.yaml:23:17: /);

  const answered = await client.get('/v1/status').then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(answered instanceof KilnError);
  assert.deepEqual([answered.code, answered.message, answered.where(), answered.hint], ['ENV_NOT_FOUND', 'environment "nope" is not in kiln.yaml', '--env', 'environments: dev']);
});
