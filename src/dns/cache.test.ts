// The answer cache (cache.ts) must answer exactly what respond.ts answers, byte for byte, for any
// query: every spelling of a name, EDNS or none, truncation, REFUSED outside the zone, FORMERR
// and BADVERS, and mutated packets. It builds one entry per (name lowercased, type, class, RD,
// EDNS size, transport), echoes the asker's id and spelling, and starts over for a new zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import type { Packet, RecordType } from 'dns-packet';
import { parse, ResponseCache } from './cache.js';
import { rng } from '../util/fuzzkit.js';
import { respond, type Transport } from './respond.js';
import { sampleSnapshot } from './testkit.js';
import { buildZone, type Zone, type ZoneSnapshot } from './zone.js';

const rcodeOf = (p: dnsPacket.DecodedPacket): string => (p as unknown as { rcode: string }).rcode;
const dataOf = (a: dnsPacket.Answer): unknown => (a as { data?: unknown }).data;


/**
 * The sample zone plus a group of 80 servers, whose A answer fits neither 512 bytes nor 1232, and
 * one of 20, whose answer fits 1232 but not 512: truncation depends on the client's EDNS size.
 */
function bigSnapshot(): ZoneSnapshot {
  const s = sampleSnapshot();
  for (const [name, n] of [['big', 80], ['mid', 20]] as const) {
    const servers = Array.from({ length: n }, (_, i) => ({ name: `${name}-http-dev-v001-${i + 1}`, address: `127.${n}.0.${i + 20}`, port: 42000 + i }));
    s.clusters.push({ name: `${name}-http-dev`, address: '127.0.0.3', port: 40300 + n, portName: 'http', activeGroup: `${name}-http-dev-v001`, groups: [{ name: `${name}-http-dev-v001`, release: 'r1', servers }] });
  }
  return s;
}

const NAMES = [
  'api-http-dev.shop.test', 'api-http-dev-v004.shop.test', 'api-http-dev-v004-1.shop.test', '_http._tcp.api-http-dev.shop.test', '_tcp.api-http-dev.shop.test',
  'shop.test', 'ns.shop.test', 'nope.shop.test', 'big-http-dev-v001.shop.test', '_http._tcp.big-http-dev-v001.shop.test', 'mid-http-dev-v001.shop.test', 'web-http-dev.shop.test', 'example.com', '.',
];
// ANY and HTTPS (type 65, whose low byte is 'A' in latin1) are not in dns-packet's RecordType.
const TYPES = ['A', 'AAAA', 'SRV', 'TXT', 'SOA', 'NS', 'ANY', 'MX', 'CAA', 'AXFR', 'OPT', 'UNKNOWN_65'] as unknown as RecordType[];

function query(random: () => number): Buffer {
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  // Random case ("0x20"), as some resolvers send it.
  const name = [...pick(NAMES)].map((c) => (int(2) ? c.toUpperCase() : c)).join('');
  const p: Packet = {
    type: 'query',
    id: int(65536),
    flags: (int(2) ? dnsPacket.RECURSION_DESIRED : 0) | (int(4) ? 0 : dnsPacket.CHECKING_DISABLED),
    questions: [{ type: int(20) ? pick(TYPES) : (`UNKNOWN_${65280 + int(10)}` as RecordType), name, class: int(8) ? 'IN' : pick(['CH', 'ANY', 'HS'] as const) }],
  };
  if (int(3)) {
    const options = int(2) ? [] : int(3) ? [{ code: 10, data: Buffer.from('0123456789abcdef', 'hex') }] : [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '127.0.0.0' }];
    p.additionals = [{ name: '.', type: 'OPT', udpPayloadSize: pick([0, 100, 512, 1232, 4096, 65535]), extendedRcode: 0, ednsVersion: int(8) ? 0 : 1, flags: int(2) ? dnsPacket.DNSSEC_OK : 0, flag_do: false, options } as Packet['additionals'] extends Array<infer A> | undefined ? A : never];
  }
  return dnsPacket.encode(p);
}

