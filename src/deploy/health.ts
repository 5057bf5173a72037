// Health checks: an HTTP GET of the role's path on the server's own port; 2xx is healthy.
// Used by the deploy (wait for every new server) and the reconciler (replacement servers).
import http from 'node:http';
import type { HealthCheckSpec } from '../spec/types.js';

export interface CheckResult {
  ok: boolean;
  detail: string;
  /** The HTTP status, when the server answered at all. */
  status?: number;
}

// Never reuse sockets for checks: a check must prove the server accepts new connections.
export function checkOnce(port: number, path: string, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
      res.on('end', () => resolve({ ok, detail: `GET ${path} -> ${res.statusCode}`, ...(res.statusCode ? { status: res.statusCode } : {}) }));
      res.on('error', (e) => resolve({ ok: false, detail: `GET ${path}: ${e.message}` }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, detail: `GET ${path}: no answer within ${timeoutMs} ms` });
    });
    req.on('error', (e) => resolve({ ok: false, detail: `GET ${path}: ${(e as NodeJS.ErrnoException).code ?? e.message}` }));
  });
}

/** How long a server without a health check must stay up to count as started, unless its role's `settle` says. */
export const NO_PORT_SETTLE_MS = 250;

/**
 * Waits until the server is healthy, its process died, or the grace period ran out.
 * The first checks come quickly (the interval grows to the spec's), because deploy latency is
 * dominated by how soon Kiln notices an app is ready.
 */
export async function waitHealthy(
  opts: { port?: number; health?: HealthCheckSpec; settleMs?: number; isAlive: () => Promise<boolean>; signal?: AbortSignal },
): Promise<CheckResult> {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  if (!opts.health || opts.port === undefined) {
    const until = Date.now() + (opts.settleMs ?? NO_PORT_SETTLE_MS);
    while (Date.now() < until) {
      if (!(await opts.isAlive())) return { ok: false, detail: 'the process exited' };
      await sleep(Math.min(25, Math.max(1, until - Date.now())));
    }
    return (await opts.isAlive()) ? { ok: true, detail: 'running' } : { ok: false, detail: 'the process exited' };
  }
  const h = opts.health;
  const deadline = Date.now() + h.graceMs;
  let wait = Math.min(10, h.intervalMs);
  const seen = new HealthHistory();
  for (;;) {
    if (opts.signal?.aborted) return { ok: false, detail: 'cancelled' };
    if (!(await opts.isAlive())) return { ok: false, detail: `the process exited (${seen.summary()})` };
    // The last check may be cut short by the deadline (down to 1 ms): that "no answer" must not
    // be all the failure reports when the server answered every check before it (HealthHistory).
    const r = await checkOnce(opts.port, h.path, Math.min(h.timeoutMs, Math.max(1, deadline - Date.now())));
    if (r.ok) return r;
    seen.add(r);
    if (Date.now() >= deadline) return { ok: false, detail: `not healthy within ${h.graceMs} ms (${seen.summary()})`, ...(seen.lastAnswer?.status ? { status: seen.lastAnswer.status } : {}) };
    await sleep(Math.min(wait, Math.max(0, deadline - Date.now())));
    wait = Math.min(h.intervalMs, wait * 2);
  }
}

/**
 * What the failed checks saw, for the message: how many, the last answer the server gave (its
 * status, e.g. 503), and the last check if it was something else (refused, no answer in time).
 */
export class HealthHistory {
  private checks = 0;
  lastAnswer: CheckResult | undefined;
  private last: CheckResult | undefined;
  add(r: CheckResult): void {
    this.checks++;
    this.last = r;
    if (r.status !== undefined) this.lastAnswer = r;
  }
  summary(): string {
    if (!this.last) return 'not checked yet';
    const n = `${this.checks} check${this.checks === 1 ? '' : 's'}`;
    if (!this.lastAnswer) return `${n}, no answer; last: ${this.last.detail}`;
    if (this.lastAnswer === this.last) return `${n}, last answer: ${this.last.detail}`;
    return `${n}, last answer: ${this.lastAnswer.detail}; last check: ${this.last.detail}`;
  }
}
