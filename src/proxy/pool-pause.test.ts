// Regression: a backend connection paused for backpressure (the client reads slower than the
// backend sends) whose response then ended within the same read went back to the pool paused,
// and the next request on it never got its answer. Found by the security test's request loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { runProxy } from './main.js';
import { unixRequest } from '../util/unix-http.js';

const BIG = Buffer.alloc(4 * 1024 * 1024, 'x');

function get(port: number, urlPath: string, slow: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host: 'c.test' }, agent: false, timeout: 5_000 }, (res) => {
      let n = 0;
      // A slow reader: the proxy's writes to it return false and it pauses the backend socket.
      if (slow) {
        res.pause();
        setTimeout(() => res.resume(), 200);
      }
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in 5 s`)));
    req.on('error', reject);
  });
}

test('a backend socket paused for a slow client is never reused paused', async () => {
  // One backend connection at a time, so the second request reuses the first's socket.
  const backend = http.createServer((req, res) => {
    if (req.url === '/big') res.end(BIG);
    else res.end('small');
  });
  backend.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-pool-'));
  const proxy = await runProxy({ listenHost: '127.0.0.1', listenPort: 0, adminSocket: path.join(dir, 'admin.sock'), routesFile: path.join(dir, 'routes.json'), logFile: path.join(dir, 'proxy.log') });
  try {
    const port = (backend.address() as { port: number }).port;
    const table = {
      version: 1,
      clusters: [{ name: 'c', hosts: ['c.test'], active: 'c-v001', groups: [{ name: 'c-v001', hosts: ['c-v001.test'], backends: [{ server: 'c-v001-1', host: '127.0.0.1', port }] }] }],
    };
    assert.equal((await unixRequest(path.join(dir, 'admin.sock'), 'PUT', '/routes', { body: table })).status, 200);
    for (let i = 0; i < 20; i++) {
      assert.equal(await get(proxy.port, '/big', true), BIG.length);
      assert.equal(await get(proxy.port, '/small', false), 5);
    }
  } finally {
    await proxy.close();
    await new Promise((r) => backend.close(r));
    backend.closeAllConnections();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
