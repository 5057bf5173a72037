// Issue 11, defect 14 (the logs part): `kiln logs` shows an app's escape sequences instead of
// letting them drive the terminal; retention is on by default, bounded from kiln.yaml; and
// shrinking the store waits for DNS and gives the event loop back between slices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, yaml } from '../spec/testkit.js';
import { formatLogLine, queryLogs } from './query.js';
import { pruneLogs } from './retention.js';
import { LogService } from './service.js';
import { tags, withLogs } from './testkit.js';

const line = (text: string) => ({ id: 1, ts: Date.UTC(2026, 11, 3), project: 'shop', env: 'dev', service: 'web', role: 'http', cluster: 'web-http-dev', group: 'web-http-dev-v001', server: 'web-http-dev-v001-1', stream: 'log' as const, text });

test('defect 14: kiln logs on a terminal prints escape sequences and control characters escaped, never raw', () => {
  const hostile = 'ok \x1b]52;c;ZXZpbA==\x07 \x1b[2J\x1b[1;1H \x9b31m cr\rback \u202eevil\u202c\ttab';
  const shown = formatLogLine(line(hostile), false, { terminal: true });
  assert.ok(!/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e]/.test(shown), `raw controls reach the terminal: ${JSON.stringify(shown)}`);
  assert.ok(shown.endsWith('ok \\x1b]52;c;ZXZpbA==\\x07 \\x1b[2J\\x1b[1;1H \\x9b31m cr\\x0dback \\u202eevil\\u202c\ttab'), shown);
  // Piped (not a terminal) the text is as the app wrote it; --json escapes it as JSON does.
  assert.ok(formatLogLine(line(hostile), false).endsWith(hostile));
  assert.equal((JSON.parse(formatLogLine(line(hostile), true)) as { text: string }).text, hostile);
});

test('defect 14: log retention is on by default, with bounds kiln.yaml can change or turn off', () => {
  const base = ['project: shop', 'services:', '  api: { app: { path: apps/api, run: [node, s.js] }, roles: { worker: { replicas: 1 } } }', 'environments:', '  dev: { runtime: process }'];
  assert.deepEqual(load(yaml(...base)).logs.retention, { maxAgeMs: 30 * 86_400_000, maxBytes: 1024 * 1024 * 1024 });
  assert.deepEqual(load(yaml(...base, 'logs: { retention: { max-age: 168h, max-size-mb: 200 } }')).logs.retention, { maxAgeMs: 7 * 86_400_000, maxBytes: 200 * 1024 * 1024 });
  assert.deepEqual(load(yaml(...base, 'logs: { retention: { max-age: 0s, max-size-mb: 0 } }')).logs.retention, {});
});

test('defect 14: retention does not run when the log service starts, only once the control plane starts it (after DNS)', () =>
  withLogs(async (t) => {
    const seed = t.open();
    const tag = seed.tagId(tags('s1'));
    seed.append([{ tag, texts: ['old line'] }], []);
    seed.db.prepare('UPDATE chunks SET ts = ts - 172800000').run();
        const logs = LogService.start({ kilnDir: t.dir, log: () => {}, tailer: { watch: false }, retention: { maxAgeMs: 86_400_000 } });
    try {
      assert.equal(queryLogs(logs.store).length, 1, 'pruned before the control plane was ready for it');
      (logs as { startRetention?: () => void }).startRetention?.();
      await new Promise<void>((resolve) => {
        const check = (): void => (queryLogs(logs.store).length === 0 ? resolve() : void setTimeout(check, 10));
        check();
      });
    } finally {
      await logs.stop();
    }
  }));

test('defect 14: shrinking a big store gives the event loop back between slices (DNS keeps answering)', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tag = store.tagId(tags('s1'));
    const text = 'x'.repeat(100);
    for (let b = 0; b < 100; b++) store.append([{ tag, texts: Array.from({ length: 2000 }, () => text) }], []);
    store.db.prepare('UPDATE chunks SET ts = ts - 172800000').run();
    let turns = 0;
    let done = false;
    const spin = (): void => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    const r = await pruneLogs(store, { maxAgeMs: 86_400_000 });
    done = true;
    assert.equal(r.deleted, 200_000);
    assert.ok(turns >= 2, `the event loop ran ${turns} time(s) while 200,000 lines were deleted`);
  }));
