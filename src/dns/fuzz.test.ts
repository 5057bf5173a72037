// The DNS server must survive anything: 10,000+ random and mutated packets over UDP and a few
// hundred over TCP (split anywhere, truncated length prefixes, lengths that lie), after which it
// still answers correctly. The server runs in this process, so a crash fails the test. The
// generator is seeded: a failure prints the seed that reproduces it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Packet, RecordType } from 'dns-packet';
import { rng } from '../util/fuzzkit.js';
import { respond } from './respond.js';
import { dataOf, dig, sampleSnapshot, startTestDns } from './testkit.js';
import { buildZone } from './zone.js';

const SEED = Number(process.env.KILN_FUZZ_SEED ?? 0x6b696c6e);


const NAMES = ['api-http-dev.shop.test', 'api-http-dev-v004.shop.test', 'api-http-dev-v004-1.shop.test', '_http._tcp.api-http-dev.shop.test', 'shop.test', 'nope.shop.test', 'example.com', '.', 'a.b.c.d.e.f.shop.test'];
const TYPES: RecordType[] = ['A', 'AAAA', 'SRV', 'TXT', 'SOA', 'NS', 'MX', 'CNAME', 'PTR', 'AXFR', 'OPT', 'CAA'];

function packets(random: () => number): () => Buffer {
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const valid = (): Buffer => {
    const p: Packet = {
      type: 'query',
      id: int(65536),
      flags: int(2) ? dnsPacket.RECURSION_DESIRED : 0,
      questions: Array.from({ length: int(10) ? 1 : int(3) }, () => ({ type: pick(TYPES), name: pick(NAMES), class: int(8) ? 'IN' : pick(['CH', 'ANY', 'HS'] as const) })),
    };
    if (int(2)) p.additionals = [{ name: '.', type: 'OPT', udpPayloadSize: pick([0, 100, 512, 1232, 4096, 65535]), extendedRcode: 0, ednsVersion: int(6) ? 0 : 1, flags: 0, flag_do: false, options: [] }];
    return dnsPacket.encode(p);
  };
  const mutate = (b: Buffer): Buffer => {
    const out = Buffer.from(b);
    switch (int(7)) {
      case 0: // flip bits
        for (let i = int(8) + 1; i > 0; i--) out[int(out.length)]! ^= 1 << int(8);
        return out;
      case 1: // truncate
        return out.subarray(0, int(out.length));
      case 2: // trailing garbage
        return Buffer.concat([out, bytes(int(64))]);
      case 3: // section counts that lie
        out.writeUInt16BE(int(65536), 4 + 2 * int(4));
        return out;
      case 4: // a compression pointer to itself, or forward, in the question
        out[12] = 0xc0;
        out[13] = int(2) ? 12 : int(256);
        return out;
      case 5: // an odd opcode, or the QR bit
        out[2] = int(256);
        return out;
      default: // overwrite a run of bytes
        bytes(int(16)).copy(out, int(out.length));
        return out;
    }
  };
  return () => {
    const r = random();
    if (r < 0.2) return valid();
    if (r < 0.85) return mutate(valid());
    return bytes(int(600));
  };
}

/** Every byte the server sends back must be a well-formed DNS response. */
function assertResponse(buf: Buffer): void {
  const d = dnsPacket.decode(buf);
  assert.equal(d.flag_qr, true);
  assert.equal(d.flag_ra, false);
}

