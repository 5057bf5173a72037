// The proxy's public listeners under hostile clients: 10,000+ raw TCP connections carrying random
// bytes, mutated requests, huge headers, bad chunking and lying lengths, while a slowloris client
// sends one byte per second and a well-behaved client keeps making requests. The proxy runs in
// this process, so a crash fails the test; every good request must succeed throughout and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { FUZZ_SEED, mutate, rng, type Rng } from '../util/fuzzkit.js';
import { CLIENT_LIMITS } from './listeners.js';
import { cluster, get, putRoutes, startBackend, startProxy, table } from './testkit.js';

const HOST = 'web.test';
const GOOD = `POST /items?x=1 HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello`;
const TOKENS = ['\r\n', '\r\n\r\n', '\n', '\0', ' ', ':', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 99999999999\r\n', 'Content-Length: -1\r\n', 'Content-Length: 5\r\nContent-Length: 6\r\n',
  'Host: a\r\nHost: b\r\n', 'Connection: upgrade\r\nUpgrade: websocket\r\n', 'Expect: 100-continue\r\n', 'HTTP/0.9', 'HTTP/9.9', 'GET http://evil.example/ ', '%00', '/../../etc/passwd', 'Host: ' + 'a'.repeat(300) + '\r\n'];

function hostile(r: Rng): Buffer {
  switch (r.int(7)) {
    case 0: return r.bytes(1 + r.int(512));
    case 1: {
      let s = GOOD;
      for (let n = 1 + r.int(4); n > 0; n--) s = mutate(r, s, TOKENS);
      return Buffer.from(s, 'latin1');
    }
    case 2: return Buffer.from(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(8_000 + r.int(40_000))}\r\n\r\n`);
    case 3: return Buffer.from(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n${'X-H: 1\r\n'.repeat(500 + r.int(3000))}\r\n`);
    case 4: {
      const chunks = r.pick(['zz\r\nabc\r\n0\r\n\r\n', '5\r\nab\r\n0\r\n\r\n', 'ffffffffffffffff\r\n', '3;ext=' + 'x'.repeat(5000) + '\r\nabc\r\n0\r\n\r\n', '-1\r\n', '3\r\nabc', '0\r\nTrailer: ' + 'y'.repeat(20_000) + '\r\n\r\n']);
      return Buffer.from(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
    }
    case 5: return Buffer.from(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${r.int(100)}\r\n\r\n${'b'.repeat(r.int(50))}`);
    default: return Buffer.from(`${GOOD}${GOOD.slice(0, r.int(GOOD.length))}`);
  }
}

/** Sends `data` (maybe in pieces), half-closes or not, and waits until the proxy closes or `holdMs` passes. */
function send(port: number, data: Buffer, r: Rng): Promise<void> {
  const halfClose = r.int(8) !== 0;
  const holdMs = 300;
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, holdMs);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {});
    s.on('connect', () => {
      const cut = r.int(data.length + 1);
      s.write(data.subarray(0, cut));
      s.write(data.subarray(cut));
      if (halfClose) s.end();
    });
  });
}

test('proxy: 10,000+ hostile connections and a slowloris client; good requests keep succeeding', { timeout: 120_000 }, async (t) => {
  const backend = await startBackend('web-v001-1');
  const proxy = await startProxy();
  const stop = { now: false };
  try {
    assert.equal((await putRoutes(proxy, table(1, cluster('web', 'web-v001', { 'web-v001': [backend] })))).status, 200);
    const r = rng(FUZZ_SEED);
    // Slowloris: a request head one byte a second, never finished: the proxy must cut it.
    const slowAt = Date.now();
    const slow = net.connect(proxy.port, '127.0.0.1');
    slow.on('error', () => {});
    let slowReply = '';
    slow.on('data', (d: Buffer) => (slowReply += d.toString('latin1')));
    const slowClosed = new Promise<number>((resolve) => slow.once('close', () => resolve(Date.now() - slowAt)));
    const head = `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: ${'s'.repeat(1000)}`;
    let sent = 0;
    const drip = setInterval(() => slow.writable && slow.write(head[sent++ % head.length]!), 1000);
    // A well-behaved client all along: each request must succeed, never wait on the others.
    const good = { ok: 0, failed: [] as string[] };
    const goodLoop = (async () => {
      while (!stop.now) {
        try {
          const res = await get(proxy.port, HOST, '/');
          if (res.status === 200 && res.body === 'web-v001-1') good.ok++;
          else good.failed.push(`${res.status} ${res.body}`);
        } catch (e) {
          good.failed.push((e as Error).message);
        }
      }
    })();
    let inputs = 0;
    const N = 10_000;
    const workers = Array.from({ length: 48 }, async () => {
      while (inputs < N) {
        inputs++;
        await send(proxy.port, hostile(r), r);
      }
    });
    await Promise.all(workers);
    stop.now = true;
    await goodLoop;
    const final = await get(proxy.port, HOST, '/');
    assert.equal(final.status, 200, 'the proxy still serves');
    // The slow head is cut near the headers timeout. The bound is generous, yet below Node's
    // default check interval (30 s), which alone would have left this connection open past it.
    const bound = 2 * CLIENT_LIMITS.headersTimeoutMs;
    const slowFor = await Promise.race([slowClosed, new Promise<null>((resolve) => setTimeout(() => resolve(null), bound - (Date.now() - slowAt)).unref())]);
    clearInterval(drip);
    slow.destroy();
    assert.notEqual(slowFor, null, `the slowloris connection was still open ${bound} ms after it connected`);
    assert.match(slowReply, /^HTTP\/1\.1 408 /, 'it is told why');
    t.diagnostic(`seed ${FUZZ_SEED}: ${inputs} hostile connections; slowloris sent ${sent} bytes, cut after ${slowFor} ms; good requests meanwhile: ${good.ok} ok, ${good.failed.length} failed`);
    assert.deepEqual(good.failed, []);
    assert.ok(good.ok > 100, 'good requests were served while the hostile ones ran');
  } finally {
    stop.now = true;
    await proxy.stop();
    await backend.kill();
  }
});
