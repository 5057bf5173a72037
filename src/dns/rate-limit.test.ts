import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { ResponseRateLimiter } from './rate-limit.js';
import { truncatedReply } from './respond.js';

const run = (l: ResponseRateLimiter, source: string, n: number, now: number) => Array.from({ length: n }, () => l.check(source, now));
const count = (vs: string[], v: string) => vs.filter((x) => x === v).length;

test('a source gets its burst at once, then perSecond; over it every slip-th answer is truncated', () => {
  const l = new ResponseRateLimiter({ perSecond: 10, burst: 5, slip: 3 });
  const first = run(l, '192.0.2.1', 11, 0);
  assert.deepEqual(first, ['answer', 'answer', 'answer', 'answer', 'answer', 'drop', 'drop', 'truncate', 'drop', 'drop', 'truncate']);
  // 300 ms refill 3 tokens (10/s); never more than the burst after a long pause.
  assert.equal(count(run(l, '192.0.2.1', 10, 300), 'answer'), 3);
  assert.equal(count(run(l, '192.0.2.1', 10, 60_000), 'answer'), 5);
  // Each source has its own bucket.
  assert.equal(count(run(l, '192.0.2.2', 5, 60_000), 'answer'), 5);
});

test('slip 0 drops everything over the limit; the number of sources tracked is bounded', () => {
  const l = new ResponseRateLimiter({ perSecond: 1, burst: 1, slip: 0, maxSources: 2 });
  assert.deepEqual(run(l, 'a', 4, 0), ['answer', 'drop', 'drop', 'drop']);
  l.check('b', 0);
  l.check('c', 0); // forgets "a", the source tracked longest
  assert.equal(l.check('a', 0), 'answer');
});

test('the truncated reply is the query\'s header and question with QR and TC set, and nothing else', () => {
  const q = dnsPacket.encode({ type: 'query', id: 77, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'api-http-dev.shop.test' }], additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
  const r = truncatedReply(q)!;
  assert.ok(r.length < q.length);
  const p = dnsPacket.decode(r);
  assert.equal(p.id, 77);
  assert.equal(p.type, 'response');
  assert.ok((p.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE);
  assert.ok((p.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
  assert.deepEqual(p.questions, [{ name: 'api-http-dev.shop.test', type: 'A', class: 'IN' }]);
  assert.deepEqual([p.answers, p.authorities, p.additionals], [[], [], []]);
  // Not a plain single question: nothing is sent.
  assert.equal(truncatedReply(q.subarray(0, 20)), null);
  assert.equal(truncatedReply(dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x.test' }] })), null);
});