function mutate(b: Buffer, random: () => number): Buffer {
  const int = (n: number): number => Math.floor(random() * n);
  const out = Buffer.from(b);
  switch (int(5)) {
    case 0:
      for (let i = int(4) + 1; i > 0; i--) out[int(out.length)]! ^= 1 << int(8);
      return out;
    case 1:
      return out.subarray(0, int(out.length));
    case 2:
      return Buffer.concat([out, Buffer.from([int(256), int(256), int(256)])]);
    case 3:
      out.writeUInt16BE(int(3), 4 + 2 * int(4));
      return out;
    default:
      out[2] = int(256);
      return out;
  }
}

const same = (cache: ResponseCache, q: Buffer, zone: Zone, transport: Transport, what: string): void => {
  const want = respond(q, () => zone, transport);
  const got = cache.respond(q, () => zone, transport);
  assert.deepEqual(got === null ? null : got.toString('hex'), want === null ? null : want.toString('hex'), `${what}: ${q.toString('hex')}`);
};

test('byte for byte what respond.ts answers: 20,000 queries in every spelling, EDNS size, class and type, and mutated ones, on UDP and TCP', () => {
  const zone = buildZone(bigSnapshot());
  const random = rng(0x20dead);
  for (const transport of ['udp', 'tcp'] as const) {
    const cache = new ResponseCache(4096);
    for (let i = 0; i < 10_000; i++) {
      const q = query(random);
      same(cache, i % 4 === 3 ? mutate(q, random) : q, zone, transport, `${transport} #${i}`);
    }
    // Far fewer entries than queries: one per key, whatever the spelling and id.
    assert.ok(cache.built > 0 && cache.built < 3000, `${cache.built} entries`);
  }
});

test('EDNS options dns-packet decodes itself, when malformed, get respond.ts\'s answer, not a cached one', () => {
  const zone = buildZone(sampleSnapshot());
  const cache = new ResponseCache(4096);
  const base = (options: Buffer): Buffer => {
    const q = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: 'api-http-dev.shop.test' }], additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } as Packet);
    const out = Buffer.concat([q, options]);
    out.writeUInt16BE(options.length, q.length - 2);
    return out;
  };
  // The well-formed query first, so an entry for its key exists.
  same(cache, base(Buffer.alloc(0)), zone, 'udp', 'no options');
  for (const code of [8, 11, 14]) {
    for (const data of [Buffer.alloc(0), Buffer.from([1]), Buffer.from([0, 1, 24])]) {
      const opt = Buffer.alloc(4 + data.length);
      opt.writeUInt16BE(code, 0);
      opt.writeUInt16BE(data.length, 2);
      data.copy(opt, 4);
      same(cache, base(opt), zone, 'udp', `option ${code} with ${data.length} bytes`);
    }
  }
});

test('one entry for every spelling of a name; each answer echoes its own id and spelling in the question and the answers', () => {
  const zone = buildZone(sampleSnapshot());
  const cache = new ResponseCache(4096);
  const ask = (name: string, id: number): dnsPacket.DecodedPacket =>
    dnsPacket.decode(cache.respond(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), () => zone, 'udp')!);
  const first = ask('api-http-dev-v004.shop.test', 1);
  assert.deepEqual(first.answers?.map((a) => [a.name, dataOf(a)]), [['api-http-dev-v004.shop.test', '127.0.0.11'], ['api-http-dev-v004.shop.test', '127.0.0.12']]);
  for (const [i, name] of ['API-HTTP-DEV-V004.SHOP.TEST', 'Api-Http-Dev-V004.Shop.Test', 'aPi-hTtP-dEv-v004.sHoP.tEsT'].entries()) {
    const r = ask(name, 1000 + i);
    assert.equal(r.id, 1000 + i);
    assert.equal(r.questions?.[0]?.name, name);
    assert.deepEqual(r.answers?.map((a) => [a.name, dataOf(a)]), [[name, '127.0.0.11'], [name, '127.0.0.12']]);
  }
  assert.equal(cache.built, 1);
  // Outside the zone: REFUSED from the cache too, the question as asked.
  const refused = ask('Example.COM', 7);
  assert.equal(rcodeOf(refused), 'REFUSED');
  assert.equal(refused.questions?.[0]?.name, 'Example.COM');
});

