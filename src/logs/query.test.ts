import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { followLogs, formatLogLine, logFilterFromQuery, queryLogs } from './query.js';
import { pruneLogs, usedBytes } from './retention.js';
import { parseDuration, parseTimeArg } from './time.js';
import type { LogStore } from './store.js';
import { lineRuns, tags, tempLogs, withLogs } from './testkit.js';

function fill(store: LogStore): void {
  const a = store.tagId(tags('web-http-dev-v001-1', 'log'));
  const b = store.tagId(tags('web-http-dev-v002-1', 'stderr', { group: 'web-http-dev-v002' }));
  const c = store.tagId(tags('api-http-prod-v007-1', 'stdout', { env: 'prod', service: 'api', cluster: 'api-http-prod', group: 'api-http-prod-v007' }));
  store.append(lineRuns([{ tag: a, text: 'GET /items 200' }, { tag: b, text: 'ERROR db timeout' }, { tag: c, text: 'prod started' }, { tag: a, text: 'GET /cart 500 error' }]), []);
}

test('queryLogs filters by tag, text, regex and limit, oldest first', () => {
  const t = tempLogs();
  try {
    const store = t.open();
    fill(store);
    const text = (f: Parameters<typeof queryLogs>[1]): string[] => queryLogs(store, f).map((l) => l.text);
    assert.deepEqual(text({}), ['GET /items 200', 'ERROR db timeout', 'prod started', 'GET /cart 500 error']);
    assert.deepEqual(text({ env: 'prod' }), ['prod started']);
    assert.deepEqual(text({ cluster: 'web-http-dev', group: 'web-http-dev-v002' }), ['ERROR db timeout']);
    assert.deepEqual(text({ stream: 'log' }), ['GET /items 200', 'GET /cart 500 error']);
    assert.deepEqual(text({ grep: 'ERROR' }), ['ERROR db timeout']);
    assert.deepEqual(text({ grep: '/error/i' }), ['ERROR db timeout', 'GET /cart 500 error']);
    assert.deepEqual(text({ grep: '/ 5\\d\\d /' }), ['GET /cart 500 error']);
    assert.deepEqual(text({ limit: 2 }), ['prod started', 'GET /cart 500 error'], 'the newest lines');
    assert.deepEqual(text({ afterId: 1, limit: 2 }), ['ERROR db timeout', 'prod started']);
    assert.deepEqual(text({ server: 'nobody' }), []);
    assert.deepEqual(text({ since: new Date(Date.now() + 60_000) }), []);
    assert.deepEqual(text({ until: new Date(Date.now() + 60_000), env: 'prod' }), ['prod started']);
    assert.throws(() => queryLogs(store, { grep: '/([/' }), (e: unknown) => e instanceof KilnError && e.where() === '--grep');
  } finally {
    t.cleanup();
  }
});

test('formatLogLine prints a line for people or as JSON with every tag', () => {
  const line = { id: 7, ts: Date.UTC(2026, 10, 26, 10, 0, 0), ...tags('web-http-dev-v001-1', 'stderr'), text: 'boom' };
  assert.equal(formatLogLine(line, false), '2026-11-26T10:00:00.000Z web-http-dev-v001-1 stderr boom');
  assert.deepEqual(JSON.parse(formatLogLine(line, true)), {
    id: 7, ts: '2026-11-26T10:00:00.000Z', project: 'shop', env: 'dev', service: 'web', role: 'http',
    cluster: 'web-http-dev', group: 'web-http-dev-v001', server: 'web-http-dev-v001-1', stream: 'stderr', text: 'boom',
  });
});

test('--since takes durations and ISO times; anything else is a clear error', () => {
  const now = Date.UTC(2026, 10, 26, 12, 0, 0);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseTimeArg('10m', '--since', now).toISOString(), '2026-11-26T11:50:00.000Z');
  assert.equal(parseTimeArg('2026-11-26T10:00:00Z', '--since', now).toISOString(), '2026-11-26T10:00:00.000Z');
  assert.equal(parseTimeArg('2026-11-25', '--since', now).toISOString(), '2026-11-25T00:00:00.000Z');
  assert.throws(() => parseTimeArg('yesterday', '--since', now), (e: unknown) => e instanceof KilnError && e.code === 'USAGE' && e.where() === '--since');
  const f = logFilterFromQuery(new URLSearchParams('cluster=web-http-dev&since=5m&grep=ERR&limit=10&stream=stderr'), now);
  assert.deepEqual(f, { cluster: 'web-http-dev', stream: 'stderr', since: new Date(now - 300_000), grep: 'ERR', limit: 10 });
  assert.throws(() => logFilterFromQuery(new URLSearchParams('stream=stdin')), /stdin/);
  assert.throws(() => logFilterFromQuery(new URLSearchParams('limit=ten')), /whole number/);
});

test('followLogs yields new matching lines as they are stored, until aborted', () =>
  withLogs(async (t) => {
    const store = t.open();
    fill(store);
    const ac = new AbortController();
    const got: string[] = [];
    const done = (async () => {
      for await (const l of followLogs(store, { grep: 'ERROR' }, { signal: ac.signal, pollMs: 5_000 })) {
        got.push(l.text);
        if (got.length === 2) ac.abort();
      }
    })();
    const tag = store.tagId(tags('web-http-dev-v001-1'));
    store.append(lineRuns([{ tag, text: 'fine' }, { tag, text: 'ERROR one' }]), []);
    store.append(lineRuns([{ tag, text: 'ERROR two' }]), []);
    await done;
    assert.deepEqual(got, ['ERROR one', 'ERROR two'], 'only new lines, not the ERROR stored before');
  }));

test('pruneLogs deletes the oldest lines by age and by size', async () => {
  const t = tempLogs();
  try {
    const store = t.open();
    const tag = store.tagId(tags('s1'));
    const text = 'x'.repeat(200);
    for (let b = 0; b < 20; b++) store.append([{ tag, texts: Array.from({ length: 1000 }, () => text) }], []);
    const before = usedBytes(store);
    assert.ok(before > 4_000_000);
    // Pretend the first half is two days old.
    store.db.prepare('UPDATE chunks SET ts = ts - 172800000 WHERE first_id <= 10000').run();
    assert.equal((await pruneLogs(store, { maxAgeMs: 86_400_000 })).deleted, 10_000);
    const r = await pruneLogs(store, { maxBytes: 1_000_000 });
    assert.ok(r.bytes <= 1_000_000, `${r.bytes} bytes`);
    const left = queryLogs(store, { limit: 100_000 });
    assert.ok(left.length > 1000 && left.length < 10_000);
    assert.equal(left.at(-1)!.id, 20_000, 'the newest line is kept');
    assert.equal(store.maxId(), 20_000, 'ids are never reused');
  } finally {
    t.cleanup();
  }
});
