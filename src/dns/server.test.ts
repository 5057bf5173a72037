// Kiln's DNS server as a user's `dig` (package dnsutils) sees it, on 127.0.0.1 and a free port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { KilnError } from '../errors.js';
import { startDnsServer } from './server.js';
import { dataOf, dig, DIGEST, sampleSnapshot, startTestDns } from './testkit.js';
import { buildZone, type ZoneSnapshot } from './zone.js';

test('dig gets authoritative A, AAAA, SRV and TXT answers for clusters, groups and servers', async (t) => {
  const dns = await startTestDns();
  t.after(() => dns.handle.close());
  assert.equal(dns.handle.udpPort, dns.handle.tcpPort);

  const cluster = await dig(dns.port, ['api-http-dev.shop.test', 'A']);
  assert.equal(cluster.status, 'NOERROR');
  assert.ok(cluster.flags.has('aa'), 'authoritative');
  assert.ok(!cluster.flags.has('ra'), 'no recursion offered');
  assert.deepEqual(dataOf(cluster.answer, 'A'), ['127.0.0.1']);
  assert.equal(cluster.answer[0]![1], '5', 'TTL 5 s');

  // A group's name gives its servers; a server's name gives that server.
  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev-v004.shop.test'])).answer, 'A'), ['127.0.0.11', '127.0.0.12']);
  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev-v004-2.shop.test'])).answer, 'A'), ['127.0.0.12']);
  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev-v003.shop.test'])).answer, 'A'), ['127.0.0.13']);
  // An IPv6 load balancer is an AAAA record; names ignore case and a trailing dot.
  assert.deepEqual(dataOf((await dig(dns.port, ['WEB-http-DEV.Shop.Test.', 'AAAA'])).answer, 'AAAA'), ['::1']);

  const srv = await dig(dns.port, ['_http._tcp.api-http-dev.shop.test', 'SRV']);
  assert.deepEqual(dataOf(srv.answer, 'SRV'), ['0 1 40100 api-http-dev.shop.test.']);
  const groupSrv = await dig(dns.port, ['_http._tcp.api-http-dev-v004.shop.test', 'SRV']);
  assert.deepEqual(dataOf(groupSrv.answer, 'SRV'), ['0 1 41001 api-http-dev-v004-1.shop.test.', '0 1 41002 api-http-dev-v004-2.shop.test.']);
  // The targets' addresses come along, so no second query is needed.
  assert.deepEqual(dataOf(groupSrv.additional, 'A'), ['127.0.0.11', '127.0.0.12']);

  const txt = await dig(dns.port, ['api-http-dev-v004.shop.test', 'TXT']);
  assert.deepEqual(dataOf(txt.answer, 'TXT'), [`"image=${DIGEST}"`, '"release=r4"']);
  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev-v003.shop.test', 'TXT'])).answer, 'TXT'), ['"release=r3"']);

  const apex = await dig(dns.port, ['shop.test', 'NS']);
  assert.deepEqual(dataOf(apex.answer, 'NS'), ['ns.shop.test.']);
  assert.equal(dataOf((await dig(dns.port, ['shop.test', 'SOA'])).answer, 'SOA').length, 1);
});

test('unknown names in the zone are NXDOMAIN with the SOA; known names without the type are NODATA', async (t) => {
  const dns = await startTestDns();
  t.after(() => dns.handle.close());

  const nx = await dig(dns.port, ['nope-http-dev.shop.test']);
  assert.equal(nx.status, 'NXDOMAIN');
  assert.ok(nx.flags.has('aa'));
  assert.equal(nx.answer.length, 0);
  assert.equal(nx.authority[0]![3], 'SOA');
  assert.equal(nx.authority[0]![0], 'shop.test.');

  const nodata = await dig(dns.port, ['api-http-dev.shop.test', 'MX']);
  assert.equal(nodata.status, 'NOERROR');
  assert.equal(nodata.answer.length, 0);
  assert.equal(nodata.authority[0]![3], 'SOA');
  // _tcp.<cluster> has names below it: it exists, with no records of its own.
  assert.equal((await dig(dns.port, ['_tcp.api-http-dev.shop.test', 'A'])).status, 'NOERROR');
});

test('names outside the zone are REFUSED, with or without recursion desired: Kiln is no resolver', async (t) => {
  const dns = await startTestDns();
  t.after(() => dns.handle.close());
  for (const args of [['example.com'], ['example.com', '+rec'], ['www.example.com', 'A', '+norec'], ['test', 'SOA'], ['ashop.test']]) {
    const r = await dig(dns.port, args);
    assert.equal(r.status, 'REFUSED', args.join(' '));
    assert.equal(r.answer.length, 0);
    assert.ok(!r.flags.has('ra') && !r.flags.has('aa'), args.join(' '));
  }
  // A zone transfer is refused too, and so is a class other than IN.
  assert.equal((await dig(dns.port, ['shop.test', 'AXFR'])).raw.includes('Transfer failed'), true);
  assert.equal((await dig(dns.port, ['-c', 'CH', 'api-http-dev.shop.test', 'TXT'])).status, 'REFUSED');
});

