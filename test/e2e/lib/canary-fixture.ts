// A small project for canary tests (test/e2e/canary.test.ts, bench/canary-abort.js): one HTTP
// service whose every release answers with its version, after a delay, with a share of 500s,
// all read from a behaviour.json baked into its app tag. Requests go through `kiln proxy` with a
// load driver that can keep a cookie per client (sticky) or none (split per request).
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { makeProject, type TestProject } from './project.js';
import { unixRequest } from '../../../src/util/unix-http.js';
import type { RouteTable } from '../../../src/proxy/routes.js';

export const CLUSTER = 'echo-http-dev';
export const HOST = `${CLUSTER}.canary.test`;

const SERVER_JS = `'use strict';
// Canary fixture: answers every request with its version after behaviour.json's delay; every
// n-th request (n = round(1 / errorRate)) is a 500.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const arg = (name) => { const a = process.argv.find((x) => x.startsWith('--' + name + '=')); return a ? a.slice(name.length + 3) : undefined; };
const b = JSON.parse(fs.readFileSync(path.join(__dirname, 'behaviour.json'), 'utf8'));
const every = b.errorRate > 0 ? Math.round(1 / b.errorRate) : 0;
let n = 0;
const logFile = arg('log-file');
if (logFile) fs.appendFileSync(logFile, JSON.stringify({ msg: 'start', version: b.version }) + '\\n');
http.createServer((req, res) => {
  if (req.url === '/healthz') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); return; }
  const bad = every > 0 && ++n % every === 0;
  setTimeout(() => {
    res.writeHead(bad ? 500 : 200, { 'content-type': 'text/plain', 'x-app-version': b.version });
    res.end(b.version);
  }, b.delayMs);
}).listen(Number(arg('port')), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

export interface Behaviour {
  version: string;
  delayMs: number;
  errorRate: number;
}

export interface CanaryYaml {
  steps: string;
  minRequests: number;
  /** gates.max-p99-ratio (default 2). */
  maxP99Ratio?: number;
  /** gates.warmup (default 2s). */
  warmup?: string;
  /** gates.max-5xx-increase (default 1%). */
  max5xxIncrease?: string;
  /** gates.prometheus: the PromQL gate. */
  prometheus?: { url: string; query: string; max: number };
  /** kiln.yaml `metrics` (the proxy's /metrics on proxyPort, the control plane's on port). */
  metrics?: { port: number; proxyPort: number };
}

export function kilnYaml(p: TestProject, c: CanaryYaml): string {
  return `project: canary
domain: canary.test
proxy: { port: ${p.proxyPort} }
dns: { port: ${p.dnsPort} }
${c.metrics ? `metrics: { port: ${c.metrics.port}, proxy-port: ${c.metrics.proxyPort} }\n` : ''}services:
  echo:
    app: { path: apps/echo, run: [node, server.js] }
    roles:
      http:
        replicas: 2
        port: http
        health: /healthz
        strategy:
          canary:
            steps: ${c.steps}
            gates:
              { min-requests: ${c.minRequests}, max-5xx-increase: ${c.max5xxIncrease ?? '1%'}, max-p99-ratio: ${c.maxP99Ratio ?? 2}, p99-floor: 30ms, warmup: ${c.warmup ?? '2s'}${
                c.prometheus ? `, prometheus: { url: ${JSON.stringify(c.prometheus.url)}, query: ${JSON.stringify(c.prometheus.query)}, max: ${c.prometheus.max} }` : ''
              } }
environments:
  dev: { runtime: process }
