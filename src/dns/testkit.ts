// Helpers for the DNS tests: a sample snapshot, a server on 127.0.0.1 with a swappable zone,
// and the real `dig` (package dnsutils) run asynchronously (the server answers from this same
// process, so a synchronous child would block it). Not a test file itself.
import { execFile } from 'node:child_process';
import { startDnsServer, type DnsServerHandle, type DnsServerOptions } from './server.js';
import { buildZone, type Zone, type ZoneSnapshot } from './zone.js';

export const DOMAIN = 'shop.test';
export const DIGEST = 'sha256:' + '4f'.repeat(32);

/** One cluster with its active group (two servers) and a draining older group. */
export function sampleSnapshot(): ZoneSnapshot {
  return {
    domain: DOMAIN,
    clusters: [
      {
        name: 'api-http-dev',
        address: '127.0.0.1',
        port: 40100,
        portName: 'http',
        activeGroup: 'api-http-dev-v004',
        groups: [
          {
            name: 'api-http-dev-v004',
            release: 'r4',
            imageDigest: DIGEST,
            servers: [
              { name: 'api-http-dev-v004-1', address: '127.0.0.11', port: 41001 },
              { name: 'api-http-dev-v004-2', address: '127.0.0.12', port: 41002 },
            ],
          },
          { name: 'api-http-dev-v003', release: 'r3', servers: [{ name: 'api-http-dev-v003-1', address: '127.0.0.13', port: 41003 }] },
        ],
      },
      { name: 'web-http-dev', address: '::1', port: 40200, portName: 'http', groups: [] },
    ],
  };
}

export interface TestDns {
  port: number;
  handle: DnsServerHandle;
  /** Replaces the zone the server reads on its next query. */
  setZone(z: Zone): void;
  logs: string[];
}

export async function startTestDns(snapshot: ZoneSnapshot = sampleSnapshot(), extra: Partial<DnsServerOptions> = {}): Promise<TestDns> {
  let zone = buildZone(snapshot);
  const logs: string[] = [];
  const handle = await startDnsServer({ host: '127.0.0.1', port: 0, zone: () => zone, log: (m) => logs.push(m), ...extra });
  return { port: handle.udpPort, handle, setZone: (z) => (zone = z), logs };
}

export interface DigResult {
  status: string;
  flags: Set<string>;
  opcode: string;
  /** Records as whitespace-split fields: [name, ttl, class, type, ...data]. */
  answer: string[][];
  authority: string[][];
  additional: string[][];
  raw: string;
}

/** Runs dig against 127.0.0.1:port and parses what a user would read in its output. */
export async function dig(port: number, args: string[]): Promise<DigResult> {
  const raw = await new Promise<string>((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], { timeout: 15_000 }, (err, stdout) => {
      // dig exits 9 on no reply; the output still says why, so only a spawn failure is fatal.
      if (err && typeof err.code !== 'number') reject(err);
      else resolve(stdout);
    });
  });
  const header = /opcode: (\S+), status: (\S+),/.exec(raw);
  const flags = /;; flags:([^;]*);/.exec(raw);
  return {
    opcode: header?.[1] ?? '',
    status: header?.[2] ?? `no answer: ${raw.trim().split('\n').slice(-3).join(' | ')}`,
    flags: new Set((flags?.[1] ?? '').trim().split(/\s+/).filter(Boolean)),
    answer: section(raw, 'ANSWER'),
    authority: section(raw, 'AUTHORITY'),
    additional: section(raw, 'ADDITIONAL'),
    raw,
  };
}

function section(raw: string, name: string): string[][] {
  const lines = raw.split('\n');
  const start = lines.indexOf(`;; ${name} SECTION:`);
  if (start === -1) return [];
  const out: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.trim()) break;
    out.push(line.trim().split(/\s+/));
  }
  return out;
}

/** The data fields of the answers of one type, sorted, e.g. ['127.0.0.11', '127.0.0.12']. */
export function dataOf(records: string[][], type: string): string[] {
  return records
    .filter((r) => r[3] === type)
    .map((r) => r.slice(4).join(' '))
    .sort();
}
