// A DNS load loop for bench/dns.js when dnsperf is not installed: one UDP socket keeps
// `outstanding` A queries in flight for `seconds`, cycling through `names`, and counts answers.
// Queries whose answer never comes are counted lost (after 2 s) and replaced.
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';

export async function loadLoop({ port, names, seconds, outstanding }) {
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  const packets = names.map((name) => dnsPacket.encode({ type: 'query', id: 0, questions: [{ type: 'A', name }] }));
  const inFlight = new Map(); // id -> sent at (ms)
  let next = 0;
  let nextId = 0;
  let completed = 0;
  let lost = 0;
  let latencySum = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let done;
  const finished = new Promise((r) => (done = r));

  const send = () => {
    if (performance.now() >= end) return;
    do nextId = (nextId + 1) & 0xffff;
    while (inFlight.has(nextId));
    const p = Buffer.from(packets[next++ % packets.length]);
    p.writeUInt16BE(nextId, 0);
    inFlight.set(nextId, performance.now());
    sock.send(p, port, '127.0.0.1');
  };
  sock.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    const at = inFlight.get(id);
    if (at === undefined) return;
    inFlight.delete(id);
    completed++;
    latencySum += performance.now() - at;
    if (performance.now() < end) send();
    else if (inFlight.size === 0) done();
  });
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [id, at] of inFlight) {
      if (now - at > 2000) {
        inFlight.delete(id);
        lost++;
        send();
      }
    }
    if (now >= end + 2000) done();
  }, 250);
  for (let i = 0; i < outstanding; i++) send();
  await finished;
  clearInterval(sweep);
  const elapsed = (performance.now() - t0) / 1000;
  sock.close();
  return { qps: completed / elapsed, completed, lost: lost + inFlight.size, latencyMs: latencySum / Math.max(1, completed) };
}
