import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KilnError } from '../errors.js';
import { serveLogs, type LogsResponse } from './api.js';
import type { LogLineJson } from './query.js';
import { lineRuns, tags, tempLogs } from './testkit.js';
import { logsQuery } from '../cli/commands/logs.js';

test('GET /v1/logs answers the filtered lines as JSON, and follow=1 streams them and then new ones as NDJSON', async () => {
  const t = tempLogs();
  const store = t.open();
  const server = http.createServer((req, res) => {
    serveLogs(store, new URL(req.url ?? '/', 'http://kiln').searchParams, req, res).catch((e: unknown) => {
      res.writeHead(e instanceof KilnError ? 400 : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(e instanceof KilnError ? e.toJSON() : { error: { code: 'INTERNAL', message: String(e) } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const v1 = store.tagId(tags('web-http-dev-v001-1', 'stdout'));
    const v4 = store.tagId(tags('web-http-dev-v004-1', 'stderr', { group: 'web-http-dev-v004' }));
    store.append(lineRuns([{ tag: v1, text: 'old build ERROR' }, { tag: v4, text: 'new build ok' }, { tag: v4, text: 'new build ERROR' }]), []);

    // What `kiln logs web-http-dev --build v004 --grep ERROR --since 10m` asks for.
    const q = logsQuery('web-http-dev', { build: 'v004', grep: 'ERROR', since: '10m' });
    assert.equal(q.get('group'), 'web-http-dev-v004');
    const res = await fetch(`${base}/v1/logs?${q}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as LogsResponse;
    assert.deepEqual(body.lines.map((l) => [l.server, l.stream, l.text]), [['web-http-dev-v004-1', 'stderr', 'new build ERROR']]);
    assert.match(body.lines[0]!.ts, /^\d{4}-\d\d-\d\dT/);

    const bad = await fetch(`${base}/v1/logs?since=yesterday`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'USAGE');

    // Follow: the matching lines so far, then new ones as they are stored.
    const ac = new AbortController();
    const follow = await fetch(`${base}/v1/logs?cluster=web-http-dev&grep=ERROR&follow=1`, { signal: ac.signal });
    assert.equal(follow.headers.get('content-type'), 'application/x-ndjson');
    const reader = follow.body!.getReader();
    const got: LogLineJson[] = [];
    let buf = '';
    let appended = false;
    while (got.length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString('utf8');
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) got.push(JSON.parse(buf.slice(0, i)) as LogLineJson);
      if (got.length === 2 && !appended) {
        appended = true;
        store.append(lineRuns([{ tag: v1, text: 'quiet' }, { tag: v1, text: 'later ERROR' }]), []);
      }
    }
    ac.abort();
    assert.deepEqual(got.map((l) => l.text), ['old build ERROR', 'new build ERROR', 'later ERROR']);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    t.cleanup();
  }
});

test('kiln logs arguments: --build needs a cluster, bad values are usage errors naming the flag', () => {
  const flagOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof KilnError) return e.where();
    }
    return 'no error';
  };
  assert.equal(flagOf(() => logsQuery(undefined, { build: 'v004' })), '--build');
  assert.equal(flagOf(() => logsQuery('c', { build: 'latest' })), '--build');
  assert.equal(flagOf(() => logsQuery('c', { stream: 'stdin' })), '--stream');
  assert.equal(flagOf(() => logsQuery('c', { since: 'soon' })), '--since');
  assert.equal(flagOf(() => logsQuery('c', { grep: '/[/' })), '--grep');
  assert.equal(flagOf(() => logsQuery('c', { lines: '-1' })), '--lines');
  assert.equal(flagOf(() => logsQuery('c', { lines: 'ten' })), '--lines');
  assert.equal(logsQuery('c', { lines: '0' }).get('limit'), '0');
  const q = logsQuery('web-http-dev', { build: '4', env: 'dev', since: '2026-11-26T10:00:00Z' });
  assert.equal(q.toString(), 'cluster=web-http-dev&env=dev&group=web-http-dev-v004&since=2026-11-26T10%3A00%3A00.000Z&limit=100');
});
