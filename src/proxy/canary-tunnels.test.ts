// WebSocket tunnels under a canary split: an upgrade is placed once by the client's kiln-canary
// cookie and stays on its group while the weight changes; an abort (the canary group leaves the
// route table) closes the canary's tunnels and none of the stable group's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { cluster, putRoutes, startProxy, table, type TestBackend } from './testkit.js';
import { closed, handshake, readBytes, startEchoBackend, type EchoBackend } from './upgrade-testkit.js';
import { BUCKETS, offsetOf, onCanary, thresholdOf } from './split.js';
import type { ClusterRoute } from './routes.js';

const asBackends = (bs: EchoBackend[]) => bs as unknown as TestBackend[];

/** A bucket on the canary at `on`% but not at `off`% (or at no weight when off is 0). */
function bucketBetween(group: string, on: number, off: number): number {
  for (let b = 0; b < BUCKETS; b++) {
    if (onCanary(b, thresholdOf(on), offsetOf(group)) && !onCanary(b, thresholdOf(off), offsetOf(group))) return b;
  }
  throw new Error('no such bucket');
}

async function open(port: number, bucket: number): Promise<{ socket: net.Socket; backend: string }> {
  const h = await handshake(port, 'web.test', `Cookie: kiln-canary=${bucket}\r\n`);
  assert.equal(h.status, 101);
  const greeting = (await readBytes(h.socket, 1, h.rest)).toString();
  return { socket: h.socket, backend: greeting.split('\n')[0]! };
}

async function echo(socket: net.Socket, text: string): Promise<void> {
  const payload = Buffer.from(text);
  const back = readBytes(socket, payload.length);
  socket.write(payload);
  assert.ok((await back).equals(payload));
}

test('a tunnel stays on the group its cookie chose while the weight changes; an abort closes only the canary\'s', async (t) => {
  const v1 = await startEchoBackend('web-v001-1');
  const v2 = await startEchoBackend('web-v002-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([v1.kill(), v2.kill()]);
  });
  const both = { 'web-v001': asBackends([v1]), 'web-v002': asBackends([v2]) };
  const withCanary = (weight: number): ClusterRoute => ({ ...cluster('web', 'web-v001', both), canary: { group: 'web-v002', weight } });
  assert.equal((await putRoutes(p, table(1, withCanary(50)))).status, 200);

  const moving = bucketBetween('web-v002', 50, 10); // canary at 50%, stable at 10%
  const stableBucket = bucketBetween('web-v002', 100, 50); // stable at 50%
  const onCanaryTunnel = await open(p.port, moving);
  assert.match(onCanaryTunnel.backend, /^web-v002-1/);
  const onStableTunnel = await open(p.port, stableBucket);
  assert.match(onStableTunnel.backend, /^web-v001-1/);

  // The weight goes down to 10%: the open tunnel stays where it is; a new one with that cookie goes to stable.
  assert.equal((await putRoutes(p, table(2, withCanary(10)))).status, 200);
  await echo(onCanaryTunnel.socket, 'still on the canary');
  const again = await open(p.port, moving);
  assert.match(again.backend, /^web-v001-1/);

  // Abort: the canary group leaves the table. Its tunnel is closed; the stable ones live on.
  const gone = closed(onCanaryTunnel.socket);
  assert.equal((await putRoutes(p, table(3, cluster('web', 'web-v001', { 'web-v001': asBackends([v1]) })))).status, 200);
  await gone;
  await echo(onStableTunnel.socket, 'stable serves on');
  await echo(again.socket, 'and this one');
  onStableTunnel.socket.destroy();
  again.socket.destroy();
});