test(`10,000 random and mutated UDP packets, then correct answers (seed ${SEED})`, async (t) => {
  // Every packet comes from one source, faster than the per-source answer limit allows when the
  // machine is quiet: this test counts answers, so the limit (tested in rate-limit tests) is off.
  const dns = await startTestDns(undefined, { rateLimit: null });
  const client = dgram.createSocket('udp4');
  t.after(async () => {
    client.close();
    await dns.handle.close();
  });
  let received = 0;
  const bad: string[] = [];
  client.on('message', (msg) => {
    received++;
    try {
      assertResponse(msg);
    } catch (e) {
      bad.push(`${msg.toString('hex')}: ${(e as Error).message}`);
    }
  });
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  const next = packets(rng(SEED));
  // How many packets deserve an answer, by the same pure function the server uses.
  const zone = buildZone(sampleSnapshot());
  let expected = 0;
  for (let i = 0; i < 10_000; i += 100) {
    const batch = Array.from({ length: 100 }, () => next());
    expected += batch.filter((p) => respond(p, () => zone, 'udp') !== null).length;
    await Promise.all(batch.map((p) => new Promise<void>((r) => client.send(p, dns.port, '127.0.0.1', () => r()))));
    // Wait for this batch's answers before the next, so no datagram is lost to a full socket
    // buffer instead of being handled (bounded, in case one is lost anyway).
    for (let waited = 0; received < expected && waited < 200; waited++) await new Promise((r) => setTimeout(r, 5));
  }
  t.diagnostic(`${received} answers to 10,000 packets, ${expected} expected`);
  assert.deepEqual(bad, []);
  // UDP may drop a datagram on a busy machine; anything beyond a handful means lost answers.
  assert.ok(received >= expected - 20 && received <= expected, `${received} answers, ${expected} expected`);

  const after = await dig(dns.port, ['api-http-dev-v004.shop.test']);
  assert.deepEqual(dataOf(after.answer, 'A'), ['127.0.0.11', '127.0.0.12']);
  assert.equal((await dig(dns.port, ['example.com'])).status, 'REFUSED');
});

test(`hundreds of mutated TCP messages, split and with lying length prefixes, then correct answers (seed ${SEED})`, async (t) => {
  const dns = await startTestDns(undefined, { tcpIdleMs: 1_000 });
  t.after(() => dns.handle.close());
  const random = rng(SEED + 1);
  const next = packets(random);
  const bad: string[] = [];
  let answers = 0;

  // Each connection ends with this query (before its tail): garbage earlier on the same
  // connection must not stop it being answered.
  const FINAL_ID = 0xbeef;
  const finalQuery = dnsPacket.encode({ type: 'query', id: FINAL_ID, questions: [{ type: 'A', name: 'api-http-dev-v004-1.shop.test' }] });
  let finalAnswers = 0;

  const connection = async (messages: Buffer[], tail: Buffer): Promise<void> => {
    const framed = Buffer.concat([
      ...[...messages, finalQuery].map((m) => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(m.length);
        return Buffer.concat([len, m]);
      }),
      tail,
    ]);
    const sock = net.connect(dns.port, '127.0.0.1');
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const msg = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + msg.length);
        answers++;
        try {
          assertResponse(msg);
          const d = dnsPacket.decode(msg);
          if (d.id === FINAL_ID && d.answers?.[0]?.type === 'A' && d.answers[0].data === '127.0.0.11') finalAnswers++;
        } catch (e) {
          bad.push(`${msg.toString('hex')}: ${(e as Error).message}`);
        }
      }
    });
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('error', () => {}); // the server may cut a connection whose stream is out of step
    await new Promise<void>((r) => sock.once('connect', () => r()));
    // Split the stream at random points, as TCP may.
    for (let at = 0; at < framed.length; ) {
      const n = 1 + Math.floor(random() * 200);
      sock.write(framed.subarray(at, at + n));
      at += n;
    }
    sock.end();
    await closed;
  };

  const tails = (): Buffer => {
    switch (Math.floor(random() * 4)) {
      case 0:
        return Buffer.alloc(0);
      case 1:
        return Buffer.from([0x01]); // half a length prefix
      case 2:
        return Buffer.from([0x02, 0x00, 0xab, 0xcd]); // claims 512 bytes, sends 2
      default:
        return Buffer.from([0x00, 0x00]); // a zero-length message
    }
  };
  let sent = 0;
  for (let batch = 0; batch < 10; batch++) {
    // Four connections at a time, ten messages each.
    await Promise.all(
      Array.from({ length: 4 }, () => {
        const msgs = Array.from({ length: 10 }, () => next());
        sent += msgs.length;
        return connection(msgs, tails());
      }),
    );
  }
  t.diagnostic(`${answers} answers to ${sent} messages (+40 final queries) on 40 connections`);
  assert.ok(sent >= 400);
  // (A random message could carry the same id, so at least one answer per connection.)
  assert.ok(finalAnswers >= 40, `${finalAnswers} of 40 connections answered their last query`);
  assert.deepEqual(bad, []);
  assert.ok(answers > 0);

  const after = await dig(dns.port, ['+tcp', '_http._tcp.api-http-dev-v004.shop.test', 'SRV']);
  assert.equal(dataOf(after.answer, 'SRV').length, 2);
  assert.equal((await dig(dns.port, ['api-http-dev.shop.test'])).status, 'NOERROR');
});
