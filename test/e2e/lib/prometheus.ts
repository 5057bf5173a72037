// A real Prometheus (Debian's `prometheus`, installed by .ci/run) for the tests that read Kiln's
// metrics through it: started on 127.0.0.1 with its own config and data in a temporary
// directory, scraping the given loopback ports every second; the Debian service is never used.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './project.js';
import { sleep } from './wait.js';

export interface Prometheus {
  child: ChildProcess;
  port: number;
  dir: string;
  /** http://127.0.0.1:<port> plus the route prefix, if one was given: what a gate's `url` names. */
  url: string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** --web.route-prefix: its API under this path (as behind a reverse proxy), e.g. /prom. */
  routePrefix?: string;
}

/** Prometheus on 127.0.0.1:<free port>, scraping `targets` (job -> port) every second. */
export async function startPrometheus(targets: Record<string, number>, opts: PrometheusOptions = {}): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-prometheus-'));
  const port = await freePort();
  const jobs = Object.entries(targets)
    .map(([job, p]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ["127.0.0.1:${p}"]\n`)
    .join('');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n${jobs || '  []\n'}`);
  const prefix = opts.routePrefix ?? '';
  const child = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(prefix ? [`--web.route-prefix=${prefix}`] : []),
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'prometheus.log'), 'a')] },
  );
  const url = `http://127.0.0.1:${port}${prefix}`;
  const stop = async (): Promise<void> => {
    const exited = new Promise((r) => child.once('exit', r));
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8')}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('prometheus did not become ready in 60 s');
    }
    await sleep(200);
  }
  return { child, port, dir, url, stop };
}

/** Resolves once every job's target has been scraped, successfully, after `since` (ms since the epoch). */
export async function waitForScrapesAfter(prom: Prometheus, since: number, jobs: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  for (;;) {
    const body = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ labels: { job: string }; health: string; lastScrape: string; lastError: string }> };
    };
    const fresh = jobs.every((j) => body.data.activeTargets.some((t) => t.labels.job === j && t.health === 'up' && Date.parse(t.lastScrape) > since));
    if (fresh) return;
    last = JSON.stringify(body.data.activeTargets.map((t) => [t.labels.job, t.health, t.lastScrape, t.lastError]));
    if (Date.now() > deadline) throw new Error(`no successful scrape of ${jobs.join(', ')} after ${new Date(since).toISOString()}: ${last}`);
    await sleep(250);
  }
}

/** The raw answer of an instant query: { status, data: { resultType, result } } or { status: 'error', error }. */
export async function instantQuery(prom: Prometheus, query: string): Promise<{ status: string; error?: string; data: { resultType: string; result: Array<{ value: [number, string] }> } }> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  return (await res.json()) as { status: string; error?: string; data: { resultType: string; result: Array<{ value: [number, string] }> } };
}
