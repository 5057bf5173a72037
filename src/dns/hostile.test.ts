// Kiln's DNS server against hostile clients (issue 11, defect 14): ANY is no amplifier, one UDP
// source can't make it reflect floods, and idle or trickling TCP connections can't lock new
// clients out. Real sockets on loopback; 127.0.0.2 is a second source address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { dataOf, dig, sampleSnapshot, startTestDns } from './testkit.js';

const query = (name: string, id = 1): Buffer => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
const framed = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TcpClient {
  sock: net.Socket;
  closed: () => boolean;
  whenClosed: Promise<void>;
  /** Sends a query and resolves with its decoded answer. */
  ask(name: string): Promise<dnsPacket.DecodedPacket>;
}

function tcpClient(port: number, from = '127.0.0.1'): Promise<TcpClient> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let isClosed = false;
    const whenClosed = new Promise<void>((r) => sock.on('close', () => ((isClosed = true), r())));
    let buf = Buffer.alloc(0);
    const waiters: Array<(p: dnsPacket.DecodedPacket) => void> = [];
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        waiters.shift()?.(dnsPacket.decode(msg));
      }
    });
    sock.on('error', () => {});
    sock.once('error', reject);
    sock.once('connect', () =>
      resolve({
        sock,
        closed: () => isClosed,
        whenClosed,
        ask: (name) =>
          new Promise((res, rej) => {
            waiters.push(res);
            whenClosed.then(() => rej(new Error(`connection closed before the answer for ${name}`)));
            sock.write(framed(query(name)));
          }),
      }),
    );
  });
}

test('defect 14: ANY gets one HINFO "RFC8482" (RFC 8482), not every record of the name', async (t) => {
  const servers = Array.from({ length: 40 }, (_, i) => ({ name: `big-http-dev-v001-${i + 1}`, address: `127.0.1.${i + 1}`, port: 42000 + i }));
  const snapshot = sampleSnapshot();
  snapshot.clusters.push({ name: 'big-http-dev', address: '127.0.0.1', port: 40300, portName: 'http', groups: [{ name: 'big-http-dev-v001', release: 'r1', servers }] });
  const dns = await startTestDns(snapshot);
  t.after(() => dns.handle.close());

  const any = await dig(dns.port, ['+bufsize=1232', 'big-http-dev-v001.shop.test', 'ANY']);
  assert.equal(any.status, 'NOERROR');
  assert.deepEqual(any.answer.map((r) => r.slice(3).join(' ')), ['HINFO "RFC8482" ""']);
  const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(any.raw)?.[1]);
  assert.ok(size < 128, `the ANY answer is ${size} bytes`);
  // The records are still there for whoever asks for their type.
  assert.equal(dataOf((await dig(dns.port, ['+bufsize=1232', 'big-http-dev-v001.shop.test', 'A'])).answer, 'A').length, 40);
  assert.equal((await dig(dns.port, ['nope.shop.test', 'ANY'])).status, 'NXDOMAIN');
});

test('defect 14: UDP answers are limited per source address: over the limit every second is truncated, the rest dropped', async (t) => {
  // Passed as a variable: a build without the option still compiles this test (and fails it).
  const limits = { tcpIdleMs: 10_000, rateLimit: { perSecond: 10, burst: 20 } };
  const dns = await startTestDns(sampleSnapshot(), limits);
  t.after(() => dns.handle.close());

  const flood = async (from: string, n: number): Promise<{ full: number; truncated: number; none: number }> => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, from, () => r()));
    const got = new Map<number, dnsPacket.DecodedPacket>();
    sock.on('message', (m) => {
      const p = dnsPacket.decode(m);
      got.set(p.id ?? -1, p);
    });
    for (let id = 1; id <= n; id++) sock.send(query('api-http-dev.shop.test', id), dns.port, '127.0.0.1');
    await sleep(500);
    sock.close();
    const answers = [...got.values()];
    const truncated = answers.filter((p) => (p.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE).length;
    return { full: answers.length - truncated, truncated, none: n - answers.length };
  };

  const a = await flood('127.0.0.1', 200);
  t.diagnostic(`200 queries from one source: ${a.full} answered, ${a.truncated} truncated (TC), ${a.none} dropped`);
  assert.ok(a.full >= 20 && a.full <= 30, `a burst of 20 plus the refill is answered: ${a.full}`);
  assert.ok(Math.abs(a.truncated - a.none) <= 2, `over the limit, every second answer is TC: ${a.truncated} vs ${a.none} dropped`);
  // A truncated answer is no bigger than the query and carries no records: nothing to amplify.
  // Another source has its own bucket; TCP (not forgeable) is not limited, so the client's retry works.
  const b = await flood('127.0.0.2', 5);
  assert.deepEqual(b, { full: 5, truncated: 0, none: 0 });
  const overTcp = await dig(dns.port, ['+tcp', 'api-http-dev.shop.test']);
  assert.deepEqual(dataOf(overTcp.answer, 'A'), ['127.0.0.1']);
});

test('defect 14: idle TCP connections do not lock out new clients: the one idle longest is evicted', async (t) => {
  const dns = await startTestDns(sampleSnapshot(), { maxTcpConnections: 4, tcpIdleMs: 60_000 });
  t.after(() => dns.handle.close());

  // The oldest connection is mid-query (half a message sent): it is busy, not idle.
  const busy = await tcpClient(dns.port);
  busy.sock.write(framed(query('api-http-dev.shop.test')).subarray(0, 10));
  const idle: TcpClient[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await tcpClient(dns.port);
    assert.equal((await c.ask('api-http-dev.shop.test')).answers?.length, 1);
    idle.push(c);
    await sleep(20);
  }
  // All four slots are taken; a fifth client is served, and the idlest connection makes room.
  const newcomer = await tcpClient(dns.port);
  const answer = await newcomer.ask('api-http-dev-v004-1.shop.test');
  assert.equal((answer.flags ?? 0) & 0xf, 0, 'NOERROR');
  assert.equal(answer.answers?.length, 1);
  await idle[0]!.whenClosed;
  assert.deepEqual([busy.closed(), idle[1]!.closed(), idle[2]!.closed()], [false, false, false]);
  for (const c of [busy, ...idle, newcomer]) c.sock.destroy();
});

test('defect 14: a TCP connection trickling bytes that never make a query is closed after the idle time', async (t) => {
  const dns = await startTestDns(sampleSnapshot(), { tcpIdleMs: 300 });
  t.after(() => dns.handle.close());
  const c = await tcpClient(dns.port);
  // A length prefix of 200, then one byte every 100 ms: activity, but never a complete query.
  c.sock.write(Buffer.from([0, 200]));
  for (let i = 0; i < 30 && !c.closed(); i++) {
    await sleep(100);
    if (!c.closed()) c.sock.write(Buffer.from([0x61]));
  }
  assert.ok(c.closed(), 'the server closed the trickling connection');
  c.sock.destroy();
  // A client that does send queries keeps its connection past the idle time.
  const good = await tcpClient(dns.port);
  for (let i = 0; i < 5; i++) {
    assert.equal((await good.ask('api-http-dev.shop.test')).answers?.length, 1);
    await sleep(150);
  }
  assert.equal(good.closed(), false);
  good.sock.destroy();
});
