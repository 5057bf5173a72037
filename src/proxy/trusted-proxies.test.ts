// Which client-sent forwarding headers reach a backend: from any client, none of X-Forwarded-*,
// Forwarded or X-Real-IP (anyone can write them); from a peer in the route table's
// trustedProxies, all of them, with the proxy's own hop added to X-Forwarded-For. The table's
// ranges are validated like the rest of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, putRoutes, startProxy, table, type TestBackend } from './testkit.js';
import { rawExchange, startRawBackend } from './raw-testkit.js';

const CLAIMS =
  'X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Host: shop.example\r\nX-Forwarded-Proto: https\r\n' +
  'Forwarded: for=198.51.100.7;proto=https\r\nX-Real-IP: 198.51.100.7\r\n';

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const b = await startRawBackend();
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.close();
  });
  return { b, p, web: cluster('web', 'web-v001', { 'web-v001': [b] as unknown as TestBackend[] }) };
}

const forwarding = (headers: string[]) => headers.filter((h) => /^(x-forwarded-[a-z]+|forwarded|x-real-ip):/i.test(h));

test('a client that is not a trusted proxy cannot claim another address, host or scheme', async (t) => {
  const { b, p, web } = await setup(t);
  // 127.0.0.2/32 trusts some other proxy, not the client at 127.0.0.1.
  assert.equal((await putRoutes(p, { ...table(1, web), trustedProxies: ['127.0.0.2/32'] })).status, 200);
  const reply = await rawExchange(p.port, `GET / HTTP/1.1\r\nHost: web.test\r\n${CLAIMS}Connection: close\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.deepEqual(forwarding(b.requests[0]!.headers), ['X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Host: web.test', 'X-Forwarded-Proto: http']);
});

test('a trusted proxy\'s forwarding headers are passed on, its address added to X-Forwarded-For', async (t) => {
  const { b, p, web } = await setup(t);
  assert.equal((await putRoutes(p, { ...table(1, web), trustedProxies: ['10.0.0.0/8', '127.0.0.0/8', '::1'] })).status, 200);
  const reply = await rawExchange(p.port, `GET / HTTP/1.1\r\nHost: web.test\r\n${CLAIMS}Connection: close\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.deepEqual(forwarding(b.requests[0]!.headers), [
    'Forwarded: for=198.51.100.7;proto=https',
    'X-Real-IP: 198.51.100.7',
    'X-Forwarded-For: 198.51.100.7, 127.0.0.1',
    'X-Forwarded-Host: shop.example',
    'X-Forwarded-Proto: https',
  ]);
  // A new table without the list trusts nobody again.
  assert.equal((await putRoutes(p, table(2, web))).status, 200);
  await rawExchange(p.port, `GET / HTTP/1.1\r\nHost: web.test\r\n${CLAIMS}Connection: close\r\n\r\n`);
  assert.deepEqual(forwarding(b.requests[1]!.headers), ['X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Host: web.test', 'X-Forwarded-Proto: http']);
});

test('a route table with a bad trusted-proxy range is refused whole, naming the entry', async (t) => {
  const { p, web } = await setup(t);
  for (const bad of ['10.0.0.0/33', 'example.com', '::1/129', '10.0.0.0/']) {
    const r = await putRoutes(p, { ...table(1, web), trustedProxies: ['127.0.0.1', bad] });
    assert.equal(r.status, 400, bad);
    assert.match((r.json as { message: string }).message, /trustedProxies\[1\]: must be/, bad);
  }
});
