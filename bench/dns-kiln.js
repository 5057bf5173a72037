// Kiln's DNS server as its own process for bench/dns.js: serves the zone of the snapshot in the
// JSON file argv[2] on 127.0.0.1 (a free port) and prints the port on stdout; argv[3] = cache
// size ("-" or absent: the server's own), argv[4] = UDP answers per second per source (absent:
// the server's default; the benchmark's single source needs it far above its query rate, so the
// limiter runs on every query without dropping one).
import { readFileSync } from 'node:fs';
import { startDnsServer } from '../dist/src/dns/server.js';
import { buildZone } from '../dist/src/dns/zone.js';

const zone = buildZone(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const cacheSize = process.argv[3] === undefined || process.argv[3] === '-' ? {} : { cacheSize: Number(process.argv[3]) };
const rateLimit = process.argv[4] === undefined ? {} : { rateLimit: { perSecond: Number(process.argv[4]) } };
const handle = await startDnsServer({ host: '127.0.0.1', port: 0, zone: () => zone, log: (m) => console.error(m), ...cacheSize, ...rateLimit });
console.log(handle.udpPort);
const stop = () => handle.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
