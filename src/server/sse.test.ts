import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveLogStream } from '../logs/sse.js';
import { lineRuns, tags, tempLogs } from '../logs/testkit.js';
import { serveLive } from './live-stream.js';
import { tempRuntimeState } from '../store/testkit.js';
import { Timeline } from '../store/timeline.js';
import type { StatusView } from './status.js';

interface Frame {
  id?: string;
  event: string;
  data: unknown;
}

/** Reads SSE frames from `url` until `enough` says so, then hangs up (as a closed tab does). */
function readFrames(url: string, headers: Record<string, string>, enough: (frames: Frame[]) => boolean): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    const req = http.get(url, { headers, agent: false }, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: Partial<Frame> = {};
          for (const line of block.split('\n')) {
            const [k, ...rest] = line.split(': ');
            const v = rest.join(': ');
            if (k === 'id') f.id = v;
            else if (k === 'event') f.event = v;
            else if (k === 'data') f.data = JSON.parse(v) as unknown;
          }
          if (f.event) frames.push(f as Frame);
        }
        if (enough(frames)) {
          req.destroy();
          resolve(frames);
        }
      });
    });
    req.on('error', (e) => (frames.length ? resolve(frames) : reject(e)));
  });
}

async function serve(t: { after(fn: () => void): void }, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('the log stream sends the newest lines, then new ones; a reconnect with Last-Event-ID gets only the lines after it', async (t) => {
  const logs = tempLogs();
  t.after(() => logs.cleanup());
  const store = logs.open();
  const tag = store.tagId(tags('web-http-dev-v001-1'));
  store.append(lineRuns([{ tag, text: 'one' }, { tag, text: 'two' }]), []);
  const base = await serve(t, (req, res) => void serveLogStream(store, new URL(req.url ?? '/', 'http://x').searchParams, req, res));

  const texts = (fs: Frame[]) => fs.map((f) => (f.data as { text: string }).text);
  let wrote = false;
  const first = await readFrames(`${base}/?cluster=web-http-dev`, {}, (fs) => {
    if (fs.length === 2 && !wrote) {
      wrote = true;
      store.append(lineRuns([{ tag, text: 'three' }]), []);
    }
    return fs.length >= 3;
  });
  assert.deepEqual(texts(first), ['one', 'two', 'three']);
  assert.deepEqual(first.map((f) => f.event), ['line', 'line', 'line']);
  // Cut after "two" was seen: the browser reconnects with its id and misses nothing, repeats nothing.
  store.append(lineRuns([{ tag, text: 'four' }]), []);
  const resumed = await readFrames(`${base}/?cluster=web-http-dev`, { 'last-event-id': first[1]!.id! }, (fs) => fs.length >= 2);
  assert.deepEqual(texts(resumed), ['three', 'four']);
});

test('the live stream sends the status at once and on change, and events after the Last-Event-ID', async (t) => {
  const state = tempRuntimeState(t);
  const timeline = new Timeline(state.db);
  const event = (message: string) => state.addEvent({ deployment_id: null, env: 'dev', cluster: null, subject: null, kind: 'test', message });
  const seen = event('before the page loaded');
  event('after the page loaded');
  state.addEvent({ deployment_id: null, env: 'prod', cluster: null, subject: null, kind: 'test', message: 'another environment' });
  let active = 'web-http-dev-v001';
  const status = async (): Promise<StatusView> => ({ project: 'shop', env: 'dev', lastDeployment: null, clusters: [{ name: 'web-http-dev', env: 'dev', service: 'web', role: 'http', host: null, url: null, active, groups: [] }] });
  const base = await serve(t, (req, res) => void serveLive({ timeline, status, pollMs: 20 }, 'dev', req, res));

  const frames = await readFrames(`${base}/`, { 'last-event-id': String(seen.id) }, (fs) => {
    if (fs.some((f) => f.event === 'event') && active.endsWith('1')) active = 'web-http-dev-v002';
    return fs.filter((f) => f.event === 'status').length >= 2;
  });
  const events = frames.filter((f) => f.event === 'event').map((f) => (f.data as { message: string }).message);
  assert.deepEqual(events, ['after the page loaded']);
  const actives = frames.filter((f) => f.event === 'status').map((f) => (f.data as StatusView).clusters[0]!.active);
  assert.deepEqual(actives, ['web-http-dev-v001', 'web-http-dev-v002']);
  assert.equal(frames.find((f) => f.event === 'event')?.id, String(seen.id + 1));
});
