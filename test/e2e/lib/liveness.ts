// Probes that measure whether the control plane stays responsive while it works: a DNS query
// every few tens of milliseconds (the longest silence between answers is the figure), and the
// API call `kiln status` makes, one after another (the slowest answer is the figure).
import dgram from 'node:dgram';
import path from 'node:path';
import * as dnsPacket from 'dns-packet';
import { ApiClient } from '../../../src/server/client.js';

export interface DnsProbeReport {
  sent: number;
  answered: number;
  /** The longest time without any answer, from the probe's start to its stop (ms). */
  longestSilenceMs: number;
  /** The slowest answer (ms). */
  maxLatencyMs: number;
}

export interface Probe<R> {
  stop(): Promise<R>;
}

/** Asks Kiln's DNS server at 127.0.0.1:`port` for `name` (A) every `intervalMs`. */
export function probeDns(port: number, name: string, intervalMs = 40): Probe<DnsProbeReport> {
  const sock = dgram.createSocket('udp4');
  const sentAt = new Map<number, number>();
  const started = performance.now();
  let lastAnswer = started;
  const report: DnsProbeReport = { sent: 0, answered: 0, longestSilenceMs: 0, maxLatencyMs: 0 };
  let id = 0;
  sock.on('message', (msg) => {
    const now = performance.now();
    let answerId: number | undefined;
    try {
      answerId = dnsPacket.decode(msg).id;
    } catch {
      return;
    }
    const at = answerId === undefined ? undefined : sentAt.get(answerId);
    if (at === undefined) return;
    sentAt.delete(answerId as number);
    report.answered += 1;
    report.maxLatencyMs = Math.max(report.maxLatencyMs, now - at);
    report.longestSilenceMs = Math.max(report.longestSilenceMs, now - lastAnswer);
    lastAnswer = now;
  });
  const timer = setInterval(() => {
    id = (id + 1) & 0xffff;
    sentAt.set(id, performance.now());
    report.sent += 1;
    sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), port, '127.0.0.1');
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      // Answers still on their way get a moment; then silence up to now counts too.
      await new Promise((r) => setTimeout(r, 200));
      report.longestSilenceMs = Math.max(report.longestSilenceMs, performance.now() - 200 - lastAnswer);
      sock.close();
      return report;
    },
  };
}

export interface ApiProbeReport {
  calls: number;
  failed: number;
  maxLatencyMs: number;
}

/** GET /v1/status?env=`env` (what `kiln status --env` asks) back to back, `gapMs` apart. */
export function probeStatusApi(projectDir: string, env: string, gapMs = 50): Probe<ApiProbeReport> {
  const client = new ApiClient(path.join(projectDir, '.kiln'));
  const report: ApiProbeReport = { calls: 0, failed: 0, maxLatencyMs: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        await client.get(`/v1/status?env=${encodeURIComponent(env)}`);
      } catch {
        report.failed += 1;
      }
      report.calls += 1;
      report.maxLatencyMs = Math.max(report.maxLatencyMs, performance.now() - t0);
      await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return report;
    },
  };
}