`;
}

export interface CanaryProject {
  p: TestProject;
  /** Rewrites kiln.yaml's canary steps and minimum sample (read again by the next deploy). */
  configure(c: CanaryYaml): Promise<void>;
  /** Tags apps/echo with this behaviour and makes a release of it; its name (r1, r2, ...). */
  release(b: Behaviour): Promise<string>;
  /** The proxy's route table for the cluster (admin socket). */
  route(): Promise<RouteTable['clusters'][number] | undefined>;
}

export async function makeCanaryProject(c: CanaryYaml): Promise<CanaryProject> {
  const p = await makeProject();
  const app = path.join(p.dir, 'apps', 'echo');
  await fsp.mkdir(app, { recursive: true });
  await fsp.writeFile(path.join(app, 'server.js'), SERVER_JS);
  const configure = (x: CanaryYaml): Promise<void> => fsp.writeFile(path.join(p.dir, 'kiln.yaml'), kilnYaml(p, x));
  await configure(c);
  await p.kiln(['init']);
  return {
    p,
    configure,
    async release(b) {
      await fsp.writeFile(path.join(app, 'behaviour.json'), JSON.stringify(b) + '\n');
      await p.kiln(['app', 'tag', 'echo', b.version]);
      const r = await p.kiln(['release', 'create', '--json']);
      return (JSON.parse(r.stdout) as { name: string }).name;
    },
    async route() {
      const r = await unixRequest(path.join(p.dir, '.kiln', 'run', 'proxy.sock'), 'GET', '/routes', { timeoutMs: 2000 });
      return (JSON.parse(r.body) as RouteTable).clusters.find((x) => x.name === CLUSTER);
    },
  };
}

/** One request's outcome as the client saw it; `weight` is the canary weight before and after it. */
export interface Sample {
  client: number;
  status: number;
  version: string;
  error?: string;
  weightBefore: number;
  weightAfter: number;
  at: number;
}

export interface Driver {
  samples: Sample[];
  stop(): Promise<void>;
}

/**
 * Sends GETs through the proxy from `clients` clients until stopped. `sticky` clients keep the
 * cookie the proxy sets (as a browser does); the others send none, so each request is split anew.
 * `weight()` is read before and after each request to attribute it to a step.
 */
export function drive(port: number, opts: { clients: number; sticky: boolean; weight: () => number; firstClient?: number }): Driver {
  const samples: Sample[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.clients });
  let running = true;
  const one = (client: number, cookie: string | null): Promise<{ cookie: string | null }> =>
    new Promise((resolve) => {
      const weightBefore = opts.weight();
      const headers: Record<string, string> = { host: HOST };
      if (cookie) headers.cookie = cookie;
      const req = http.get({ host: '127.0.0.1', port, path: '/', headers, agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          samples.push({ client, status: res.statusCode ?? 0, version: body.trim(), weightBefore, weightAfter: opts.weight(), at: Date.now() });
          const set = res.headers['set-cookie']?.[0];
          resolve({ cookie: set ? set.split(';')[0]! : cookie });
        });
        res.on('error', (e) => {
          samples.push({ client, status: 0, version: '', error: e.message, weightBefore, weightAfter: opts.weight(), at: Date.now() });
          resolve({ cookie });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        samples.push({ client, status: 0, version: '', error: e.message, weightBefore, weightAfter: opts.weight(), at: Date.now() });
        resolve({ cookie });
      });
    });
  const loops: Promise<void>[] = [];
  for (let i = 0; i < opts.clients; i++) {
    const client = (opts.firstClient ?? 0) + i;
    loops.push(
      (async () => {
        let cookie: string | null = null;
        while (running) {
          const r = await one(client, cookie);
          if (opts.sticky) cookie = r.cookie;
        }
      })(),
    );
  }
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** Keeps `current` equal to the proxy's canary weight for the cluster (0: none), polling its routes. */
export function watchWeight(cp: CanaryProject): { current: () => number; stop(): void } {
  let w = 0;
  let on = true;
  void (async () => {
    while (on) {
      try {
        const r = await cp.route();
        w = r?.canary?.weight ?? 0;
      } catch {
        /* the proxy restarting: keep the last weight */
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  return { current: () => w, stop: () => (on = false) };
}