test('TCP answers several queries; a large UDP answer sets TC and dig retries over TCP', async (t) => {
  const servers = Array.from({ length: 60 }, (_, i) => ({ name: `big-http-dev-v001-${i + 1}`, address: `127.0.1.${i + 1}`, port: 42000 + i }));
  const snapshot = sampleSnapshot();
  snapshot.clusters.push({ name: 'big-http-dev', address: '127.0.0.1', port: 40300, portName: 'http', groups: [{ name: 'big-http-dev-v001', release: 'r1', servers }] });
  const dns = await startTestDns(snapshot);
  t.after(() => dns.handle.close());

  // +keepopen: dig sends the second query on the same connection.
  const overTcp = await dig(dns.port, ['+tcp', '+keepopen', 'api-http-dev.shop.test', 'api-http-dev-v004-1.shop.test']);
  assert.ok(overTcp.raw.includes('(TCP)'));
  assert.deepEqual(dataOf(overTcp.answer, 'A'), ['127.0.0.1']);
  assert.match(overTcp.raw, /^api-http-dev-v004-1\.shop\.test\.\s+5\s+IN\s+A\s+127\.0\.0\.11$/m);

  // 60 addresses are more than 512 bytes: without EDNS the UDP answer is truncated.
  const truncated = await dig(dns.port, ['+noedns', '+ignore', 'big-http-dev-v001.shop.test']);
  assert.ok(truncated.flags.has('tc'));
  assert.equal(truncated.answer.length, 0);
  const retried = await dig(dns.port, ['+noedns', 'big-http-dev-v001.shop.test']);
  assert.ok(retried.raw.includes('Truncated, retrying in TCP mode'));
  assert.equal(dataOf(retried.answer, 'A').length, 60);
  // With EDNS (1232 bytes) it fits in one datagram.
  const edns = await dig(dns.port, ['+bufsize=1232', 'big-http-dev-v001.shop.test']);
  assert.ok(!edns.flags.has('tc'));
  assert.equal(dataOf(edns.answer, 'A').length, 60);
});

test('answers change as soon as the snapshot function returns a new snapshot (a deploy switch)', async (t) => {
  const dns = await startTestDns();
  t.after(() => dns.handle.close());
  const before = await dig(dns.port, ['api-http-dev-v005.shop.test']);
  assert.equal(before.status, 'NXDOMAIN');
  // Without a cookie, dig's queries are the same bytes but the id: the server's answer cache
  // must not outlive the snapshot it was built from.
  const cached = ['+nocookie', 'api-http-dev.shop.test'];
  assert.deepEqual(dataOf((await dig(dns.port, cached)).answer, 'A'), ['127.0.0.1']);
  assert.deepEqual(dataOf((await dig(dns.port, cached)).answer, 'A'), ['127.0.0.1']);

  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev.shop.test', 'TXT'])).answer, 'TXT'), ['"group=api-http-dev-v004"', '"release=r4"']);

  const next: ZoneSnapshot = sampleSnapshot();
  const cluster = next.clusters[0]!;
  cluster.address = '127.0.0.2';
  cluster.activeGroup = 'api-http-dev-v005';
  cluster.groups = [{ name: 'api-http-dev-v005', release: 'r5', servers: [{ name: 'api-http-dev-v005-1', address: '127.0.0.15', port: 41005 }] }];
  dns.setZone(buildZone(next));

  // The cluster says which group and release now take its traffic.
  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev.shop.test', 'TXT'])).answer, 'TXT'), ['"group=api-http-dev-v005"', '"release=r5"']);

  assert.deepEqual(dataOf((await dig(dns.port, cached)).answer, 'A'), ['127.0.0.2']);
  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev-v005.shop.test'])).answer, 'A'), ['127.0.0.15']);
  assert.deepEqual(dataOf((await dig(dns.port, ['api-http-dev-v005.shop.test', 'TXT'])).answer, 'TXT'), ['"release=r5"']);
  assert.equal((await dig(dns.port, ['api-http-dev-v004.shop.test'])).status, 'NXDOMAIN');
});

test('opcodes other than QUERY are NOTIMP; a zone that fails to build gives SERVFAIL, not a crash', async (t) => {
  let fail = false;
  const good = buildZone(sampleSnapshot());
  const handle = await startDnsServer({
    host: '127.0.0.1',
    port: 0,
    zone: () => {
      if (fail) throw new Error('state unreadable');
      return good;
    },
  });
  t.after(() => handle.close());
  const notify = await dig(handle.udpPort, ['+opcode=notify', 'shop.test', 'SOA']);
  assert.equal(notify.status, 'NOTIMP');
  fail = true;
  assert.equal((await dig(handle.udpPort, ['api-http-dev.shop.test'])).status, 'SERVFAIL');
  fail = false;
  assert.equal((await dig(handle.udpPort, ['api-http-dev.shop.test'])).status, 'NOERROR');
});

test('a port in use is a clear error; a TCP connection beyond the limit evicts the idlest, and idle ones time out', async (t) => {
  const dns = await startTestDns(sampleSnapshot(), { maxTcpConnections: 2, tcpIdleMs: 300 });
  t.after(() => dns.handle.close());
  await assert.rejects(
    startDnsServer({ host: '127.0.0.1', port: dns.port, zone: () => buildZone(sampleSnapshot()) }),
    (e: unknown) => e instanceof KilnError && e.code === 'PORT_IN_USE' && e.message.includes(String(dns.port)),
  );

  const open = (): Promise<{ sock: net.Socket; closed: Promise<void> }> =>
    new Promise((resolve, reject) => {
      const sock = net.connect(dns.port, '127.0.0.1');
      const closed = new Promise<void>((r) => sock.on('close', () => r()));
      sock.on('error', () => {});
      sock.once('connect', () => resolve({ sock, closed }));
      sock.once('error', reject);
    });
  const a = await open();
  const b = await open();
  const c = await open();
  await a.closed; // over the limit: the connection idle longest makes room
  // Idle connections are closed by the server (a sent half length prefix does not keep it open).
  b.sock.write(Buffer.from([0x00]));
  await Promise.all([b.closed, c.closed]);
  // The server still answers both ways.
  assert.equal((await dig(dns.port, ['+tcp', 'api-http-dev.shop.test'])).status, 'NOERROR');
  assert.equal((await dig(dns.port, ['api-http-dev.shop.test'])).status, 'NOERROR');
});
