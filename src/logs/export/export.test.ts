import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync, appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogTailer } from '../tailer.js';
import type { LogStore } from '../store.js';
import { source, tags, tempLogs } from '../testkit.js';
import { createOtlpExporter, type OtlpLogsRequest } from './otlp.js';
import { createLokiExporter, type LokiPushRequest } from './loki.js';

interface Received {
  path: string;
  contentType: string;
  body: unknown;
}

/** A receiver on 127.0.0.1 that records requests; `answer` decides each status (default 200). */
async function receiver(answer: (n: number) => number | 'hang' = () => 200): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(n++);
      if (status === 'hang') return; // never answers: the exporter's timeout must fire
      if (status === 200) got.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? '' : 'try later');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    got,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await sleep(10);
  assert.ok(cond(), `timed out waiting for ${what}`);
}

function addLines(store: LogStore, server: string, texts: string[]): void {
  const tag = store.tagId(tags(server, 'stderr'));
  store.append([{ tag, texts }], []);
}

const otlpTexts = (got: Received[]): string[] =>
  got.flatMap((r) => (r.body as OtlpLogsRequest).resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords.map((l) => l.body.stringValue))));

test('OTLP/HTTP JSON: resourceLogs per server, logRecords with time and body; a restart resumes at the saved cursor', async () => {
  const t = tempLogs();
  const rx = await receiver();
  try {
    const store = t.open();
    addLines(store, 'web-http-dev-v001-1', ['a', 'b', 'c']);
    addLines(store, 'web-http-dev-v001-2', ['d']);
    const ex = createOtlpExporter(store, { endpoint: rx.url, batchLines: 3, flushMs: 20 });
    ex.start();
    await until(() => ex.stats().sent === 4, 'four lines sent');
    await ex.stop();
    assert.deepEqual(otlpTexts(rx.got), ['a', 'b', 'c', 'd']);
    const first = rx.got[0]!;
    assert.equal(first.path, '/v1/logs');
    assert.equal(first.contentType, 'application/json');
    const rl = (first.body as OtlpLogsRequest).resourceLogs[0]!;
    const attrs = Object.fromEntries(rl.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    assert.equal(attrs['service.name'], 'web');
    assert.equal(attrs['service.instance.id'], 'web-http-dev-v001-1');
    assert.equal(attrs['deployment.environment.name'], 'dev');
    assert.equal(attrs['kiln.cluster'], 'web-http-dev');
    assert.equal(rl.scopeLogs[0]!.scope.name, 'kiln');
    const rec = rl.scopeLogs[0]!.logRecords[0]!;
    assert.match(rec.timeUnixNano, /^\d{19}$/);
    assert.ok(Math.abs(Number(BigInt(rec.timeUnixNano) / 1_000_000n) - Date.now()) < 60_000);
    assert.deepEqual(rec.attributes.find((a) => a.key === 'log.iostream')?.value, { stringValue: 'stderr' });
    assert.deepEqual(ex.stats().cursor, 4);

    // A new exporter with the same name continues after what was sent.
    addLines(store, 'web-http-dev-v001-1', ['e']);
    const again = createOtlpExporter(store, { endpoint: rx.url, flushMs: 20 });
    again.start();
    await until(() => again.stats().sent === 5, 'the fifth line sent');
    await again.stop();
    assert.deepEqual(otlpTexts(rx.got), ['a', 'b', 'c', 'd', 'e']);
  } finally {
    await rx.close();
    t.cleanup();
  }
});

test('Loki push API: one stream per server and stream, labelled with its tags', async () => {
  const t = tempLogs();
  const rx = await receiver();
  try {
    const store = t.open();
    addLines(store, 'web-http-dev-v001-1', ['one', 'two']);
    const ex = createLokiExporter(store, { endpoint: `${rx.url}/`, flushMs: 20 });
    ex.start();
    await until(() => ex.stats().sent === 2, 'a push');
    await ex.stop();
    assert.equal(rx.got[0]!.path, '/loki/api/v1/push');
    const body = rx.got[0]!.body as LokiPushRequest;
    assert.equal(body.streams.length, 1);
    assert.deepEqual(body.streams[0]!.stream, {
      project: 'shop', env: 'dev', service: 'web', role: 'http', cluster: 'web-http-dev', group: 'web-http-dev-v001', server: 'web-http-dev-v001-1', stream: 'stderr',
    });
    assert.deepEqual(body.streams[0]!.values.map((v) => v[1]), ['one', 'two']);
    assert.match(body.streams[0]!.values[0]![0], /^\d{19}$/);
  } finally {
    await rx.close();
    t.cleanup();
  }
});

test('an endpoint that answers 500 is retried with backoff until it recovers; nothing is lost while the queue has room', async () => {
  const t = tempLogs();
  const rx = await receiver((n) => (n < 3 ? 500 : 200));
  try {
    const store = t.open();
    addLines(store, 's1', ['x1', 'x2', 'x3']);
    const errors: string[] = [];
    const ex = createOtlpExporter(store, { endpoint: rx.url, flushMs: 10, retryInitialMs: 10, onError: (m) => errors.push(m) });
    ex.start();
    await until(() => ex.stats().sent === 3, 'the lines after recovery');
    const s = ex.stats();
    await ex.stop();
    assert.deepEqual(otlpTexts(rx.got), ['x1', 'x2', 'x3']);
    assert.equal(s.failures, 0);
    assert.equal(s.dropped, 0);
    assert.match(errors[0]!, /HTTP 500/);
  } finally {
    await rx.close();
    t.cleanup();
  }
});

test('a down endpoint never blocks ingestion; the queue keeps the newest lines and counts the dropped ones', async () => {
  const t = tempLogs();
  let up = false;
  // First it hangs (slower than the exporter's timeout), then it works.
  const rx = await receiver(() => (up ? 200 : 'hang'));
  try {
    const store = t.open();
    const ex = createLokiExporter(store, { endpoint: rx.url, flushMs: 10, maxQueue: 50, batchLines: 500, timeoutMs: 100, retryInitialMs: 20, retryMaxMs: 40 });
    ex.start();
    // Ingestion goes on at full speed while the exporter is stuck.
    const tailer = new LogTailer(store, { watch: false });
    const src = source(t.dir, 's1');
    tailer.setSources([src]);
    writeFileSync(src.path, '');
    for (let i = 0; i < 200; i++) appendFileSync(src.path, `line ${i}\n`);
    assert.equal(await tailer.pollOnce(), 200);
    await until(() => ex.stats().dropped === 100, 'the oldest queued lines to be dropped');
    assert.ok(ex.stats().failures >= 2);
    up = true;
    await until(() => ex.stats().queued === 0 && ex.stats().failures === 0, 'the queue to drain');
    const s = ex.stats();
    await ex.stop();
    await tailer.stop();
    const texts = rx.got.flatMap((r) => (r.body as LokiPushRequest).streams.flatMap((st) => st.values.map((v) => v[1])));
    assert.equal(s.sent + s.dropped, 200, 'every line sent or counted as dropped');
    assert.equal(texts.length, s.sent);
    assert.equal(texts.at(-1), 'line 199', 'the newest lines were kept');
    assert.equal(s.cursor, 200);
    assert.deepEqual(store.cursor('loki'), { lastId: 200, sent: s.sent, dropped: s.dropped });
  } finally {
    await rx.close();
    t.cleanup();
  }
});