test('a new zone starts an empty cache: the very next answer is the new one', () => {
  const cache = new ResponseCache(4096);
  const q = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'api-http-dev.shop.test' }] });
  const before = buildZone(sampleSnapshot());
  const a = (z: Zone): string[] => (dnsPacket.decode(cache.respond(q, () => z, 'udp')!).answers ?? []).map((r) => String(dataOf(r)));
  assert.deepEqual(a(before), ['127.0.0.1']);
  assert.deepEqual(a(before), ['127.0.0.1']);
  assert.equal(cache.built, 1);
  const moved = sampleSnapshot();
  moved.clusters[0]!.address = '127.0.0.2';
  const after = buildZone(moved);
  assert.deepEqual(a(after), ['127.0.0.2']);
  assert.equal(cache.built, 1, 'the old zone\'s entries are gone');
  // A zone that cannot be built (the snapshot function throws): SERVFAIL, as without the cache.
  const servfail = dnsPacket.decode(cache.respond(q, () => { throw new Error('no state'); }, 'udp')!);
  assert.equal(rcodeOf(servfail), 'SERVFAIL');
});

test('an answer too big for UDP is truncated (TC, no records) from the cache too, and whole over TCP', () => {
  const zone = buildZone(bigSnapshot());
  const cache = new ResponseCache(4096);
  const q = (edns: boolean): Buffer =>
    dnsPacket.encode({ type: 'query', id: 5, questions: [{ type: 'A', name: 'BIG-http-dev-v001.shop.test' }], ...(edns ? { additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } : {}) } as Packet);
  for (const edns of [false, true]) {
    for (let i = 0; i < 2; i++) {
      const udp = dnsPacket.decode(cache.respond(q(edns), () => zone, 'udp')!);
      assert.equal(udp.flag_tc, true);
      assert.equal(udp.answers?.length, 0);
      assert.equal(udp.questions?.[0]?.name, 'BIG-http-dev-v001.shop.test');
      assert.equal(udp.additionals?.some((a) => a.type === 'OPT'), edns, 'an EDNS client gets an OPT back');
    }
  }
  const tcp = dnsPacket.decode(cache.respond(q(false), () => zone, 'tcp')!);
  assert.equal(tcp.flag_tc, false);
  assert.equal(tcp.answers?.length, 80);
  assert.ok(tcp.answers?.every((a) => a.name === 'BIG-http-dev-v001.shop.test'));
});

test('size 0: no cache, the same answers', () => {
  const zone = buildZone(sampleSnapshot());
  const cache = new ResponseCache(0);
  const random = rng(7);
  for (let i = 0; i < 500; i++) same(cache, query(random), zone, 'udp', `#${i}`);
  assert.equal(cache.built, 0);
});

test('two names whose key hashes collide each get their own answer', () => {
  // Names n<i>.shop.test, by hand (dns-packet would be slow for this many): a collision of the
  // 32-bit hash turns up after ~80k of them (birthday bound).
  const q = (name: string): Buffer => {
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
    return Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  };
  const seen = new Map<number, string>();
  let pair: [string, string] | null = null;
  for (let i = 0; i < 1_000_000 && !pair; i++) {
    const name = `n${i}.shop.test`;
    const h = parse(q(name), 'udp')!.hash;
    const other = seen.get(h);
    if (other !== undefined) pair = [other, name];
    else seen.set(h, name);
  }
  assert.ok(pair, 'a collision among a million names');
  // Both names exist, with different addresses, so a mixed-up answer would show.
  const snapshot = sampleSnapshot();
  pair.forEach((name, i) => snapshot.clusters.push({ name: name.split('.')[0]!, address: `127.0.0.${7 + i}`, groups: [] }));
  const zone = buildZone(snapshot);
  const cache = new ResponseCache(4096);
  for (const name of [...pair, ...pair]) same(cache, q(name), zone, 'udp', name);
  assert.equal(cache.built, 1, 'one entry for the hash; the other name is answered by respond.ts');
});
