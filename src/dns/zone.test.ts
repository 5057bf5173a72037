// The zone as data: which records a snapshot gives, without sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleSnapshot } from './testkit.js';
import { buildZone, TTL } from './zone.js';

import type { Answer } from 'dns-packet';

const data = (answers: Answer[]): unknown[] => answers.map((a) => ('data' in a ? a.data : undefined));

test('a group with two servers at one address has one A record; SRV keeps both ports', () => {
  const s = sampleSnapshot();
  const g = s.clusters[0]!.groups[0]!;
  g.servers = g.servers.map((sv) => ({ ...sv, address: '127.0.0.1' }));
  const z = buildZone(s);
  assert.deepEqual(data(z.lookup('api-http-dev-v004.shop.test', 'A').answers), ['127.0.0.1']);
  assert.deepEqual(
    z.lookup('_http._tcp.api-http-dev-v004.shop.test', 'SRV').answers.map((a) => (a.type === 'SRV' ? a.data.port : 0)),
    [41001, 41002],
  );
  assert.ok(z.lookup('api-http-dev.shop.test', 'A').answers.every((a) => 'ttl' in a && a.ttl === TTL));
});

test('answers keep the asker\'s spelling of the name; lookups ignore case', () => {
  const z = buildZone(sampleSnapshot());
  const a = z.lookup('API-Http-Dev.SHOP.test.', 'A');
  assert.equal(a.rcode, 'NOERROR');
  assert.equal(a.answers[0]!.name, 'API-Http-Dev.SHOP.test.');
});

test('ANY is answered minimally (RFC 8482): one HINFO for a name with records, NXDOMAIN and NODATA as for any type', () => {
  const z = buildZone(sampleSnapshot());
  for (const name of ['api-http-dev-v004.shop.test', 'shop.test', 'api-http-dev.shop.test']) {
    const a = z.lookup(name, 'ANY');
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.answers, [{ name, type: 'HINFO', ttl: 5, data: { cpu: 'RFC8482', os: '' } }]);
    assert.deepEqual([a.authorities, a.additionals], [[], []]);
  }
  assert.equal(z.lookup('nope.shop.test', 'ANY').rcode, 'NXDOMAIN');
  const nodata = z.lookup('_tcp.api-http-dev.shop.test', 'ANY');
  assert.deepEqual([nodata.rcode, nodata.answers.length, nodata.authorities[0]?.type], ['NOERROR', 0, 'SOA']);
});

test('the SOA serial follows the content: same snapshot, same serial; a change, another', () => {
  const a = buildZone(sampleSnapshot());
  const b = buildZone(sampleSnapshot());
  const changed = sampleSnapshot();
  changed.clusters[0]!.address = '127.0.0.9';
  assert.equal(a.serial, b.serial);
  assert.notEqual(buildZone(changed).serial, a.serial);
  assert.equal(buildZone(sampleSnapshot(), { serial: 7 }).serial, 7);
});

test('entries that cannot be records are skipped and reported, the rest still answers', () => {
  const s = sampleSnapshot();
  s.clusters[0]!.groups[0]!.servers.push({ name: 'api-http-dev-v004-3', address: 'not-an-ip', port: 1 });
  s.clusters.push({ name: 'Bad_Name', address: '127.0.0.1', groups: [] });
  const z = buildZone(s);
  assert.equal(z.problems.length, 2);
  assert.match(z.problems.join('\n'), /not-an-ip/);
  assert.match(z.problems.join('\n'), /Bad_Name/);
  assert.equal(z.lookup('api-http-dev-v004.shop.test', 'A').answers.length, 2);
  assert.throws(() => buildZone({ domain: 'bad domain', clusters: [] }));
});

test('a name server address gives ns.<domain> an A record, returned as glue with NS', () => {
  const z = buildZone(sampleSnapshot(), { nameServerAddress: '127.0.0.53' });
  const ns = z.lookup('shop.test', 'NS');
  assert.deepEqual(data(ns.additionals), ['127.0.0.53']);
  assert.equal(buildZone(sampleSnapshot()).lookup('ns.shop.test', 'A').rcode, 'NXDOMAIN');
});
